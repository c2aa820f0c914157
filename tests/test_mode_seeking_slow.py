"""Slow checks of mode-seeking pix2pix: the tutorial end to end and the CLI in a fresh process."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tutorial_runs_small_and_plots_every_variant(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tutorials" / "mode_seeking_histology.py"), "--small", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "variants.png").stat().st_size > 10_000
    assert (tmp_path / "zoo_glomeruli.png").stat().st_size > 5_000
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["variants"]) == {"pix2pix", "mask_ms", "structure_no_ms", "full_conditional_d", "full"}
    assert "| full |" in result.stdout and "real test images" in result.stdout


@pytest.mark.slow
def test_cli_ablation_writes_results_grids_and_weights(tmp_path):
    out = tmp_path / "ablation"
    result = subprocess.run(
        [sys.executable, "-m", "kerasgan.cli", "ablation", "glomeruli", "--image-size", "32",
         "--filters", "8", "--batch-size", "4", "--steps", "2", "--train-patches", "8",
         "--test-patches", "4", "--variants", "pix2pix,full", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| pix2pix |" in result.stdout and "| full |" in result.stdout
    for name in ("pix2pix", "full"):
        assert (out / f"{name}.png").is_file()
        assert (out / f"{name}.generator.weights.npz").is_file()
    assert set(json.loads((out / "results.json").read_text())["variants"]) == {"pix2pix", "full"}


@pytest.mark.slow
def test_cli_train_glomeruli_on_a_paired_folder(tmp_path):
    import kerasgan  # noqa: F401
    from kerasgan.glomeruli import data

    data.write_paired_folder(data.ihc_patches(32, 10, "train"), tmp_path / "pairs")
    result = subprocess.run(
        [sys.executable, "-m", "kerasgan.cli", "train", "glomeruli", "--data", str(tmp_path / "pairs"),
         "--image-size", "32", "--filters", "8", "--batch-size", "4", "--epochs", "1",
         "--steps-per-epoch", "2", "--allow-empty-masks", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "generator.keras").is_file()
    assert (tmp_path / "run" / "log.csv").is_file()
    assert "val_l1" in (tmp_path / "run" / "log.csv").read_text()

    # Without the flag, the empty nucleus mask of one of these patches is refused by name.
    result = subprocess.run(
        [sys.executable, "-m", "kerasgan.cli", "train", "glomeruli", "--data", str(tmp_path / "pairs"),
         "--image-size", "32", "--out", str(tmp_path / "run2")], capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 2 and "is empty" in result.stderr


@pytest.mark.slow
def test_ablation_runs_and_reports_every_column():
    import kerasgan  # noqa: F401
    from kerasgan.glomeruli import data as glomeruli_data
    from kerasgan.glomeruli import ablation

    train = glomeruli_data.ihc_patches(32, 8, "train")
    test = glomeruli_data.ihc_patches(32, 4, "test")
    settings = ablation.AblationSettings(image_size=32, filters=8, batch_size=4, steps=2, steps_per_log=2)
    results = ablation.run_ablation(train, test, settings, variants=["pix2pix", "full"], progress=False)
    assert list(results["variants"]) == ["pix2pix", "full"]
    for row in results["variants"].values():
        assert row["l1_to_ground_truth"] > 0 and row["pairwise_l1"] >= 0
        assert 0.0 <= row["explained_variance_share"] <= 1.0
    table = ablation.format_table(results)
    assert "| full |" in table and "real test images" in table
    with pytest.raises(ValueError, match="unknown variant"):
        ablation.run_ablation(train, test, settings, variants=["nope"])
    with pytest.raises(ValueError, match="image_size"):
        ablation.run_ablation(train, test, ablation.AblationSettings(image_size=64), variants=["full"])
