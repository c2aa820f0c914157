"""The medisingan zoo entry's builder on a tiny run of the same example (H&E window + nuclei
mask): what the card measures and how (issue 16)."""

import json

import numpy as np
import pytest

pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

from kerasgan.medisingan import examples, zoo_entry  # noqa: E402


def test_darkness_is_minus_the_mean_of_rgb():
    images = np.array([[[[0.5, -0.5, 0.0, 1.0], [1.0, 1.0, 1.0, -1.0]]]], np.float32)  # 1 x 1 x 2 x 4
    np.testing.assert_allclose(zoo_entry.darkness(images), [[[0.0, -1.0]]])


def test_held_out_windows_are_disjoint_from_the_training_window_and_tissue():
    from kerasgan.data.histology import he_histology

    _, _, tissue = he_histology()
    rows, columns = examples.HE_WINDOW
    corners = examples.HE_HELD_OUT_A + examples.HE_HELD_OUT_B
    assert len(set(corners)) == len(corners) == 12
    for r, c in corners:
        assert r + 256 <= rows.start or r >= rows.stop or c + 256 <= columns.start or c >= columns.stop
        assert tissue[r:r + 256, c:c + 256].mean() >= 0.85
    windows = zoo_entry.held_out_windows(corners[:2], (32, 32), [(0, 255)] * 3 + [(0, 1)])
    assert windows.shape == (2, 32, 32, 4) and windows.min() >= -1 and windows.max() <= 1


def test_build_measures_agreement_copies_and_realism(tmp_path):
    from kerasgan import cli, zoo

    run = tmp_path / "run"
    assert cli.main(["train", "singan", "example:he-nuclei", "--max-size", "32", "--min-size", "25",
                     "--iterations", "2", "--filters", "4", "--max-filters", "4", "--seed", "0",
                     "--out", str(run)]) == 0
    folder = tmp_path / "medisingan"
    zoo_entry.build(run, folder, wall_seconds=12.5, load_average="1-min load 1.0-2.0")
    stored = json.loads((folder / "card.json").read_text())
    assert set(stored["files"]) == set(zoo_entry.model_files(folder)) and stored["mask_threshold"] == 0.0
    measured = stored["measured"]
    # The darkness threshold fitted on the real training image finds its nuclei (a sign error,
    # brightness instead of darkness, scores far below this).
    assert measured["intensity_threshold"]["dice_on_training_image"] > 0.6
    assert set(measured["agreement"]) == {"start_scale_0", "start_scale_1", "start_scale_2"}
    assert measured["agreement"]["start_scale_1"]["held_out_real"]["count"] == 12
    assert set(measured["realism"]) == {"start_scale_0", "start_scale_1"}
    assert measured["realism"]["start_scale_0"]["settings"]["image_shape"][-1] == 3  # RGB only
    assert len(measured["copies"]["held_out_real_rmse_to_training_image"]) == 12
    assert "CC0" in stored["data_licence"] and "rows 1024-1279" in stored["training_image"]
    text = (folder / "MODEL_CARD.md").read_text()
    assert "nucleus = mask channel > 0" in text and "12.5" not in text  # wall time shown in minutes
    assert "0.2 min" in text
    loaded_card = json.loads((folder / "card.json").read_text())
    model = zoo_entry.load(folder, loaded_card)
    assert model.channel_layout == {"image": 3, "mask": 1}
    for name, digest in stored["files"].items():  # sealed: every model file's sha256
        assert zoo.sha256(folder / name) == digest
