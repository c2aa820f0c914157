"""The ISCN tutorial (string -> karyogram -> crops) end to end at its --small setting (CI)."""

import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_tutorial_small_writes_karyogram_crops_and_masks(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tutorials" / "chromosome_iscn.py"), "--out", str(tmp_path),
         "--iscn", "47,XY,+21"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "KERASGAN_TUTORIAL_SMALL": "1"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    manifest = json.loads((tmp_path / "karyogram.json").read_text())
    assert manifest["iscn"] == "47,XY,+21" and manifest["count"] == 47
    assert manifest["image_source"] == "SYNTHETIC renderer"  # the small setting loads no generator
    assert sum(c["class"] == "21" for c in manifest["chromosomes"]) == 3
    # Every chromosome cut back with the right class (the tutorial checks against the manifest).
    assert "47 of 47 chromosomes found with box IoU >= 0.9 and the right class" in result.stdout
    crops = sorted((tmp_path / "crops").glob("crop_*.png"))
    assert len(crops) == 47 and sum("chr21" in p.name for p in crops) == 3
    for name in ("karyogram.png", "karyogram_and_crops.png"):
        assert (tmp_path / name).stat().st_size > 0
    # The extra 21 is drawn alone too (two copies at the small setting), with its banded mask.
    singles = sorted(tmp_path.glob("single_*_21.png"))
    assert len(singles) == 2 and all(p.with_name(p.stem + "_mask.png").exists() for p in singles)
