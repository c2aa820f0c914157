"""The chromosome paper's training protocol (Uzolas et al. 2021 / pix2pix): the 0.7/0.15/0.15
split, pix2pix's linear learning-rate decay, validation Dice/MAENB every N epochs with the best
epoch chosen by Dice, and a run folder that refuses other data on resume."""

import csv
import pathlib

import cv2
import keras
import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.chromosome import commands
from kerasgan.chromosome.validation import ValidationScores, format_validation_table
from kerasgan.cli import main
from kerasgan.schedules import LinearDecay, linear_decay_factor


def test_linear_decay_factor_is_the_pix2pix_linear_policy():
    # n_epochs 3, n_epochs_decay 4: lr_0 for epochs 0-2, then (1 - k/5) for k = 1..4.
    expected = [1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2]
    got = [linear_decay_factor(e, 3, 4) for e in range(7)]
    np.testing.assert_allclose(got, expected)
    assert linear_decay_factor(5, 10, 0) == 1.0
    with pytest.raises(ValueError):
        linear_decay_factor(0, -1, 2)


def test_linear_decay_sets_the_rate_the_adam_step_uses():
    from kerasgan.models.pix2pix import default_gan_optimizer

    model = kc.build_pix2pix(size=32, filters=4)
    model.compile(generator_optimizer=default_gan_optimizer(1e-3), discriminator_optimizer=default_gan_optimizer(1e-3))
    callback = LinearDecay(1e-3, n_epochs=1, n_epochs_decay=3)
    callback.set_model(model)
    callback.on_epoch_begin(2)  # factor 1 - 2/4 = 0.5
    assert float(model.generator_optimizer.learning_rate.numpy()) == pytest.approx(5e-4)
    assert float(model.discriminator_optimizer.learning_rate.numpy()) == pytest.approx(5e-4)
    # Adam's first step moves every weight with a non-zero gradient by lr (m / sqrt(v) = +-1).
    masks = np.full((2, 32, 32, 1), 1.0, np.float32)
    masks[:, 8:24, 12:20] = -1.0
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    kernel = model.generator.trainable_variables[0]
    before = kernel.numpy().copy()
    model.train_on_batch(masks, images)
    step = np.abs(kernel.numpy() - before)
    assert np.median(step[step > 1e-7]) == pytest.approx(5e-4, rel=0.05)


def test_validation_is_due_every_n_epochs_and_at_the_last():
    scores = ValidationScores(kc.ChromosomeSet.synthetic_set(2, seed=3, size=64), every=3, total_epochs=7)
    assert [e + 1 for e in range(7) if scores.due(e)] == [3, 6, 7]
    with pytest.raises(ValueError, match="every"):
        ValidationScores(kc.ChromosomeSet.synthetic_set(2, seed=3, size=64), every=0)


def test_validation_table_marks_the_best_dice():
    rows = [{"epoch": "1", "val_dice": "0.5", "val_maenb": "0.2"}, {"epoch": "2", "val_dice": "", "val_maenb": ""},
            {"epoch": "3", "val_dice": "0.7", "val_maenb": "0.3"}, {"epoch": "4", "val_dice": "0.6", "val_maenb": "0.1"}]
    lines = format_validation_table(rows).splitlines()
    assert len(lines) == 4  # header + the three validated epochs
    assert "best" in lines[2] and lines[2].split()[0] == "3"
    assert "best" not in lines[1] + lines[3]


def test_split_is_the_papers_70_15_15():
    train, validation, test = commands._split_indices(20, seed=0)
    assert (len(train), len(validation), len(test)) == (14, 3, 3)
    assert sorted(np.concatenate([train, validation, test])) == list(range(20))


def test_bad_train_arguments_fail_before_tensorflow(tmp_path):
    for flags, word in ((["--epochs-decay", "-1"], "--epochs-decay"), (["--validate-every", "0"], "--validate-every"),
                        (["--learning-rate", "-1"], "--learning-rate"), (["--data", str(tmp_path / "none")], "--data")):
        with pytest.raises((ValueError, FileNotFoundError), match=word):
            commands._check_train_args(commands_args(tmp_path, flags))


def test_train_refuses_a_run_folder_inside_its_data(tmp_path):
    data = tmp_path / "crops"
    data.mkdir()
    with pytest.raises(ValueError, match="--data"):
        commands._check_train_args(commands_args(tmp_path, ["--data", str(data), "--out", str(data / "run")]))


def commands_args(tmp_path, flags):
    import argparse

    parser = argparse.ArgumentParser()
    commands._configure_train(parser)
    return parser.parse_args(["--out", str(tmp_path / "run"), *flags])


def _folder(tmp_path, count):
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"c{i:02d}.png"), kc.render_chromosome(seed=500 + i, size=64).image)
    return folder


@pytest.mark.slow
def test_train_runs_the_protocol_and_keeps_the_best_dice_epoch(tmp_path, capsys):
    folder = _folder(tmp_path, 20)
    out = tmp_path / "run"
    argv = ["train", "chromosome", "--data", str(folder), "--out", str(out), "--epochs", "1",
            "--epochs-decay", "2", "--steps-per-epoch", "2", "--batch-size", "2", "--filters", "4",
            "--learning-rate", "1e-3", "--validate-every", "2", "--workers", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    # lr per epoch: 1e-3, 1e-3 * (1 - 1/3), 1e-3 * (1 - 2/3)
    np.testing.assert_allclose([float(r["lr"]) for r in rows], [1e-3, 1e-3 * 2 / 3, 1e-3 / 3], rtol=1e-6)
    # Validated at epoch 2 (every 2) and 3 (the last), not at 1.
    assert rows[0]["val_dice"] == "" and rows[1]["val_dice"] and rows[2]["val_dice"]
    best = 2 if float(rows[1]["val_dice"]) >= float(rows[2]["val_dice"]) else 3
    chosen = keras.saving.load_model(out / "best_generator.keras", compile=False)
    reference = kc.build_generator(size=128, filters=4)  # load_folder pads and resizes to 128
    reference.load_weights(out / "checkpoints" / f"generator_epoch_{best:04d}.weights.h5")
    for a, b in zip(chosen.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "Table 1" in printed and "<- best" in printed
    # 20 images split 14 / 3 / 3; the test part is kept for `evaluate --data`.
    assert len(kc.ChromosomeSet.load(out / "test_set.npz")) == 3
    assert len(kc.ChromosomeSet.load(out / "validation_set.npz")) == 3

    # Resuming the folder with other data is refused in one line naming the flag.
    other = tmp_path / "other"
    other.mkdir()
    cv2.imwrite(str(other / "x.png"), kc.render_chromosome(seed=9, size=64).image)
    argv_other = list(argv)
    argv_other[argv_other.index(str(folder))] = str(other)
    assert main(argv_other) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--data" in error[0] and "kerasgan" in error[0]


@pytest.mark.parametrize("mode, values, best", [("max", [0.5, 0.7, 0.6, 0.7], 2), ("min", [0.5, 0.3, 0.4, 0.3], 2)])
def test_best_generator_follows_the_monitor_mode_and_keeps_the_first_of_a_tie(tmp_path, mode, values, best):
    import types

    from kerasgan.training import EpochArtifacts

    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model = types.SimpleNamespace(generator=generator)
    backup = types.SimpleNamespace(history_record=[])
    artifacts = EpochArtifacts(tmp_path, backup, monitor="val_dice", monitor_mode=mode)
    artifacts.set_model(model)
    for epoch, value in enumerate(values):
        generator.set_weights([np.full((2, 1), epoch + 1.0, np.float32), np.zeros(1, np.float32)])
        artifacts.on_epoch_end(epoch, {"val_dice": value})
        backup.history_record.append({"epoch": epoch + 1, "val_dice": value})
    saved = keras.saving.load_model(tmp_path / "best_generator.keras", compile=False)
    assert saved.get_weights()[0][0, 0] == best  # weights of epoch `best` (1-based)
