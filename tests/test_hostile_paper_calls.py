"""Issue 13 in the paper modules: the shared mask / value-range / number / output-folder rules
at the glomeruli, SynCGAN and SinGAN call sites. Each test names the old behaviour it guards."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from kerasgan.data.image_io import write_image

SIZE = 32


# ------------------------------------------------------------------ 1. glomeruli masks
@pytest.mark.parametrize("value", [1, 127, 255])
def test_make_condition_reads_uint8_masks_of_any_foreground_value(value):
    from kerasgan.glomeruli.data import make_condition

    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 3:6] = value  # old rule (to_unit_float > 0.5): {0, 1} and {0, 127} were empty
    structure = np.zeros((8, 8), np.float32)
    condition = make_condition(mask, structure=structure)
    expected = np.where(mask > 0, 1.0, -1.0)
    np.testing.assert_array_equal(condition[0, ..., 0], expected)
    np.testing.assert_array_equal(condition[0, ..., 1], -np.ones((8, 8)))


def test_make_condition_refuses_label_masks():
    from kerasgan.glomeruli.data import make_condition

    mask = np.zeros((8, 8), np.uint8)
    mask[:2], mask[4:6] = 1, 2
    with pytest.raises(ValueError, match="mask holds 2 different foreground values"):
        make_condition(mask, use_structure_map=False)


def test_load_paired_folder_keeps_127_masks(tmp_path):
    from kerasgan.glomeruli.data import load_paired_folder

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rng = np.random.default_rng(0)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:10, 5:12] = 127  # old rule dropped the 127s: "mask is empty"
    write_image(tmp_path / "images" / "a.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    write_image(tmp_path / "masks" / "a.png", mask)
    pairs = load_paired_folder(tmp_path, progress=False)
    np.testing.assert_array_equal(pairs.masks[0, ..., 0], np.where(mask > 0, 1.0, -1.0))


# ------------------------------------------------------------------ 2. SynCGAN masks
def _labels_mask(count=4):
    masks = np.zeros((count, SIZE, SIZE, 1), np.uint8)
    masks[:, 2:8, 2:8] = 1
    masks[:, 12:18, 12:18] = 2
    masks[:, 20:26, 20:26] = 3
    return masks


def test_check_masks_refuses_labels_and_reads_them_when_told():
    from kerasgan.syncgan.pipeline import check_masks

    labels = _labels_mask(2)
    with pytest.raises(ValueError, match=r"3 different foreground values \{1, 2, 3\}"):
        check_masks(labels)  # old rule (masks > 0): every label became foreground
    only_two = check_masks(labels, foreground=(2,))
    assert only_two.dtype == np.uint8 and only_two.shape == labels.shape
    assert int(only_two.sum()) == 2 * 36  # one 6x6 square per image
    np.testing.assert_array_equal(only_two, (labels == 2).astype(np.uint8))
    np.testing.assert_array_equal(check_masks(labels.astype(bool)), (labels > 0).astype(np.uint8))
    np.testing.assert_array_equal(check_masks((labels > 0) * 255), (labels > 0).astype(np.uint8))


@pytest.fixture(scope="module")
def tiny_pipeline():
    from kerasgan.syncgan.pipeline import SynCGAN

    return SynCGAN(classes=["benign", "malignant"], image_size=SIZE, filters=4, noise_channels=1)


@pytest.fixture(scope="module")
def cytology():
    from kerasgan.syncgan.renderer import render_cytology

    return render_cytology(count_per_class=2, image_size=SIZE, seed=1)


def test_fit_refuses_label_masks_unless_foreground_given(tiny_pipeline, cytology):
    images, _, labels = cytology
    masks = _labels_mask(len(images))
    with pytest.raises(ValueError, match="different foreground values"):
        tiny_pipeline.fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=0)
    _, _, prepared = tiny_pipeline.prepare(images, labels, masks, mask_foreground=(1, 3))
    np.testing.assert_array_equal(prepared, np.isin(masks, (1, 3)).astype(np.uint8))


def test_prepare_applies_the_rule_before_resizing(tiny_pipeline, cytology):
    images, _, labels = cytology
    big = np.zeros((len(images), 2 * SIZE, 2 * SIZE, 1), np.uint8)
    big[:, :SIZE] = 1
    big[:, SIZE:, :SIZE] = 2
    with pytest.raises(ValueError, match="different foreground values"):
        tiny_pipeline.prepare(images, labels, big)  # old: (m > 0) then resized, silently all foreground
    _, _, prepared = tiny_pipeline.prepare(images, labels, big, mask_foreground=(1,))
    assert prepared[:, : SIZE // 2].all() and not prepared[:, SIZE // 2:].any()


def test_images_from_masks_refuses_labels(tiny_pipeline):
    with pytest.raises(ValueError, match="different foreground values"):
        tiny_pipeline.images_from_masks(_labels_mask(1))


# ------------------------------------------------------------------ 3. SinGAN integer images
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_singan_integer_images_scale_by_their_values(dtype):
    from kerasgan.models.singan import prepare_image

    image = np.arange(64, dtype=dtype).reshape(8, 8) * 4  # 0..252
    prepared = prepare_image(image)
    # Hand: v / 255 * 2 - 1 (int32 by its dtype's range was a constant ~0 image).
    np.testing.assert_allclose(prepared[..., 0], image.astype(np.float64) / 255.0 * 2.0 - 1.0, atol=1e-6)
    assert prepared.min() == -1.0 and prepared.max() > 0.97


def test_singan_list_of_ints_and_16_bit_values():
    from kerasgan.models.singan import prepare_image

    rows = [[0, 128], [255, 64]]
    np.testing.assert_allclose(prepare_image(rows)[..., 0],
                               [[-1.0, 128 / 255 * 2 - 1], [1.0, 64 / 255 * 2 - 1]], atol=1e-6)
    wide = np.array([[0, 1000], [65535, 30000]], np.int32)
    np.testing.assert_allclose(prepare_image(wide)[..., 0], wide / 65535.0 * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="image .*holds values -5..3"):
        prepare_image(np.array([[-5, 3], [0, 1]], np.int32))


# ------------------------------------------------------------------ 4. numbers in the API
def test_syncgan_numbers_and_classes(tiny_pipeline, cytology):
    from kerasgan.syncgan.pipeline import SynCGAN

    images, _, labels = cytology
    with pytest.raises(TypeError, match="classes must be a list or tuple"):
        SynCGAN(classes="ab", image_size=SIZE, filters=4)
    with pytest.raises(ValueError, match="validation_fraction must be at least 0"):
        tiny_pipeline.fit(images, labels, validation_fraction=-0.5, mask_epochs=0, cgan_epochs=0)
    with pytest.raises(ValueError, match="validation_fraction must be less than 1"):
        tiny_pipeline.fit(images, labels, validation_fraction=1.0, mask_epochs=0, cgan_epochs=0)
    with pytest.raises(TypeError, match="count must be an integer, got float 2.5"):
        tiny_pipeline.generate("benign", 2.5)
    with pytest.raises(TypeError, match="count must be an integer"):
        tiny_pipeline.generate_masks("benign", 2.5)
    with pytest.raises(ValueError, match="mask_epochs must be at least 0"):
        tiny_pipeline.fit(images, labels, mask_epochs=-1, cgan_epochs=0)


def test_data_helpers_numbers_and_classes(tmp_path):
    from kerasgan.glomeruli.data import ihc_patches
    from kerasgan.syncgan.folders import load_image_folders
    from kerasgan.syncgan.renderer import render_cytology

    with pytest.raises(TypeError, match="count must be an integer, got float 2.5"):
        ihc_patches(count=2.5)
    with pytest.raises(ValueError, match="test_fraction must be greater than 0"):
        ihc_patches(count=2, test_fraction=-0.5)
    with pytest.raises(TypeError, match="count_per_class must be an integer"):
        render_cytology(count_per_class=2.5, image_size=SIZE)
    with pytest.raises(TypeError, match="classes must be a list or tuple"):
        render_cytology(count_per_class=1, image_size=SIZE, classes="benign")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with pytest.raises(TypeError, match="classes must be a list or tuple"):
        load_image_folders(tmp_path, classes="ab")


# ------------------------------------------------------------------ 5. commands
def _cli(*argv, cwd):
    """Run the CLI in a fresh interpreter; report whether TensorFlow was imported."""
    code = ("import sys; from kerasgan.cli import main; status = main(sys.argv[1:]); "
            "print('TF' if 'tensorflow' in sys.modules else 'noTF'); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    return result.returncode, result.stdout, result.stderr


def _class_folders(root):
    for name in ("benign", "malignant"):
        (root / name).mkdir(parents=True)
        write_image(root / name / "x.png", np.full((8, 8, 3), 100, np.uint8))


@pytest.mark.parametrize("out", ["data", "data/benign/run", "."])
def test_train_syncgan_refuses_out_in_or_around_data(tmp_path, out):
    _class_folders(tmp_path / "data")
    code, stdout, stderr = _cli("train", "syncgan", "--data", "data", "--out", out, cwd=tmp_path)
    assert code == 2 and "noTF" in stdout, (stdout, stderr)
    assert stderr.startswith("kerasgan: error: --out") and stderr.count("\n") == 1
    assert not (tmp_path / out / "run_settings.json").exists()


def test_train_syncgan_refuses_other_settings_and_overwrite(tmp_path):
    _class_folders(tmp_path / "data")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run_settings.json").write_text(json.dumps({
        "--synthetic": 4, "--image-size": 64, "--seed": 0, "--filters": 64, "--noise-channels": 4,
        "--flip-probability": 0.05, "--batch-size": 8, "--strict-masks": False}))
    code, stdout, stderr = _cli("train", "syncgan", "--synthetic", "4", "--image-size", "32",
                                "--out", "run", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout
    assert "--image-size 64 (now 32)" in stderr and stderr.count("\n") == 1
    (tmp_path / "run" / "masks_report.json").write_text("[]")
    code, stdout, stderr = _cli("train", "syncgan", "--synthetic", "4", "--image-size", "64",
                                "--out", "run", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "pass --overwrite" in stderr
    assert (tmp_path / "run" / "masks_report.json").read_text() == "[]"


def test_train_syncgan_cgan_selection_is_part_of_the_run_settings(tmp_path):
    # A folder of the default rule (recorded without the flag, as before it existed) is refused
    # for another rule, and the other way round.
    (tmp_path / "run").mkdir()
    settings = {"--synthetic": 4, "--image-size": 64, "--seed": 0, "--filters": 64, "--noise-channels": 4,
                "--flip-probability": 0.05, "--batch-size": 8, "--strict-masks": False}
    (tmp_path / "run" / "run_settings.json").write_text(json.dumps(settings))
    code, stdout, stderr = _cli("train", "syncgan", "--synthetic", "4", "--image-size", "64",
                                "--cgan-selection", "patch-frechet", "--out", "run", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout
    assert "--cgan-selection None (now 'patch-frechet')" in stderr and stderr.count("\n") == 1, stderr
    (tmp_path / "run" / "run_settings.json").write_text(json.dumps({**settings, "--cgan-selection": "last"}))
    code, stdout, stderr = _cli("train", "syncgan", "--synthetic", "4", "--image-size", "64",
                                "--out", "run", cwd=tmp_path)
    assert code == 2 and "--cgan-selection 'last' (now None)" in stderr, stderr
    code, stdout, stderr = _cli("train", "syncgan", "--synthetic", "4", "--cgan-selection", "best",
                                "--out", "run2", cwd=tmp_path)
    assert code == 2 and "--cgan-selection" in stderr and "invalid choice" in stderr


@pytest.mark.parametrize("flag,value", [("--synthetic", "2.5"), ("--batch-size", "0"),
                                        ("--flip-probability", "-1"), ("--cgan-epochs", "-3")])
def test_train_syncgan_number_flags(tmp_path, flag, value):
    argv = ["train", "syncgan", "--out", "run", "--synthetic", "2", flag, value]
    code, stdout, stderr = _cli(*argv, cwd=tmp_path)
    assert code == 2 and flag in stderr and value in stderr
    assert not (tmp_path / "run").exists()


def test_train_syncgan_help_says_not_resumable():
    from kerasgan.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    train = next(a for a in subparsers.choices["train"]._actions
                 if a.__class__.__name__ == "_SubParsersAction").choices["syncgan"]
    help_text = " ".join(train.format_help().split())
    assert "NOT resumable" in help_text and "starts again from epoch 0" in help_text


def test_generate_syncgan_refuses_out_that_is_the_model_and_overwrites(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "syncgan.json").write_text("{}")
    code, stdout, stderr = _cli("generate", "syncgan", "--model", "model", "--class", "benign",
                                "--out", "model", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "is the input --model" in stderr
    (tmp_path / "synth").mkdir()
    write_image(tmp_path / "synth" / "syncgan_001.png", np.zeros((4, 4), np.uint8))
    code, stdout, stderr = _cli("generate", "syncgan", "--model", "model", "--class", "benign",
                                "--count", "2", "--out", "synth", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "syncgan_001.png" in stderr and "--overwrite" in stderr
    code, _, stderr = _cli("generate", "syncgan", "--model", "model", "--class", "benign",
                           "--count", "2.5", "--out", "synth", cwd=tmp_path)
    assert code == 2 and "--count" in stderr


def _paired_folder(root):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    write_image(root / "images" / "a.png", np.full((8, 8, 3), 100, np.uint8))
    write_image(root / "masks" / "a.png", np.full((8, 8), 255, np.uint8))


def test_train_glomeruli_refuses_out_inside_data_and_other_settings(tmp_path):
    _paired_folder(tmp_path / "data")
    code, stdout, stderr = _cli("train", "glomeruli", "--data", "data", "--out", "data/run", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "lies inside the input --data" in stderr
    assert not (tmp_path / "data" / "run").exists()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run_settings.json").write_text(json.dumps({
        "--data": str((tmp_path / "data").resolve()), "--l1-weight": 10.0}))
    code, stdout, stderr = _cli("train", "glomeruli", "--data", "data", "--out", "run",
                                "--l1-weight", "5", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and stderr.count("\n") == 1
    assert "--l1-weight 10.0 (now 5.0)" in stderr


@pytest.mark.parametrize("flag,value", [("--learning-rate", "-1"), ("--test-fraction", "-0.5"),
                                        ("--epochs", "-2"), ("--train-patches", "2.5")])
def test_train_glomeruli_number_flags(tmp_path, flag, value):
    code, stdout, stderr = _cli("train", "glomeruli", "--out", "run", flag, value, cwd=tmp_path)
    assert code == 2 and flag in stderr and value in stderr
    assert not (tmp_path / "run").exists()


def test_ablation_glomeruli_refuses_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "table.md").write_text("kept")
    code, stdout, stderr = _cli("ablation", "glomeruli", "--variants", "pix2pix", "--out", "out", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "--overwrite" in stderr
    assert (tmp_path / "out" / "table.md").read_text() == "kept"


def test_interrupted_train_syncgan_says_it_starts_over(monkeypatch, capsys):
    import kerasgan.syncgan.commands as commands
    from kerasgan.cli import VERBS, main

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "_check_train", interrupted)
    assert main(["train", "syncgan", "--synthetic", "2", "--out", "unused"]) == 130
    assert "train syncgan is not resumable" in capsys.readouterr().err
    assert "except syncgan" in VERBS["train"]  # the generic help no longer says every train resumes


def test_augment_study_refuses_out_in_data_and_overwrite(tmp_path):
    _class_folders(tmp_path / "data")
    code, stdout, stderr = _cli("augment-study", "syncgan", "--data", "data", "--out", "data/study",
                                cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "lies inside the input --data" in stderr
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.md").write_text("kept")
    code, stdout, stderr = _cli("augment-study", "syncgan", "--data", "data", "--out", "study", cwd=tmp_path)
    assert code == 2 and "noTF" in stdout and "--overwrite" in stderr
    assert (tmp_path / "study" / "study.md").read_text() == "kept"
    code, _, stderr = _cli("augment-study", "syncgan", "--data", "data", "--seeds", "0", cwd=tmp_path)
    assert code == 2 and "--seeds" in stderr
