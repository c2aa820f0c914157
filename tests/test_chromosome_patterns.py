"""Perlin banding patterns, the Perlin bank and structural edits (kerasgan.chromosome)."""

import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.metrics.segmentation import count_bands

PATTERN = np.array([0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1], np.uint8)


def test_perlin_pattern_is_binary_clustered_and_seeded():
    first = kc.perlin_pattern(160, seed=3)
    assert first.dtype == np.uint8 and first.shape == (160,)
    assert set(np.unique(first)) == {0, 1}
    np.testing.assert_array_equal(first, kc.perlin_pattern(160, seed=3))
    assert (first != kc.perlin_pattern(160, seed=4)).any()
    black, white = count_bands(first)
    # Clustered runs: several bands, far fewer than white noise would give (~80).
    assert 3 <= black + white <= 40


def test_perlin_pattern_errors():
    with pytest.raises(ValueError, match="length"):
        kc.perlin_pattern(0)
    with pytest.raises(TypeError, match="length"):
        kc.perlin_pattern(2.5)
    with pytest.raises(ValueError, match="mean_band"):
        kc.perlin_pattern(10, mean_band=0)


def test_perlin_bank_caches_and_samples(tmp_path):
    bank = kc.PerlinBank(tracks=3, track_length=256, seed=1, cache_dir=tmp_path)
    cached = list(tmp_path.glob("*.npy"))
    assert len(cached) == 1
    again = kc.PerlinBank(tracks=3, track_length=256, seed=1, cache_dir=tmp_path)
    np.testing.assert_allclose(again.noise, bank.noise, atol=1e-3)  # float16 storage
    rng = np.random.default_rng(0)
    for length in (1, 50, 200, 2000):
        pattern = bank.sample(length, rng)
        assert pattern.shape == (length,) and set(np.unique(pattern)) <= {0, 1}
    assert kc.PerlinBank(tracks=2, track_length=128, seed=1, cache_dir=None).noise.shape == (2, 128)


def test_deletion_duplication_inversion():
    deleted = kc.edit(PATTERN, deletion=(0.25, 0.5))
    np.testing.assert_array_equal(deleted, np.concatenate([PATTERN[:5], PATTERN[10:]]))
    duplicated = kc.edit(PATTERN, duplication=(0.25, 0.5))
    np.testing.assert_array_equal(duplicated, np.concatenate([PATTERN[:10], PATTERN[5:10], PATTERN[10:]]))
    inverted = kc.edit(PATTERN, inversion=(0.0, 0.5))
    np.testing.assert_array_equal(inverted[:10], PATTERN[:10][::-1])
    np.testing.assert_array_equal(inverted[10:], PATTERN[10:])


def test_insertion_and_translocation():
    donor = np.ones(4, np.uint8)
    inserted = kc.edit(PATTERN, insertion=(0.5, donor))
    assert len(inserted) == len(PATTERN) + 4
    np.testing.assert_array_equal(inserted[10:14], donor)
    other = np.zeros(10, np.uint8)
    der_a, der_b = kc.reciprocal_translocation(PATTERN, other, 0.5, 0.2)
    np.testing.assert_array_equal(der_a, np.concatenate([PATTERN[:10], other[2:]]))
    np.testing.assert_array_equal(der_b, np.concatenate([other[:2], PATTERN[10:]]))
    assert len(der_a) + len(der_b) == len(PATTERN) + len(other)
    np.testing.assert_array_equal(kc.edit(PATTERN, translocation=(other, 0.5, 0.2)), der_a)


def test_edits_apply_in_order():
    both = kc.edit(PATTERN, deletion=(0.0, 0.5), inversion=(0.0, 1.0))
    np.testing.assert_array_equal(both, PATTERN[10:][::-1])


def test_edit_errors():
    with pytest.raises(ValueError, match="start < end"):
        kc.edit(PATTERN, deletion=(0.6, 0.4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kc.edit(PATTERN, inversion=(0.2, 1.5))
    with pytest.raises(TypeError, match="unknown edit"):
        kc.edit(PATTERN, transposition=(0.1, 0.2))
    with pytest.raises(ValueError, match="at least one"):
        kc.edit(PATTERN)
    with pytest.raises(ValueError, match="whole pattern"):
        kc.edit(PATTERN, deletion=(0.0, 1.0))
    with pytest.raises(ValueError, match="binary"):
        kc.edit(np.array([0, 2, 1]), inversion=(0.0, 1.0))
    with pytest.raises(ValueError, match="length 0"):
        kc.edit(np.array([]), inversion=(0.0, 1.0))
    with pytest.raises(TypeError, match="pair"):
        kc.edit(PATTERN, deletion=0.5)
