"""Choosing the glomeruli zoo entry's epoch: `checkpoint_realism` measures each per-epoch
generator on TRAINING-row patches only and keeps the lowest patch Fréchet distance;
`export_run(epoch=N)` writes that checkpoint's weights (issue 16)."""

import json

import keras
import numpy as np
import pytest

pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

from kerasgan.glomeruli import ablation, data, zoo_entry  # noqa: E402
from kerasgan.serialization import load_weights_npz  # noqa: E402
from marked_checkpoints import marked_epoch, save_marked_checkpoints  # noqa: E402

SIZE = 32
THRESHOLD = 0.58


def _run(tmp_path, epochs):
    """A run folder as `kerasgan train glomeruli --shipped-data he` leaves it; checkpoint k has
    its first kernel entry set to k (the stub below reads it back)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    keras.utils.set_random_seed(0)
    generator = zoo_entry.build_generator({"image_size": SIZE, "condition_channels": 2, "image_channels": 3,
                                           "filters": 4, "norm": "batch"})
    generator.save(run / "generator.keras")
    save_marked_checkpoints(generator, run, epochs)
    (run / "run_settings.json").write_text(json.dumps({"--shipped-data": "he", "--filters": 4}))
    (run / "preprocessing.json").write_text(json.dumps({"structure_threshold": THRESHOLD}))
    return run


def test_the_epoch_closest_to_training_patches_is_kept_and_test_rows_are_never_read(tmp_path, monkeypatch):
    run = _run(tmp_path, (1, 2, 3))
    real = data.he_patches(SIZE, 6, "train", seed=4, structure_threshold=THRESHOLD)
    splits = []
    original = data.shipped_patches

    def shipped(source, patch_size, count, split, seed=0, structure_threshold=None):
        splits.append(split)
        assert structure_threshold == THRESHOLD  # the run's own threshold
        return original(source, patch_size, count, split, seed=seed, structure_threshold=structure_threshold)

    # Epoch 2 gives exactly the real patches (distance 0); 1 a flat grey, 3 the right texture in
    # the wrong colour.
    outputs = {1: np.zeros_like(real.images), 2: real.images.copy(), 3: np.clip(real.images + 0.4, -1, 1)}

    def generate(generator, conditions, inference="deterministic"):
        assert inference == "deterministic"
        np.testing.assert_array_equal(conditions, real.conditions())
        return outputs[marked_epoch(generator)]

    monkeypatch.setattr(data, "shipped_patches", shipped)
    monkeypatch.setattr(ablation, "generate", generate)
    result = zoo_entry.checkpoint_realism(run, count=6, seed=4)
    assert splits == ["train"]
    assert result["best_epoch"] == 2 and result["split"] == "train"
    assert result["epochs"][2] == pytest.approx(0.0, abs=1e-9)
    assert min(result["epochs"][1], result["epochs"][3]) > 1e-3
    only = zoo_entry.checkpoint_realism(run, count=6, seed=4, epochs=[1, 3])
    assert sorted(only["epochs"]) == [1, 3] and only["best_epoch"] in (1, 3)
    with pytest.raises(FileNotFoundError, match=r"epoch\(s\) \[9\]"):
        zoo_entry.checkpoint_realism(run, count=6, seed=4, epochs=[9])


def test_export_run_writes_the_chosen_checkpoint(tmp_path):
    run = _run(tmp_path, (1, 2))
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"name": "glomeruli"}))
    card = zoo_entry.export_run(run, folder, epoch=2)
    assert card["training"]["exported_epoch"] == 2
    generator = zoo_entry.build_generator(card["architecture"])
    load_weights_npz(generator, folder / "generator.weights.npz")
    assert float(generator.get_weights()[0].flat[0]) == 2.0  # float16 holds 2 exactly
    card = zoo_entry.export_run(run, folder)
    load_weights_npz(generator, folder / "generator.weights.npz")
    assert card["training"]["exported_epoch"] == "final"
    assert float(generator.get_weights()[0].flat[0]) != 2.0  # generator.keras's own weights
    with pytest.raises(FileNotFoundError, match="no checkpoint of epoch 7"):
        zoo_entry.export_run(run, folder, epoch=7)


def test_select_and_export_keeps_the_best_epoch_and_records_why(tmp_path, monkeypatch):
    run = _run(tmp_path, (1, 2, 3))
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"name": "glomeruli"}))
    distances = {1: 0.5, 2: 0.3, 3: 0.1}
    monkeypatch.setattr(zoo_entry, "checkpoint_realism", lambda run, count, seed: {
        "epochs": distances, "best_epoch": 3})
    card = zoo_entry.select_and_export(run, folder, training={"wall_seconds": 9})
    assert card["training"]["exported_epoch"] == 3 and card["training"]["wall_seconds"] == 9
    assert card["training"]["epoch_selection"]["distances"] == {"1": 0.5, "2": 0.3, "3": 0.1}
    generator = zoo_entry.build_generator(card["architecture"])
    load_weights_npz(generator, folder / "generator.weights.npz")
    assert float(generator.get_weights()[0].flat[0]) == 3.0
