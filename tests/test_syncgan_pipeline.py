"""SynCGAN pipeline: construction, input checks, fit -> generate -> save/load, zoo export, CLI."""

import json

import numpy as np
import pytest

from kerasgan.models.pix2pix import Pix2Pix
from kerasgan.syncgan.pipeline import SynCGAN
from kerasgan.syncgan.renderer import render_cytology

SIZE = 32
TINY = dict(image_size=SIZE, filters=8, noise_channels=2)


@pytest.fixture(scope="module")
def data():
    return render_cytology(count_per_class=5, image_size=SIZE, seed=2)


def test_cgan_is_bilinear_unet_with_mse_and_conditional_patchgan():
    pipeline = SynCGAN(classes=["benign", "malignant"], **TINY)
    assert isinstance(pipeline.cgan, Pix2Pix)
    assert pipeline.cgan.reconstruction_loss == "mse" and pipeline.cgan.l1_weight == 100.0
    assert pipeline.cgan.gan_loss == "bce" and pipeline.cgan.conditional_discriminator
    kinds = {type(layer).__name__ for layer in pipeline.cgan.generator.layers}
    assert "Conv2DTranspose" not in kinds and "UpSampling2D" in kinds
    assert pipeline.cgan.generator.input_shape == (None, SIZE, SIZE, 1)
    assert pipeline.cgan.generator.output_shape == (None, SIZE, SIZE, 3)
    assert pipeline.cgan.discriminator.input_shape == (None, SIZE, SIZE, 4)
    assert set(pipeline.mask_gans) == {"benign", "malignant"}
    gan = pipeline.mask_gans["malignant"]
    assert gan.discriminator.input_shape == (None, SIZE, SIZE, 1)


def test_generate_returns_matched_pairs(data):
    pipeline = SynCGAN(classes=["benign", "malignant"], **TINY)
    images, masks = pipeline.generate("malignant", 3, seed=0)
    assert images.shape == (3, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert masks.shape == (3, SIZE, SIZE, 1) and set(np.unique(masks)) <= {0, 1}
    np.testing.assert_array_equal(pipeline.images_from_masks(masks), images)
    floats, _ = pipeline.generate(1, 3, seed=0, output="float")
    assert floats.dtype == np.float32 and 0.0 <= floats.min() and floats.max() <= 1.0


def test_bad_inputs(data):
    images, masks, labels = data
    pipeline = SynCGAN(classes=["benign", "malignant"], **TINY)
    with pytest.raises(ValueError, match="unknown class"):
        pipeline.generate("atypical", 2)
    with pytest.raises(ValueError, match="count"):
        pipeline.generate("benign", 0)
    with pytest.raises(ValueError, match="one entry per image"):
        pipeline.prepare(images, labels[:-1], masks)
    with pytest.raises(ValueError, match="unknown class names"):
        pipeline.prepare(images, np.array(["benign"] * 9 + ["other"]), masks)
    with pytest.raises(ValueError, match="'malignant' has no images"):
        pipeline.prepare(images, np.zeros_like(labels), masks)
    blank = images.copy()
    blank[3] = 210
    with pytest.raises(ValueError, match=r"masks\[3\].*all background"):
        pipeline.prepare(blank, labels)
    with pytest.raises(ValueError, match="duplicate"):
        SynCGAN(classes=["a", "a"], **TINY)


def test_prepare_accepts_class_names_and_given_masks(data):
    images, masks, labels = data
    pipeline = SynCGAN(classes=["benign", "malignant"], **TINY)
    names = np.array(["benign", "malignant"])[labels]
    _, prepared_labels, prepared_masks = pipeline.prepare(images, names, masks)
    np.testing.assert_array_equal(prepared_labels, labels)
    np.testing.assert_array_equal(prepared_masks, masks)


@pytest.mark.slow
def test_fit_generate_save_load_and_zoo_export(data, tmp_path):
    from kerasgan.syncgan import zoo_entry

    images, _, labels = data
    pipeline = SynCGAN(classes=["benign", "malignant"], **TINY)
    history = pipeline.fit(images, labels, mask_epochs=2, cgan_epochs=2, batch_size=4, verbose=0)
    assert len(history["cgan"]["val_g_loss"]) == 2
    assert history["cgan_best_val_g_loss"] == pytest.approx(min(history["cgan"]["val_g_loss"]))
    assert len(history["mask_benign"]["d_loss"]) == 2
    before = pipeline.generate("benign", 4, seed=3)
    for target in (tmp_path / "pipe.keras", tmp_path / "folder"):
        pipeline.save(target)
        restored = SynCGAN.load(target)
        assert restored.classes == pipeline.classes
        after = restored.generate("benign", 4, seed=3)
        np.testing.assert_array_equal(after[1], before[1])
        np.testing.assert_array_equal(after[0], before[0])
    meta = zoo_entry.export(pipeline, tmp_path / "zoo")
    assert all(len(digest) == 64 for digest in meta["files"].values())
    card = json.loads((tmp_path / "zoo" / "card.json").read_text())
    loaded = zoo_entry.load(tmp_path / "zoo", card)
    images16, masks16 = loaded.generate("benign", 4, seed=3)
    # float16 weights move G_mask(z) a little; a pixel may flip only where its float32 value
    # lies within that move of the threshold 0.
    noise = np.random.default_rng(3).standard_normal((4,) + pipeline.mask_gans["benign"].noise_shape)
    raw32 = pipeline.mask_gans["benign"].generator.predict(noise.astype("float32"), verbose=0)
    raw16 = loaded.mask_gans["benign"].generator.predict(noise.astype("float32"), verbose=0)
    shift = np.abs(raw16 - raw32).max()
    assert shift < 0.01 * max(np.abs(raw32).max(), 1e-3) + 1e-3
    decided = np.abs(raw32) > shift
    np.testing.assert_array_equal(masks16[decided], before[1][decided])
    assert (masks16 != before[1]).mean() < 0.01
    assert np.abs(images16.astype(int) - before[0].astype(int)).mean() < 3.0
    with pytest.raises(ValueError, match="not a saved SynCGAN"):
        (tmp_path / "junk.keras").write_bytes(b"junk")
        SynCGAN.load(tmp_path / "junk.keras")
    with pytest.raises(FileNotFoundError):
        SynCGAN.load(tmp_path / "missing.keras")


def test_cli_registers_three_commands():
    from kerasgan.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["augment-study", "syncgan", "--synthetic", "10", "--seeds", "1"])
    assert args.image_size == 64 and args.filters == 16 and args.seeds == 1
    args = parser.parse_args(["train", "syncgan", "--data", "ROOT", "--out", "x.keras"])
    assert args.mask_epochs == 1600 and args.cgan_epochs == 200
    args = parser.parse_args(["generate", "syncgan", "--zoo", "--class", "benign", "--out", "o"])
    assert args.class_name == "benign"


@pytest.mark.slow
def test_cli_augment_study_runs_end_to_end(tmp_path):
    from kerasgan.cli import main

    code = main([
        "augment-study", "syncgan", "--synthetic", "5", "--image-size", "32", "--filters", "8",
        "--seeds", "1", "--mask-epochs", "1", "--cgan-epochs", "1", "--classifier-epochs", "1",
        "--no-control", "--out", str(tmp_path),
    ])
    assert code == 0
    results = json.loads((tmp_path / "study.json").read_text())
    assert set(results["mean"]["small_cnn"]) == {"Orig", "Orig+Prop", "Orig+Trad", "Orig+Trad+Prop"}
    assert all(0.0 <= v <= 1.0 for v in results["mean"]["small_cnn"].values())
    assert (tmp_path / "study.png").stat().st_size > 0
    assert "Orig+Prop" in (tmp_path / "study.md").read_text()


@pytest.mark.slow
def test_cli_train_and_generate_from_folder(tmp_path):
    from kerasgan.cli import main
    from kerasgan.data.image_io import list_images, write_image

    images, _, labels = render_cytology(count_per_class=3, image_size=40, seed=0)
    for index, (image, label) in enumerate(zip(images, labels)):
        write_image(tmp_path / "data" / ["benign", "malignant"][label] / f"{index}.png", image)
    assert main(["train", "syncgan", "--data", str(tmp_path / "data"), "--image-size", "32",
                 "--filters", "8", "--mask-epochs", "1", "--cgan-epochs", "1",
                 "--out", str(tmp_path / "run" / "p.keras")]) == 0
    assert main(["generate", "syncgan", "--model", str(tmp_path / "run" / "p.keras"), "--class", "malignant",
                 "--count", "2", "--out", str(tmp_path / "out")]) == 0
    assert sorted(path.name for path in list_images(tmp_path / "out")) == [
        "contact_sheet.png", "mask_000.png", "mask_001.png", "syncgan_000.png", "syncgan_001.png"]
    (tmp_path / "data" / "malignant" / "extra").mkdir()
    assert main(["train", "syncgan", "--data", str(tmp_path / "empty_root"), "--out", "x"]) == 2
