"""Segmentation metrics of the chromosome paper (kerasgan.metrics.segmentation)."""

import numpy as np
import pytest

from kerasgan.metrics import banded_dice, count_bands, dice, maenb


def test_dice_values():
    a = np.zeros((10, 10), bool)
    a[:5] = True
    assert dice(a, a) == 1.0
    assert dice(a, ~a) == 0.0
    b = np.zeros_like(a)
    b[:5, :5] = True
    assert dice(a, b) == pytest.approx(2 * 25 / (50 + 25))
    assert dice(np.zeros(4), np.zeros(4)) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        dice(a, a[:5])


def test_banded_dice_omits_background():
    a = np.full((8, 8), 255, np.uint8)
    a[2:4] = 0
    a[4:6] = 127
    assert banded_dice(a, a) == 1.0
    swapped = a.copy()
    swapped[2:4], swapped[4:6] = 127, 0
    assert banded_dice(a, swapped) == 0.0
    # Mean of the per-class Dice; background agreement adds nothing.
    half = a.copy()
    half[4:6] = 0
    mean, black, white = banded_dice(a, half, per_class=True)
    assert black == pytest.approx(2 * 16 / (16 + 32))
    assert white == 0.0
    assert mean == pytest.approx((black + white) / 2)
    assert banded_dice(np.stack([a, a]), np.stack([a, swapped])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="0, 127 and 255"):
        banded_dice(a + 1, a)


def test_count_bands_and_maenb():
    assert count_bands(np.array([0, 0, 1, 1, 0, 1])) == (2, 2)
    assert count_bands(np.array([1])) == (0, 1)
    source = np.array([0, 0, 1, 1, 0, 0, 1])  # 2 black, 2 white
    assert maenb(source, source) == 0.0
    merged = np.array([0, 0, 0, 0, 0, 0, 1])  # 1 black, 1 white
    assert maenb(source, merged) == pytest.approx((1 + 1) / 4)
    assert maenb([source, source], [source, merged]) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="length 0"):
        count_bands(np.array([]))
    with pytest.raises(ValueError, match="binary"):
        count_bands(np.array([0, 3]))
