"""Shapes f_BPE/f_SEG cannot read as one chromosome are refused, never silently merged
(issue 13): two separate blobs, two chromosomes touching in an X or a T; a damaged Perlin cache
is rebuilt."""

import numpy as np
import pytest

from kerasgan import chromosome as kc


def _upright(seed=1):
    return kc.render_chromosome(seed=seed, chromosome="1", chr1_length=90, pose="upright").image


def test_back_project_refuses_two_separate_blobs():
    shape = np.zeros((64, 64), bool)
    shape[5:30, 10:18] = True
    shape[35:60, 40:48] = True
    with pytest.raises(ValueError, match="2 separate regions"):
        kc.back_project(np.array([0, 1, 0, 1], np.uint8), shape)
    with pytest.raises(ValueError, match="2 separate regions"):
        kc.perpendicular_lines(shape)
    one = shape.copy()
    one[35:60, 40:48] = False
    assert (kc.back_project(np.array([0, 1], np.uint8), one) != 255).sum() == one.sum()


@pytest.mark.parametrize("layout", ["X", "T"])
def test_touching_chromosomes_are_refused_not_read_as_one(layout):
    a = _upright()
    b = np.rot90(a) if layout == "X" else np.roll(np.rot90(a), 40, axis=0)
    touching = np.minimum(a, b)
    with pytest.raises(ValueError, match="several touching or overlapping"):
        kc.banding_pattern(touching)


@pytest.mark.parametrize("shift", [14, 30])
def test_a_chromosome_ending_on_another_is_refused(shift):
    # Two default renders, the second shifted sideways until its end lies on the first's
    # middle (a T whose stub above the junction is about a quarter of the first's length):
    # the old rule (a quarter of the whole axis) read it as one chromosome of their joint length.
    a, b = kc.render_chromosome(seed=1).image, kc.render_chromosome(seed=2).image
    touching = np.minimum(a, np.roll(b, shift, axis=1))
    with pytest.raises(ValueError, match="several touching or overlapping"):
        kc.banding_pattern(touching)


def test_single_bent_and_human_chromosomes_still_read():
    for seed in range(120):
        kc.banding_pattern(kc.render_chromosome(seed=seed).image)
        kc.banding_pattern(kc.render_chromosome(seed=seed, chromosome=kc.CHROMOSOMES[seed % 24]).image)


def test_a_perlin_cache_full_of_nan_is_rebuilt(tmp_path):
    first = kc.PerlinBank(tracks=2, track_length=64, seed=5, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("*.npy")
    np.save(cached, np.full((2, 64), np.nan, np.float16))
    again = kc.PerlinBank(tracks=2, track_length=64, seed=5, cache_dir=tmp_path)
    assert np.isfinite(again.noise).all()
    np.testing.assert_allclose(again.noise, first.noise, atol=1e-3)
    assert np.isfinite(np.load(cached)).all()  # the rebuilt bank replaced the damaged file


def test_generate_never_writes_into_its_inputs_or_over_files(tmp_path):
    import cv2

    from kerasgan.cli import main

    data = tmp_path / "crops"
    data.mkdir()
    cv2.imwrite(str(data / "a.png"), kc.render_chromosome(seed=3).image)
    before = (data / "a.png").read_bytes()
    for out in (data, data / "inside"):
        assert main(["generate", "chromosome", "--data", str(data), "--out", str(out), "--count", "1"]) == 2
    assert sorted(p.name for p in data.iterdir()) == ["a.png"] and (data / "a.png").read_bytes() == before
    out = tmp_path / "out"
    out.mkdir()
    (out / "chromosome_000.png").write_bytes(b"keep")
    assert main(["generate", "chromosome", "--data", "synthetic:1:1", "--out", str(out), "--count", "1"]) == 2
    assert (out / "chromosome_000.png").read_bytes() == b"keep"


def test_a_npz_generator_with_other_filters_is_named(tmp_path):
    from kerasgan.chromosome.commands import load_generator
    from kerasgan.serialization import save_weights_npz

    save_weights_npz(kc.build_generator(size=128, filters=8), tmp_path / "g.npz")
    with pytest.raises(ValueError, match="--filters 8"):
        load_generator(str(tmp_path / "g.npz"), filters=16)
    assert load_generator(str(tmp_path / "g.npz"), filters=8).count_params() > 0
