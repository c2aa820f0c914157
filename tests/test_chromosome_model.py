"""Chromosome pix2pix: generator shapes, zoo loader, evaluation and the CLI (tiny models)."""

import json

import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.chromosome.data import ChromosomeSet


@pytest.fixture(scope="module")
def tiny_set():
    return ChromosomeSet.synthetic_set(4, seed=21, size=64)


def test_generator_shapes_and_upscaling():
    generator = kc.build_generator(size=64, filters=8)
    x = np.zeros((2, 64, 64, 1), np.float32)
    y = np.asarray(generator(x))
    assert y.shape == (2, 64, 64, 1) and np.all(np.abs(y) <= 1.0)
    upscaled = kc.build_generator(size=32, filters=8, model_size=64)
    assert np.asarray(upscaled(np.zeros((1, 32, 32, 1), np.float32))).shape == (1, 32, 32, 1)
    assert upscaled.get_layer("upscale").output.shape[1] == 64


def test_generate_returns_uint8_images(tiny_set):
    generator = kc.build_generator(size=64, filters=8)
    images = kc.generate(generator, np.stack([tiny_set.banded_mask(i) for i in range(3)]))
    assert images.shape == (3, 64, 64) and images.dtype == np.uint8


def test_zoo_loader_round_trip(tmp_path):
    from kerasgan.chromosome import zoo_entry
    from kerasgan.serialization import save_weights_npz

    generator = kc.build_generator(size=64, filters=8)
    save_weights_npz(generator, tmp_path / zoo_entry.WEIGHTS_FILE)
    card = {"architecture": {"size": 64, "filters": 8, "norm": "batch", "model_size": None}}
    loaded = zoo_entry.load(tmp_path, card)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(generator(x)), atol=2e-2)  # float16
    with pytest.raises(ValueError, match="architecture"):
        zoo_entry.load(tmp_path, {})
    with pytest.raises(TypeError, match="no options"):
        zoo_entry.load(tmp_path, card, filters=3)


def test_evaluation_report_layout(tiny_set):
    from kerasgan.chromosome.evaluation import evaluate_generator, format_table

    generator = kc.build_generator(size=64, filters=8)
    bank = kc.PerlinBank(tracks=4, track_length=256, cache_dir=None)
    report = evaluate_generator(generator, tiny_set, bank=bank)
    for source in ("real", "perlin"):
        assert 0.0 <= report[source]["dice"] <= 1.0
        assert report[source]["count"] == len(tiny_set)
    assert 0.0 <= report["baseline_dice"] <= 1.0
    table = format_table(report)
    assert "test_real" in table and "test_perlin" in table and "baseline" in table


def test_cli_errors_are_clear(tmp_path):
    from kerasgan.cli import main

    assert main(["generate", "chromosome", "--count", "0", "--out", str(tmp_path)]) == 2
    assert main(["evaluate", "chromosome", "--generator", str(tmp_path / "none.keras")]) == 2


@pytest.mark.slow
def test_cli_train_generate_evaluate(tmp_path):
    from kerasgan.cli import main

    run = tmp_path / "run"
    assert main(["train", "chromosome", "--data", "synthetic:12:5", "--validation", "synthetic:4:6",
                 "--out", str(run), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
                 "--filters", "8", "--workers", "1"]) == 0
    weights = run / "generator.weights.npz"
    assert weights.exists() and json.loads((run / "config.json").read_text())["synthetic"] is True
    out = tmp_path / "out"
    assert main(["generate", "chromosome", "--generator", str(weights), "--filters", "8",
                 "--data", "synthetic:3:7", "--count", "5", "--abnormal", "edited", "--out", str(out)]) == 0
    assert len(list(out.glob("chromosome_*.png"))) == 5 and (out / "contact_sheet.png").exists()
    report = tmp_path / "scores.json"
    assert main(["evaluate", "chromosome", "--generator", str(weights), "--filters", "8",
                 "--data", "synthetic:3:8", "--json", str(report)]) == 0
    scores = json.loads(report.read_text())
    assert set(scores) >= {"real", "perlin", "baseline_dice"}


@pytest.mark.slow
def test_tutorial_runs_small(tmp_path):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "tutorials" / "chromosome_abnormalities.py"
    spec = importlib.util.spec_from_file_location("chromosome_tutorial", path)
    tutorial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tutorial)
    assert tutorial.main(["--out", str(tmp_path), "--small"]) == 0
    assert (tmp_path / "1_extraction.png").exists() and (tmp_path / "2_abnormal_chromosomes.png").exists()
    assert len(list(tmp_path.glob("generated_*.png"))) == 6


def test_zoo_entry_loads_and_draws_the_chromosome_where_the_mask_says():
    import kerasgan.zoo

    if "chromosome" not in kerasgan.zoo.list():
        pytest.skip("zoo entry 'chromosome' not present")
    generator = kerasgan.zoo.load("chromosome")
    item = kc.render_chromosome(seed=4242)
    pattern, lines = kc.banding_pattern(item.image, return_lines=True)
    mask = kc.back_project(pattern, lines)
    image = kc.generate(generator, mask)[0]
    assert image.shape == (128, 128) and image.dtype == np.uint8
    assert image[mask != 255].mean() < image[mask == 255].mean() - 20
    # Black bands come out darker than white bands.
    assert image[mask == 0].mean() < image[mask == 127].mean()
