"""Banding-pattern extraction f_BPE and back-projection f_SEG (kerasgan.chromosome)."""

import cv2
import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.metrics.segmentation import banded_dice, count_bands


arc_chromosome = kc.render_arc_chromosome  # made independently of render_chromosome


@pytest.fixture(scope="module")
def synthetic():
    return [kc.render_chromosome(seed=100 + i) for i in range(12)]


def test_renderer_conventions(synthetic):
    for item in synthetic:
        assert item.image.dtype == np.uint8 and item.image.shape == (128, 128)
        assert set(np.unique(item.banded_mask)) <= {0, 127, 255}
        assert set(np.unique(item.pattern)) <= {0, 1}
        assert sum(count_bands(item.pattern)) >= 3
        # Chromosome darker than background on average.
        assert item.image[item.shape_mask].mean() < item.image[~item.shape_mask].mean() - 10


def test_extraction_matches_ground_truth_on_synthetic(synthetic):
    scores = []
    for item in synthetic:
        pattern, lines = kc.banding_pattern(item.image, return_lines=True)
        assert pattern.dtype == np.uint8 and set(np.unique(pattern)) <= {0, 1}
        assert len(pattern) == len(lines)
        scores.append(banded_dice(kc.back_project(pattern, lines), item.banded_mask))
    assert np.mean(scores) > 0.85


def test_extraction_holds_on_independently_made_images():
    scores = []
    for seed in range(12):
        image, labels = arc_chromosome(seed)
        pattern, lines = kc.banding_pattern(image, return_lines=True)
        scores.append(banded_dice(kc.back_project(pattern, lines), labels))
    assert np.mean(scores) > 0.85
    assert min(scores) > 0.7


def test_input_dtypes_and_layouts_give_the_same_pattern():
    image, _ = arc_chromosome(3)
    reference = kc.banding_pattern(image)
    variants = [
        image.astype(np.uint16) * 257,
        image.astype(np.float32) / 255.0,
        image.astype(np.float64) / 255.0,
        image[..., None],
        np.dstack([image] * 3),
    ]
    for variant in variants:
        np.testing.assert_array_equal(kc.banding_pattern(variant), reference)
    inverted = kc.banding_pattern(255 - image, dark_background=True)
    assert len(inverted) == len(reference)


def test_light_band_near_background_stays_in_the_shape():
    image, labels = arc_chromosome(5)
    # Make white bands nearly as light as the background: plain Otsu would drop them.
    background = float(np.median(image[labels == 255]))
    faint = image.astype(np.float32)
    faint[labels == 127] = background - 12
    faint = cv2.GaussianBlur(faint, (0, 0), 0.8)
    mask = kc.shape_mask(np.clip(faint, 0, 255).astype(np.uint8))
    truth = labels != 255
    assert (mask & truth).sum() / truth.sum() > 0.9


def test_back_projection_values_and_fill():
    item = kc.render_chromosome(seed=7)
    shape = kc.shape_mask(item.image)
    for length in (1, 5, 37, 1000):
        pattern = np.random.default_rng(length).integers(0, 2, length)
        mask = kc.back_project(pattern, shape)
        assert mask.dtype == np.uint8 and mask.shape == shape.shape
        assert set(np.unique(mask)) <= {0, 127, 255}
        # Every shape pixel gets a band (nearest-neighbour fill), nothing outside the shape.
        np.testing.assert_array_equal(mask != 255, shape)
    np.testing.assert_array_equal(kc.back_project(np.zeros(9), shape)[shape], 0)
    np.testing.assert_array_equal(kc.back_project(np.ones(9, bool), shape)[shape], 127)


def test_back_projection_reuses_lines():
    item = kc.render_chromosome(seed=8)
    pattern, lines = kc.banding_pattern(item.image, return_lines=True)
    with_lines = kc.back_project(pattern, lines.shape, lines=lines)
    np.testing.assert_array_equal(with_lines, kc.back_project(pattern, lines))
    # The pattern's own order is kept: reversing it mirrors the bands along the axis.
    reversed_mask = kc.back_project(pattern[::-1], lines)
    assert count_bands(pattern) == count_bands(pattern[::-1])
    assert (reversed_mask != with_lines).any() or (pattern == pattern[::-1]).all()


def test_to_model_input():
    mask = np.full((128, 128), 255, np.uint8)
    mask[40:60, 50:70] = 0
    mask[60:80, 50:70] = 127
    x = kc.to_model_input(mask)
    assert x.shape == (1, 128, 128, 1) and x.dtype == np.float32
    np.testing.assert_allclose(sorted(np.unique(x)), [-1.0, 127 / 127.5 - 1.0, 1.0], atol=1e-6)
    assert kc.to_model_input(np.stack([mask, mask])).shape == (2, 128, 128, 1)
    with pytest.raises(ValueError, match="0, 127 and 255"):
        kc.to_model_input(np.full((8, 8), 3, np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        kc.to_model_input(mask.astype(np.float32))


# ----------------------------------------------------------------------------- bad input


def test_empty_or_background_only_images_raise():
    with pytest.raises(ValueError, match="uniform"):
        kc.banding_pattern(np.full((64, 64), 200, np.uint8))
    noise = np.random.default_rng(0).normal(220, 3, (64, 64)).clip(0, 255).astype(np.uint8)
    with pytest.raises(ValueError, match="no chromosome"):
        kc.banding_pattern(noise)
    with pytest.raises(ValueError, match="no chromosome|uniform"):
        kc.shape_mask(np.full((64, 64), 0.9, np.float32))


def test_several_chromosomes_raise():
    first, _ = arc_chromosome(1)
    second, _ = arc_chromosome(2)
    both = np.concatenate([first, second], axis=1)
    with pytest.raises(ValueError, match="several chromosomes"):
        kc.banding_pattern(both)


@pytest.mark.parametrize("bad", [np.zeros((64, 64), bool), np.zeros((64, 64), np.int64),
                                 np.zeros((64, 64), np.complex64), "image.png", None])
def test_wrong_dtype_raises_type_error(bad):
    with pytest.raises(TypeError, match="image"):
        kc.banding_pattern(bad)


@pytest.mark.parametrize("shape", [(64,), (2, 64, 64, 1), (64, 64, 2), (4, 4)])
def test_wrong_shape_raises_value_error(shape):
    with pytest.raises(ValueError, match="image"):
        kc.banding_pattern(np.zeros(shape, np.uint8))


def test_nan_image_raises():
    image = np.full((64, 64), 0.9, np.float32)
    image[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        kc.banding_pattern(image)


def test_bad_patterns_raise():
    shape = np.zeros((64, 64), bool)
    shape[20:40, 10:50] = True
    with pytest.raises(ValueError, match="length 0"):
        kc.back_project(np.array([], np.uint8), shape)
    with pytest.raises(ValueError, match="binary"):
        kc.back_project(np.array([0, 1, 2]), shape)
    with pytest.raises(ValueError, match="binary"):
        kc.back_project(np.array([0.0, 0.5, 1.0]), shape)
    with pytest.raises(ValueError, match="1-D"):
        kc.back_project(np.zeros((3, 3)), shape)
    with pytest.raises(TypeError, match="pattern"):
        kc.back_project("0101", shape)
    with pytest.raises(ValueError, match="NaN"):
        kc.back_project(np.array([0.0, np.nan]), shape)


def test_bad_shape_masks_raise():
    with pytest.raises(ValueError, match="empty"):
        kc.back_project(np.ones(5), np.zeros((64, 64), bool))
    with pytest.raises(ValueError, match="binary"):
        kc.back_project(np.ones(5), np.arange(64 * 64).reshape(64, 64))
    with pytest.raises(ValueError, match="2-D"):
        kc.back_project(np.ones(5), np.ones((2, 64, 64), bool))
    shape = np.zeros((64, 64), np.uint8)
    shape[20:40, 10:50] = 255  # 0/255 masks are accepted
    assert (kc.back_project(np.ones(5), shape) == 127).sum() == (shape > 0).sum()
