"""MediSinGAN on a brain MRI slice: mask-image agreement and copy measures (values by hand),
the MNI example data (nilearn, skipped without it) and the zoo entry medisingan_brain_mri."""

import numpy as np
import pytest

from kerasgan.metrics import mask_agreement as ma


# ------------------------------------------------------------------ fit_intensity_threshold
def test_fit_intensity_threshold_by_hand():
    # levels=5 on [-1, 1]: grid -1, -0.5, 0, 0.5, 1 -> candidates -0.75, -0.25, 0.25, 0.75.
    # image > t vs mask [0, 0, 1, 1]:
    #   t=-0.75: 4 px, 2 shared -> 2*2/(4+2) = 0.667;  t=-0.25: 3 px -> 2*2/(3+2) = 0.8
    #   t= 0.25: 2 px, both shared -> 1.0;              t= 0.75: 1 px -> 2*1/(1+2) = 0.667
    image = np.array([[-0.5, 0.2, 0.6, 0.9]])
    mask = np.array([[0, 0, 1, 1]], bool)
    threshold, score = ma.fit_intensity_threshold(image, mask, levels=5)
    assert threshold == pytest.approx(0.25)
    assert score == pytest.approx(1.0)


def test_fit_intensity_threshold_imperfect_by_hand():
    # mask [0, 1, 0, 1]: t=-0.75 -> 2*2/6 = 0.667; t=-0.25 -> 3 px, 2 shared -> 0.8;
    # t=0.25 -> px 2,3, 1 shared -> 2*1/4 = 0.5; t=0.75 -> px 3, shared -> 2*1/3 = 0.667.
    image = np.array([[-0.5, 0.2, 0.6, 0.9]])
    mask = np.array([[0, 1, 0, 1]], bool)
    threshold, score = ma.fit_intensity_threshold(image, mask, levels=5)
    assert threshold == pytest.approx(-0.25)
    assert score == pytest.approx(0.8)


def test_fit_intensity_threshold_refuses_empty_mask_and_shape_mismatch():
    with pytest.raises(ValueError, match="empty"):
        ma.fit_intensity_threshold(np.zeros((2, 2)), np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="shapes"):
        ma.fit_intensity_threshold(np.zeros((2, 2)), np.ones((2, 3), bool))


# ------------------------------------------------------------------ mask_image_dice
def _two_samples():
    images = np.array([[[0.9, -0.9], [0.9, -0.9]],       # image > 0: left column
                       [[-0.9, -0.9], [0.9, 0.9]]])      # image > 0: bottom row
    masks = np.array([[[0.5, -0.5], [0.5, 0.5]],         # mask > 0: 3 px (not top right)
                      [[-1.0, -1.0], [1.0, 1.0]]])       # mask > 0: bottom row
    return images[..., None], masks[..., None]


def test_mask_image_dice_by_hand():
    images, masks = _two_samples()
    # sample 0: image 2 px, mask 3 px, 2 shared -> 2*2/5 = 0.8; sample 1: identical -> 1.0
    np.testing.assert_allclose(ma.mask_image_dice(images, masks, 0.0), [0.8, 1.0])


def test_shuffled_pairs_dice_by_hand():
    images, masks = _two_samples()
    # mask 0 vs image 1 (bottom row): 2 shared -> 2*2/(3+2) = 0.8
    # mask 1 (bottom row) vs image 0 (left column): 1 shared -> 2*1/(2+2) = 0.5
    np.testing.assert_allclose(ma.shuffled_pairs_dice(images, masks, 0.0), [0.8, 0.5])


def test_shifted_mask_dice_by_hand():
    image = np.array([[[0.9, 0.9, -0.9, -0.9]]])   # image > 0: columns 0, 1
    mask = np.array([[[1.0, 1.0, -1.0, -1.0]]])    # aligned: Dice 1
    assert ma.mask_image_dice(image, mask, 0.0)[0] == pytest.approx(1.0)
    # shifted by 1: mask columns 1, 2 -> 1 shared -> 2*1/(2+2) = 0.5; by 2: columns 2, 3 -> 0
    assert ma.shifted_mask_dice(image, mask, 0.0, shift=1)[0] == pytest.approx(0.5)
    assert ma.shifted_mask_dice(image, mask, 0.0, shift=2)[0] == pytest.approx(0.0)


def test_mask_threshold_is_used():
    images, masks = _two_samples()
    # at mask threshold 0.6, sample 0's mask keeps no pixel (0.5 < 0.6): Dice 0 with 2 px;
    # sample 1's mask (1.0) still the bottom row: 1.0
    np.testing.assert_allclose(ma.mask_image_dice(images, masks, 0.0, mask_threshold=0.6), [0.0, 1.0])


def test_agreement_rows_by_hand():
    images, masks = _two_samples()
    real_image = images[1, ..., 0]
    real_mask = np.array([[0, 0], [1, 0]], bool)  # image > 0: 2 px, mask 1 px shared -> 2/3
    rows = ma.agreement_rows(images, masks, real_image, real_mask, 0.0,
                             held_out_images=images[:1, ..., 0], held_out_masks=np.array([[[1, 0], [1, 0]]], bool))
    assert rows["generated"]["mean"] == pytest.approx(0.9)
    assert rows["generated"]["min"] == pytest.approx(0.8)
    assert rows["generated"]["std"] == pytest.approx(0.1)
    assert rows["generated_shuffled_pairs"]["mean"] == pytest.approx(0.65)
    # shifted by 2 columns of a 2-column image (np.roll wraps): each mask comes back to itself
    assert rows["generated_mask_shifted_2px"]["mean"] == pytest.approx(0.9)
    assert rows["real_training_slice"]["mean"] == pytest.approx(2 / 3)
    assert rows["held_out_real"]["mean"] == pytest.approx(1.0)
    assert rows["generated"]["count"] == 2


def test_mask_image_dice_refuses_bad_input():
    images, masks = _two_samples()
    with pytest.raises(ValueError, match="shapes"):
        ma.mask_image_dice(images, masks[:, :1], 0.0)
    with pytest.raises(ValueError, match="NaN"):
        ma.mask_image_dice(np.full((1, 2, 2), np.nan), masks[:1], 0.0)
    with pytest.raises(ValueError, match="at least 2"):
        ma.shuffled_pairs_dice(images[:1], masks[:1], 0.0)


def test_binary_fraction_by_hand():
    # |v| >= 0.5: -1, 0.6, 1 count; 0.2 and -0.4 do not -> 3 / 5
    assert ma.binary_fraction(np.array([[-1.0, 0.2, 0.6, 1.0, -0.4]])) == pytest.approx(0.6)
    assert ma.binary_fraction(np.array([[-1.0, 1.0]]), margin=0.1) == pytest.approx(1.0)


# ------------------------------------------------------------------ copy_distances
def test_copy_distances_by_hand():
    training = np.zeros((2, 2, 1))
    reconstruction = np.full((2, 2, 1), 0.1)               # RMSE 0.1
    samples = np.stack([np.full((2, 2, 1), 0.05),           # RMSE 0.05 (closer: a copy)
                        np.full((2, 2, 1), 0.3),            # RMSE 0.3
                        np.array([[[0.2], [0.0]], [[0.0], [0.0]]])])  # sqrt(0.04 / 4) = 0.1: not farther
    result = ma.copy_distances(samples, training, reconstruction)
    assert result["reconstruction_rmse"] == pytest.approx(0.1)
    assert result["sample_rmse"]["mean"] == pytest.approx(0.15)
    assert result["sample_rmse"]["min"] == pytest.approx(0.05)
    assert result["fraction_farther_than_reconstruction"] == pytest.approx(1 / 3)
    assert result["ratio_mean_to_reconstruction"] == pytest.approx(1.5)


def test_rmse_to_refuses_shape_mismatch():
    with pytest.raises(ValueError, match="shapes"):
        ma.rmse_to(np.zeros((2, 3, 3, 1)), np.zeros((3, 2, 1)))


# ------------------------------------------------------------------ MNI example data
def test_mni_example_slices():
    pytest.importorskip("nilearn")
    from kerasgan.medisingan import examples

    channels, description = examples.load_example("mni-t1-wm")
    assert "DERIVED" in description and "MNI" in description
    t1, wm = channels["T1"], channels["WM"]
    assert t1.shape == wm.shape == (188, 160) and wm.dtype == bool
    assert 0.0 <= t1.min() and t1.max() <= 1.0
    assert 0.15 < wm.mean() < 0.3
    # white matter is the brightest tissue of T1: its mean is above the rest of the brain
    brain = t1 > 0.05
    assert t1[wm].mean() > t1[brain & ~wm].mean() + 0.15
    held_out = set(examples.MNI_HELD_OUT_A) | set(examples.MNI_HELD_OUT_B)
    assert examples.MNI_TRAINING_SLICE not in held_out
    assert min(abs(k - examples.MNI_TRAINING_SLICE) for k in held_out) >= 4
    slices = examples.mni_slices(examples.MNI_HELD_OUT_A)
    assert slices["T1"].shape == (4, 188, 160)
    # the brain fits inside the crop with a margin (no tissue on the crop border)
    everything = examples.mni_slices([examples.MNI_TRAINING_SLICE, *sorted(held_out)])["T1"]
    border = np.concatenate([everything[:, [0, -1]].ravel(), everything[:, :, [0, -1]].ravel()])
    assert border.max() == 0.0


# ------------------------------------------------------------------ the zoo entry
ENTRY_FOLDER = __import__("pathlib").Path(__file__).resolve().parents[1] / "zoo" / "medisingan_brain_mri"


@pytest.mark.skipif(not (ENTRY_FOLDER / "card.json").exists(), reason="zoo entry not built yet")
def test_zoo_entry_samples_image_and_binary_mask():
    import kerasgan
    from kerasgan.metrics.mask_agreement import binarize

    assert kerasgan.zoo.verify("medisingan_brain_mri") == {"medisingan_brain_mri": "ok"}
    meta = kerasgan.zoo.metadata("medisingan_brain_mri")
    assert meta["channel_layout"] == {"T1": 1, "WM": 1}
    for name in meta["files"]:
        assert (ENTRY_FOLDER / name).stat().st_size < 25 * 2 ** 20
    sg = kerasgan.zoo.load("medisingan_brain_mri")
    assert max(sg.shapes[-1]) >= 128
    samples = sg.sample(count=2, start_scale=1, seed=0)
    assert samples.shape == (2, *sg.shapes[-1], 2)
    parts = sg.split_channels(samples)
    mask = binarize(parts["WM"])
    assert mask.dtype == bool and 0.1 < mask.mean() < 0.4
    again = sg.sample(count=2, start_scale=1, seed=0)
    np.testing.assert_array_equal(samples, again)
