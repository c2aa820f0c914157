"""Issue 12, deviation 3: `train chromosome --image-size 256` (G, D and L1 at 256 px, scored at
128 px as the paper) and `--jitter reference` (pix2pix: resize 286, random crop 256, random
horizontal flip, the same draw on mask and image). Expected values by hand with numpy."""

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgan.chromosome as kc
from kerasgan.chromosome.commands import evaluation_generator
from kerasgan.chromosome.data import pair_dataset, reference_jitter, resize_pair
from kerasgan.cli import main


def _planted(batch=6, size=256, block=16, seed=0):
    """Blocks of the three mask levels (-1, 0, 1): a layout that is not symmetric under flips."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(-1, 2, (batch, size // block, size // block)).astype(np.float32)
    return np.repeat(np.repeat(cells, block, axis=1), block, axis=2)[..., None]


def _nearest_by_hand(x, out):
    # TF2 nearest with half-pixel centres: source index floor((i + 0.5) * in / out).
    source = np.floor((np.arange(out) + 0.5) * x.shape[1] / out).astype(int)
    return x[:, source][:, :, source]


def test_resize_pair_nearest_mask_bilinear_image():
    mask = _planted(2, 128)
    image = np.linspace(-1, 1, 128, dtype=np.float32)[None, None, :, None] * np.ones((2, 128, 1, 1), np.float32)
    up_mask, up_image = (t.numpy() for t in resize_pair(tf.constant(mask), tf.constant(image), 256))
    # 2x nearest is each pixel repeated twice per axis.
    np.testing.assert_array_equal(up_mask, np.repeat(np.repeat(mask, 2, axis=1), 2, axis=2))
    # Bilinear 2x of a ramp: output column j samples source (j + 0.5) / 2 - 0.5 (clamped).
    position = np.clip((np.arange(256) + 0.5) / 2 - 0.5, 0, 127)
    ramp = np.interp(position, np.arange(128), np.linspace(-1, 1, 128))
    np.testing.assert_allclose(up_image[0, 5, :, 0], ramp, atol=1e-6)


def test_reference_jitter_is_resize_286_crop_256_flip_and_keeps_pairs_aligned():
    mask = _planted()
    # The image holds the same layout, offset by 0.25: where the mask is flat the two agree.
    image = mask * 0.5 + 0.25
    resized = _nearest_by_hand(mask, 286)
    offsets, flips = set(), set()
    for step in range(3):
        out_mask, out_image = (t.numpy() for t in reference_jitter(
            tf.constant(mask), tf.constant(image), tf.constant([7, step], tf.int64)))
        assert out_mask.shape == out_image.shape == (6, 256, 256, 1)
        for n in range(6):
            found = [(top, left, flip) for top in range(31) for left in range(31) for flip in (False, True)
                     if np.array_equal(out_mask[n], (lambda c: c[:, ::-1] if flip else c)(
                         resized[n, top:top + 256, left:left + 256]))]
            assert found, f"example {n}: the mask is no 256 crop (+ flip) of the mask resized to 286"
            offsets.add(found[0][:2])
            flips.add(found[0][2])
            # Aligned: in the interior of the mask's blocks the image shows the same block.
            flat = np.ones((256, 256), bool)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    flat[1:-1, 1:-1] &= out_mask[n, 1 + dy:255 + dy, 1 + dx:255 + dx, 0] == out_mask[n, 1:-1, 1:-1, 0]
            flat[0, :] = flat[-1, :] = flat[:, 0] = flat[:, -1] = False
            np.testing.assert_allclose(out_image[n, flat, 0], out_mask[n, flat, 0] * 0.5 + 0.25, atol=1e-5)
    assert len(offsets) > 1 and flips == {False, True}


def test_evaluation_generator_scores_a_256_generator_at_128():
    inputs = keras.Input((256, 256, 1))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, name="double")
    # A +-1 checkerboard on top: the area downscale (mean of each 2x2 block) removes it, a
    # nearest or strided downscale would not.
    checkerboard = np.indices((256, 256)).sum(axis=0) % 2 * 2.0 - 1.0
    board = keras.layers.Lambda(lambda x: x + checkerboard[None, :, :, None].astype("float32"))
    generator = keras.Model(inputs, board(conv(inputs)))
    conv.set_weights([np.full((1, 1, 1, 1), 2.0, np.float32)])
    wrapper = evaluation_generator(generator, 128)
    assert wrapper.input_shape == (None, 128, 128, 1) and wrapper.output_shape == (None, 128, 128, 1)
    mask = _planted(1, 128, block=1, seed=3)
    # Nearest up then area down returns each pixel; the 1x1 convolution doubles it.
    np.testing.assert_allclose(wrapper(mask).numpy(), 2 * mask, atol=1e-6)
    # Weights are shared, not copied: a change in the trained generator shows in the wrapper.
    conv.set_weights([np.full((1, 1, 1, 1), -1.0, np.float32)])
    np.testing.assert_allclose(wrapper(mask).numpy(), -mask, atol=1e-6)


def _folder(tmp_path, count):
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"c{i:02d}.png"), kc.render_chromosome(seed=700 + i, size=64).image)
    return folder


def test_pair_dataset_at_256_with_reference_jitter(tmp_path):
    chromosomes = kc.ChromosomeSet.from_folder(_folder(tmp_path, 4), workers=1)
    masks, images = next(iter(pair_dataset(chromosomes, batch_size=2, image_size=256, jitter="reference")))
    assert masks.shape == images.shape == (2, 256, 256, 1)
    levels = np.array([-1.0, 127 / 127.5 - 1.0, 1.0])
    # Nearest resizing and cropping keep the three mask levels (no blended values).
    assert np.abs(np.unique(masks.numpy())[:, None] - levels[None]).min(axis=1).max() < 1e-6
    with pytest.raises(ValueError, match="jitter must be one of"):
        pair_dataset(chromosomes, jitter="flip")


def test_train_chromosome_image_size_256(tmp_path, capsys):
    folder = _folder(tmp_path, 12)
    out = tmp_path / "run"
    argv = ["train", "chromosome", "--data", str(folder), "--out", str(out), "--epochs", "1",
            "--steps-per-epoch", "1", "--batch-size", "2", "--filters", "2", "--workers", "1",
            "--image-size", "256", "--jitter", "reference"]
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["image_size"], config["evaluation_size"], config["jitter"]) == (256, 128, "reference")
    best = keras.saving.load_model(out / "best_generator.keras", compile=False)
    assert best.input_shape == (None, 256, 256, 1) and best.output_shape == (None, 256, 256, 1)
    scored = keras.saving.load_model(out / "best_generator_128px.keras", compile=False)
    assert scored.input_shape == (None, 128, 128, 1) and scored.output_shape == (None, 128, 128, 1)
    rows = (out / "log.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert rows[1].split(",")[header.index("val_dice")] != ""  # scored at 128 via the wrapper
    capsys.readouterr()
    for flags in (["--image-size", "288"], ["--jitter", "dihedral"]):
        changed = [a for a in argv]
        for flag, value in zip(flags[::2], flags[1::2]):
            changed[changed.index(flag) + 1] = value
        assert main(changed) != 0
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and flags[0] in error[0], error
    without = [a for a in argv if a not in ("--image-size", "256")]
    assert main(without) != 0
    assert "--image-size" in capsys.readouterr().err


def test_bad_image_size_fails_before_training(tmp_path, capsys):
    for flags, word in ((["--image-size", "100"], "--image-size"),
                        (["--image-size", "256", "--model-size", "256"], "not both")):
        assert main(["train", "chromosome", "--out", str(tmp_path / "r"), *flags]) != 0
        assert word in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
