"""SynCGAN unsupervised nucleus masks and the SYNTHETIC cytology renderer."""

import numpy as np
import pytest

from kerasgan.syncgan.masks import dice, nucleus_masks, stretch_histogram
from kerasgan.syncgan.renderer import render_cytology


@pytest.fixture(scope="module")
def rendered():
    return render_cytology(count_per_class=4, image_size=64, seed=5)


def test_renderer_shapes_labels_and_determinism(rendered):
    images, masks, labels = rendered
    assert images.shape == (8, 64, 64, 3) and images.dtype == np.uint8
    assert masks.shape == (8, 64, 64, 1) and set(np.unique(masks)) <= {0, 1}
    assert np.bincount(labels).tolist() == [4, 4]
    again = render_cytology(count_per_class=4, image_size=64, seed=5)
    assert np.array_equal(again[0], images)
    other = render_cytology(count_per_class=4, image_size=64, seed=6)
    assert not np.array_equal(other[0], images)


def test_renderer_malignant_nuclei_larger_and_darker():
    images, masks, labels = render_cytology(count_per_class=8, image_size=64, seed=1)
    area = masks.reshape(len(masks), -1).sum(1) / masks[0].size
    gray = images.mean(-1)
    darkness = np.array([gray[i][masks[i, ..., 0] == 1].mean() for i in range(len(images))])
    assert area[labels == 1].mean() > 1.5 * area[labels == 0].mean()
    assert darkness[labels == 1].mean() < darkness[labels == 0].mean()


def test_nucleus_masks_match_ground_truth(rendered):
    images, masks, _ = rendered
    predicted = nucleus_masks(images)
    assert predicted.shape == masks.shape and predicted.dtype == np.uint8
    assert set(np.unique(predicted)) <= {0, 1}
    assert dice(predicted, masks).mean() >= 0.8


def test_nucleus_masks_single_image_equals_batch_entry(rendered):
    images, _, _ = rendered
    single = nucleus_masks(images[2])
    assert single.shape == (64, 64, 1)
    assert np.array_equal(single, nucleus_masks(images)[2])


def test_nucleus_masks_float_input_same_as_uint8(rendered):
    images, _, _ = rendered
    assert np.array_equal(nucleus_masks(images[:2]), nucleus_masks(images[:2].astype(np.float32) / 255.0))


def test_blank_image_gives_empty_mask_with_a_warning():
    blank = np.full((1, 32, 32, 3), 200, np.uint8)
    with pytest.warns(UserWarning, match=r"masks\[0\] is empty"):
        assert nucleus_masks(blank).sum() == 0


def test_stretch_histogram_maps_percentiles_to_unit_range(rendered):
    stretched = stretch_histogram(rendered[0], (0.0, 100.0))
    assert stretched.min() == 0.0 and stretched.max() == 1.0


@pytest.mark.parametrize(
    "images, error",
    [
        (np.zeros((2, 16, 16, 2), np.uint8), ValueError),
        (np.zeros((0, 16, 16, 3), np.uint8), ValueError),
        (np.full((1, 16, 16, 3), np.nan, np.float32), ValueError),
        (np.full((1, 16, 16, 3), 70000, np.int32), ValueError),
        (np.full((1, 16, 16, 3), "a"), TypeError),
    ],
)
def test_nucleus_masks_bad_input(images, error):
    with pytest.raises(error, match="image"):
        nucleus_masks(images)


def test_nucleus_masks_bad_parameters(rendered):
    with pytest.raises(ValueError, match="mixture_components"):
        nucleus_masks(rendered[0][:1], mixture_components=0)
    with pytest.raises(ValueError, match="polarity"):
        nucleus_masks(rendered[0][:1], polarity="fluorescent")
    with pytest.raises(ValueError, match="percentiles"):
        nucleus_masks(rendered[0][:1], stretch_percentiles=(50, 10))


def test_dice_values():
    a = np.zeros((1, 4, 4, 1), np.uint8)
    a[0, :2] = 1
    b = np.zeros_like(a)
    b[0, :1] = 1
    assert dice(a, a)[0] == pytest.approx(1.0)
    assert dice(a, b)[0] == pytest.approx(2 * 4 / (8 + 4))
    with pytest.raises(ValueError, match="shape"):
        dice(a, a[:, :2])
