"""SinGAN end to end: resume after an interruption at scale k, the CLI, the tutorial (slow)."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import kerasgan  # noqa: F401
from kerasgan.models.singan import SinGAN

pytestmark = pytest.mark.slow
TINY = dict(max_size=32, min_size=25, filters=8, seed=0)
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _image():
    from skimage import data, transform

    image = data.retina()  # real fundus photograph (scikit-image, ships offline)
    return (transform.resize(image, (40, 40), anti_aliasing=True) * 2 - 1).astype(np.float32)


def test_resume_after_interruption_at_scale_k(tmp_path, monkeypatch):
    image, run = _image(), tmp_path / "run"
    trained_scales = []
    original = SinGAN._train_scale

    def interrupted(self, scale, *args, **kwargs):
        if scale == 1:
            raise KeyboardInterrupt("simulated kill during scale 1")
        trained_scales.append(scale)
        return original(self, scale, *args, **kwargs)

    monkeypatch.setattr(SinGAN, "_train_scale", interrupted)
    with pytest.raises(KeyboardInterrupt):
        SinGAN(**TINY).fit(image, iterations_per_scale=3, checkpoint_dir=run, verbose=0)
    state = json.loads((run / "singan.json").read_text())
    assert state["completed_scales"] == 1 and trained_scales == [0]
    scale_0 = dict(np.load(run / "scale_00.generator.npz"))
    with pytest.raises(ValueError, match="1 of 3 scales"):
        SinGAN.load(run)

    def counting(self, scale, *args, **kwargs):
        trained_scales.append(scale)
        return original(self, scale, *args, **kwargs)

    monkeypatch.setattr(SinGAN, "_train_scale", counting)
    model = SinGAN(**TINY).fit(image, iterations_per_scale=3, checkpoint_dir=run, verbose=0)
    assert trained_scales == [0, 1, 2]  # scale 0 was not trained again
    resumed_scale_0 = dict(np.load(run / "scale_00.generator.npz"))
    for key, value in scale_0.items():
        np.testing.assert_array_equal(resumed_scale_0[key], value)
    assert model.num_scales == 3
    loaded = SinGAN.load(run)
    np.testing.assert_array_equal(loaded.sample(1, seed=0), model.sample(1, seed=0))
    assert not list(run.glob(".partial-*"))  # atomic writes leave no temporary files


def test_cli_train_resumes_and_generate_writes_pngs(tmp_path, capsys):
    from kerasgan import cli

    run, out = tmp_path / "run", tmp_path / "out"
    arguments = ["train", "singan", "example:microaneurysms", "--max-size", "32", "--filters", "8",
                 "--iterations", "3", "--seed", "0", "--out", str(run)]
    assert cli.main(arguments) == 0
    assert cli.main(arguments) == 0  # finished run: resumes with nothing left to train
    assert "resuming" in capsys.readouterr().out
    assert cli.main(["generate", "singan", str(run), "--count", "3", "--start-scale", "1",
                     "--seed", "0", "--out", str(out)]) == 0
    assert len(list(out.glob("singan_*.png"))) == 3 and (out / "contact_sheet.png").stat().st_size > 0
    assert cli.main(["generate", "singan", str(run), "--count", "2", "--start-scale", "9",
                     "--out", str(out)]) == 2  # clear error, not a traceback


def test_cli_max_filters_sets_every_scales_width(tmp_path):
    import json

    from kerasgan import cli

    run = tmp_path / "run"
    arguments = ["train", "singan", "example:microaneurysms", "--max-size", "40", "--min-size", "11",
                 "--scale-factor", "0.7", "--filters", "4", "--max-filters", "4", "--iterations", "1",
                 "--seed", "0", "--out", str(run)]
    assert cli.main(arguments) == 0
    from kerasgan.models import SinGAN

    model = SinGAN.load(run)
    assert model.num_scales >= 5  # so the default (doubling every 4 scales) would widen scale 4
    assert [model.filters_at(i) for i in range(model.num_scales)] == [4] * model.num_scales
    assert json.loads((run / "singan.json").read_text())["config"]["max_filters"] == 4


def test_tutorial_small(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "tutorials" / "medisingan.py"), "--small",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["histology_patch_statistic_distance"]["mean"] >= 0
    for name in ("histology_samples.png", "histology_wide.png", "mr_harmonization_by_scale.png", "histology.keras"):
        assert (tmp_path / name).stat().st_size > 0
