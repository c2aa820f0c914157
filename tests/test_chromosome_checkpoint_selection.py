"""Choosing the chromosome zoo entry's epoch (issue 16): `checkpoint_scores` scores every
per-epoch generator of a `train chromosome` run on the run's own validation set by the paper's
Dice and by the patch Fréchet distance, and keeps the lowest distance among the epochs within
the Dice tolerance of the best; `export_run(epoch=N)` writes that checkpoint's weights."""

import json

import keras
import numpy as np
import pytest

from kerasgan.chromosome import evaluation, zoo_entry
from kerasgan.chromosome.data import ChromosomeSet
from kerasgan.chromosome.model import build_generator
from kerasgan.metrics import realism
from marked_checkpoints import marked_epoch, save_marked_checkpoints


@pytest.fixture(scope="module")
def validation():
    return ChromosomeSet.synthetic_set(6, seed=2, size=128, kind="ideogram")


def test_choose_epoch_keeps_the_most_realistic_epoch_within_the_dice_tolerance():
    scores = {1: {"dice": 0.80, "patch_frechet_distance": 0.010},
              2: {"dice": 0.85, "patch_frechet_distance": 0.050},
              3: {"dice": 0.84, "patch_frechet_distance": 0.020},
              4: {"dice": 0.83, "patch_frechet_distance": 0.020}}
    # Floor 0.83: epochs 2, 3, 4; 3 and 4 tie on distance and the earlier is kept.
    assert zoo_entry.choose_epoch(scores, 0.02) == (3, 2)
    assert zoo_entry.choose_epoch(scores, 0.0) == (2, 2)  # the paper's rule: best Dice only
    assert zoo_entry.choose_epoch(scores, 0.1) == (1, 2)  # every epoch eligible
    with pytest.raises(ValueError, match="no epochs"):
        zoo_entry.choose_epoch({}, 0.02)


def test_checkpoint_scores_measure_each_epoch_on_the_runs_validation_set(tmp_path, monkeypatch, validation):
    # Both halves hold the same three chromosomes, so the disjoint-halves patch distance sees
    # the texture of the outputs, not which chromosomes fell in which half.
    first = slice(0, 3)
    validation = ChromosomeSet(np.concatenate([validation.images[first]] * 2),
                               validation.patterns[first] * 2,
                               np.concatenate([validation.index_maps[first]] * 2),
                               validation.names[first] * 2, True, validation.classes[first] * 2)
    run = tmp_path / "run"
    run.mkdir()
    validation.save(run / "validation_set.npz")
    keras.utils.set_random_seed(0)
    generator = build_generator(size=128, filters=4)
    generator.save(run / "best_generator.keras")  # a run that has not ended yet
    save_marked_checkpoints(generator, run, (1, 2, 3))
    masks, patterns = evaluation.input_masks(validation, "real")
    real = validation.images
    noise = np.random.default_rng(0).normal(size=real.shape)
    blank = np.full_like(real[:3], 255)
    outputs = {1: np.concatenate([blank, real[:3]]),  # second half = real: distance ~0, Dice below the floor
               2: np.clip(real + 25 * noise, 0, 255).astype(np.uint8),  # best Dice, grainy
               3: np.clip(real + 3 * noise, 0, 255).astype(np.uint8)}  # Dice within 0.02, fine grain
    dices = {1: 0.70, 2: 0.90, 3: 0.89}
    seen = []

    def generate(model, banded_masks, batch_size=32, inference="deterministic"):
        assert inference == "deterministic"
        np.testing.assert_array_equal(banded_masks, masks)  # the validation images' own masks
        epoch = marked_epoch(model)
        seen.append(epoch)
        return outputs[epoch]

    def score_images(banded_masks, banding_patterns, images):
        np.testing.assert_array_equal(banded_masks, masks)
        assert len(banding_patterns) == len(patterns)
        epoch = next(k for k, value in outputs.items() if np.array_equal(value, images))
        return evaluation.SourceScores(dices[epoch], 0.0, 0.1, 0.0, len(images), 0)

    monkeypatch.setattr("kerasgan.chromosome.model.generate", generate)
    monkeypatch.setattr(evaluation, "score_images", score_images)
    result = zoo_entry.checkpoint_scores(run, dice_tolerance=0.02)
    assert seen == [1, 2, 3]
    assert result["best_epoch"] == 3 and result["best_dice_epoch"] == 2
    assert result["validation_images"] == len(validation)
    distance = {k: result["epochs"][k]["patch_frechet_distance"] for k in (1, 2, 3)}
    # Grain raises the patch distance: sigma 25 grey levels far more than sigma 3, which is
    # more than the real images themselves (the second half's images against the first's).
    assert distance[2] > 5 * distance[3] and distance[3] > distance[1]
    # The rule's distance: outputs from the second half's masks against the first half's
    # images (disjoint, as benchmarks/realism.py); the paired one is kept for the record.
    half = len(real) // 2
    for epoch in (1, 3):
        scores = result["epochs"][epoch]
        assert scores["patch_frechet_distance"] == pytest.approx(
            realism.patch_frechet_distance(outputs[epoch][half:], real[:half]), rel=1e-9)
        assert scores["patch_frechet_distance_paired"] == pytest.approx(
            realism.patch_frechet_distance(outputs[epoch], real), rel=1e-9)
    # Epoch 1's blank first half counts in the paired distance only.
    assert result["epochs"][1]["patch_frechet_distance_paired"] > 10 * distance[1]
    assert [result["epochs"][k]["dice"] for k in (1, 2, 3)] == [0.70, 0.90, 0.89]
    assert zoo_entry.checkpoint_scores(run, dice_tolerance=0.0)["best_epoch"] == 2
    assert zoo_entry.checkpoint_scores(run, epochs=[1, 3], dice_tolerance=0.3)["best_epoch"] == 1
    # select_and_export: the kept epoch's weights go into the entry, the scores into its card.
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"architecture": {"kind": "unet_generator"}, "training": {}}))
    (run / "config.json").write_text(json.dumps({
        "size": 128, "image_size": 128, "filters": 4, "norm": "batch", "model_size": None,
        "discriminator_filters": 4, "data": "ideogram:6:2"}))
    card = zoo_entry.select_and_export(run, folder, dice_tolerance=0.02)
    assert card["training"]["chosen_epoch"] == 3 and card["training"]["chosen_validation_dice"] == 0.89
    record = card["training"]["epoch_selection"]
    assert record["best_epoch"] == 3 and record["best_dice_epoch"] == 2 and sorted(record["scores"]) == ["1", "2", "3"]
    stored = np.load(folder / "generator.weights.npz")
    first_kernel = [stored[key] for key in stored.files if stored[key].ndim == 4][0]
    assert float(first_kernel.flat[0]) == 3.0  # the marker of epoch 3 (exact in float16)


def test_checkpoint_scores_refuse_what_they_cannot_read(tmp_path, validation):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(FileNotFoundError, match="validation_set.npz"):
        zoo_entry.checkpoint_scores(run)
    validation.save(run / "validation_set.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoints"):
        zoo_entry.checkpoint_scores(run)
    generator = build_generator(size=128, filters=4)
    save_marked_checkpoints(generator, run, (1,))
    with pytest.raises(FileNotFoundError, match="neither generator.keras"):
        zoo_entry.checkpoint_scores(run)
    generator.save(run / "generator.keras")
    with pytest.raises(FileNotFoundError, match=r"epoch\(s\) \[7\]"):
        zoo_entry.checkpoint_scores(run, epochs=[1, 7])
    one = tmp_path / "one"
    one.mkdir()
    ChromosomeSet.synthetic_set(1, seed=2, size=128, kind="ideogram").save(one / "validation_set.npz")
    save_marked_checkpoints(generator, one, (1,))
    generator.save(one / "generator.keras")
    with pytest.raises(ValueError, match="at least 2"):
        zoo_entry.checkpoint_scores(one)
    for bad in (-0.1, 1.5, float("nan"), "0.02", True):
        with pytest.raises(ValueError, match="dice_tolerance"):
            zoo_entry.checkpoint_scores(run, dice_tolerance=bad)


def test_export_run_writes_the_chosen_epochs_weights_and_records_it(tmp_path):
    run, folder = tmp_path / "run", tmp_path / "entry"
    run.mkdir()
    folder.mkdir()
    keras.utils.set_random_seed(1)
    generator = build_generator(size=128, filters=4)
    (run / "checkpoints").mkdir()
    # Two epochs with different weights throughout (not only one entry).
    first = generator.get_weights()
    generator.save_weights(run / "checkpoints" / "generator_epoch_0001.weights.h5")
    second = [w + np.float32(0.05) * np.sign(w + 1e-3) if w.ndim > 1 else w for w in first]
    generator.set_weights(second)
    generator.save_weights(run / "checkpoints" / "generator_epoch_0002.weights.h5")
    config = {"size": 128, "image_size": 128, "filters": 4, "norm": "batch", "model_size": None,
              "discriminator_filters": 4, "data": "ideogram:24:1", "train_images": 24, "validation_images": 6,
              "epochs": 1, "epochs_decay": 1, "steps_per_epoch": 3, "batch_size": 2, "seed": 0,
              "validate_every": 1}
    (run / "config.json").write_text(json.dumps(config))
    card = {"name": "chromosome", "architecture": {"kind": "unet_generator", "size": 64, "filters": 32,
                                                   "norm": "batch", "model_size": None},
            "training": {"data": "SYNTHETIC (described)", "chosen_epoch": 20, "chosen_validation_dice": 0.87}}
    (folder / "card.json").write_text(json.dumps(card))
    written = zoo_entry.export_run(run, folder, epoch=2, training={"wall_seconds": 12.5})
    stored = json.loads((folder / "card.json").read_text())
    assert stored == written
    assert stored["architecture"] == {"kind": "unet_generator", "size": 128, "filters": 4, "norm": "batch",
                                      "model_size": None}
    training = stored["training"]
    assert training["chosen_epoch"] == 2 and training["wall_seconds"] == 12.5
    assert training["train"] == "ideogram:24:1" and training["data"] == "SYNTHETIC (described)"
    assert training["batch_size"] == 2 and training["discriminator_filters"] == 4
    loaded = zoo_entry.load(folder, stored)
    masks = np.full((2, 128, 128, 1), 1.0, np.float32)
    masks[:, 40:90, 60:70] = -1.0
    masks[:, 60:70, 60:70] = 0.0
    generator.set_weights(second)
    want_second = generator.predict(masks, verbose=0)
    generator.set_weights(first)
    want_first = generator.predict(masks, verbose=0)
    got = loaded.predict(masks, verbose=0)
    assert np.max(np.abs(got - want_second)) < 5e-3  # float16 weights
    assert np.max(np.abs(got - want_first)) > 10 * np.max(np.abs(got - want_second))
    with pytest.raises(FileNotFoundError, match=r"epoch\(s\) \[3\]"):
        zoo_entry.export_run(run, folder, epoch=3)


def _report(inference, dice, with_ideogram=True):
    sources = {"real": {"dice": dice, "maenb": 0.1}, "perlin": {"dice": dice - 0.01, "maenb": 0.2}}
    if with_ideogram:
        sources["ideogram"] = {"dice": dice - 0.02, "maenb": 0.3}
    return {"inference": inference, "baseline_dice": 0.48889, **sources}


def test_record_evaluation_copies_each_protocols_numbers_into_the_card(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"measured": {"test": "described"}}))
    files = {"evaluation_human.json": _report("reference", 0.84321),
             "evaluation.json": _report("reference", 0.90666, with_ideogram=False),
             "evaluation_human_deterministic.json": _report("deterministic", 0.86),
             "evaluation_deterministic.json": _report("deterministic", 0.9, with_ideogram=False)}
    for name, report in files.items():
        (tmp_path / name).write_text(json.dumps(report))
    measured = zoo_entry.record_evaluation(tmp_path)
    assert json.loads((tmp_path / "card.json").read_text())["measured"] == measured
    assert measured["test"] == "described"
    assert measured["reference"] == {"human_dice_real": 0.8432, "human_dice_perlin": 0.8332,
                                     "human_dice_ideogram": 0.8232, "human_maenb_real": 0.1,
                                     "dice_real": 0.9067, "dice_perlin": 0.8967, "maenb_real": 0.1,
                                     "baseline_dice": 0.4889}
    assert measured["deterministic"]["human_dice_real"] == 0.86 and measured["deterministic"]["dice_real"] == 0.9
    # A file measured under the other protocol is refused, not copied under the wrong name.
    (tmp_path / "evaluation.json").write_text(json.dumps(_report("deterministic", 0.9, with_ideogram=False)))
    with pytest.raises(ValueError, match="expected 'reference'"):
        zoo_entry.record_evaluation(tmp_path)
    (tmp_path / "evaluation.json").unlink()
    with pytest.raises(FileNotFoundError, match="no evaluation.json"):
        zoo_entry.record_evaluation(tmp_path)
