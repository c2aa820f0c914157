"""The SynCGAN tutorial end to end at its --small setting (CI)."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tutorial_small_writes_every_output(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tutorials" / "syncgan_cytology.py"), "--small", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    for name in ("masks.png", "synthetic_benign.png", "synthetic_malignant.png", "syncgan.keras",
                 "study.json", "study.md", "study.png", "synthetic_samples.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    results = json.loads((tmp_path / "study.json").read_text())
    assert "Orig+GAN" in results["mean"]["small_cnn"]
    assert "Dice vs ground truth" in result.stdout
