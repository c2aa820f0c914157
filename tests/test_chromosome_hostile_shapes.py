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


def test_single_bent_and_human_chromosomes_still_read():
    for seed in range(40):
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
