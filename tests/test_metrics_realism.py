"""kerasgan.metrics.realism: values worked out by hand on tiny arrays, and argument errors."""

import numpy as np
import pytest
from scipy import ndimage

from kerasgan.metrics import realism

UNIT = (0.0, 1.0)


def step_edge(height=1.0, size=8):
    """size x size image, 0 on the left half, `height` on the right half (1 x H x W)."""
    image = np.zeros((1, size, size), np.float64)
    image[:, :, size // 2:] = height
    return image


def texture(count=6, size=32, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (count, size, size, channels))


# --- sharpness ---------------------------------------------------------------------------

def test_step_edge_gradient_magnitude_by_hand():
    # Sobel along columns: [-1, 0, 1] x row smoothing [1, 2, 1] (sum 4) / 8 -> a unit step is
    # 4 * 1 / 8 = 0.5 on the two columns beside it, 0 elsewhere (rows constant, borders
    # reflected). 8 x 8 image: 2 columns x 8 rows x 0.5 / 64 pixels = 0.125.
    assert realism.mean_gradient_magnitude(step_edge(), value_range=UNIT) == pytest.approx(0.125)
    as_uint8 = (step_edge() * 255).astype(np.uint8)
    assert realism.mean_gradient_magnitude(as_uint8) == pytest.approx(0.125)
    mask = np.zeros((1, 8, 8), bool)
    mask[:, :, 3] = True                 # the column just left of the edge
    assert realism.mean_gradient_magnitude(step_edge(), mask, value_range=UNIT) == pytest.approx(0.5)
    mask[:, :, 0] = True                 # plus a flat column: (0.5 + 0) / 2
    assert realism.mean_gradient_magnitude(step_edge(), mask, value_range=UNIT) == pytest.approx(0.25)


def test_sharpness_ratio_is_generated_over_real():
    # a half-height step has half the gradient: 0.0625 / 0.125 = 0.5 (and not 2)
    ratio = realism.sharpness_ratio(step_edge(0.5), step_edge(1.0), value_range=UNIT)
    assert ratio == pytest.approx(0.5)
    assert realism.sharpness_ratio(step_edge(1.0), step_edge(1.0), value_range=UNIT) == pytest.approx(1.0)


def test_sharpness_ratio_on_masks():
    # generated: the edge column only (0.5); real: the edge column plus a flat one (0.25) -> 2
    generated_mask = np.zeros((1, 8, 8), bool)
    generated_mask[:, :, 4] = True
    real_mask = generated_mask.copy()
    real_mask[:, :, 7] = True
    ratio = realism.sharpness_ratio(step_edge(), step_edge(), generated_mask, real_mask, value_range=UNIT)
    assert ratio == pytest.approx(2.0)


def test_blurred_images_are_less_sharp_and_further_in_patches_as_sigma_grows():
    real = texture()
    distances, ratios = [], []
    for sigma in (0.5, 1.0, 2.0):
        blurred = ndimage.gaussian_filter(real, sigma=(0, sigma, sigma, 0))
        ratios.append(realism.sharpness_ratio(blurred, real, value_range=UNIT))
        distances.append(realism.patch_frechet_distance(blurred, real, value_range=UNIT))
    assert all(r < 1.0 for r in ratios) and ratios[0] > ratios[1] > ratios[2]
    assert 0.0 < distances[0] < distances[1] < distances[2]


# --- intensity histogram -------------------------------------------------------------------

def test_intensity_wasserstein_of_two_known_histograms():
    # generated: 4 pixels at 0.2. real: 8 pixels, 6 at 0.2 and 2 at 0.6. Normalised, the
    # distributions differ by a mass of 2/8 moved by 0.4: W1 = 0.25 * 0.4 = 0.1 (raw counts,
    # 4 vs 8 pixels, would give another number).
    generated = np.full((1, 2, 2), 51, np.uint8)              # 51 / 255 = 0.2
    real = np.full((2, 2, 2), 51, np.uint8)
    real[1, 1, :] = 153                                       # 153 / 255 = 0.6
    assert realism.intensity_wasserstein(generated, real) == pytest.approx(0.1)


def test_intensity_wasserstein_shift_and_channel_mean():
    real = np.random.default_rng(1).uniform(0.0, 0.5, (3, 8, 8, 2))
    shifted = real.copy()
    shifted[..., 1] += 0.4                                    # channel 0 equal, channel 1 moved by 0.4
    assert realism.intensity_wasserstein(shifted, real, value_range=UNIT) == pytest.approx(0.2)
    # float in (-1, 1) read with its range: the same images as uint8 give the same number
    as_uint8 = np.round(real * 255).astype(np.uint8)
    as_signed = as_uint8 / 127.5 - 1.0                        # value_range applies to the float set
    assert realism.intensity_wasserstein(as_signed, as_uint8, value_range=(-1, 1)) == pytest.approx(0.0, abs=1e-12)


# --- patch statistic distance ----------------------------------------------------------------

def test_patch_frechet_distance_of_single_pixels_by_hand():
    # patch_size 1, one component: the 1-D Fréchet distance (mu_r - mu_g)^2 + (s_r - s_g)^2.
    real = np.full((2, 4, 4), 0.2)
    real[:, :, 2:] = 0.6                                      # 32 pixels, mean 0.4, all 0.2 away
    variance = 32 * 0.2**2 / 31                               # np.cov's n - 1
    constant = np.full((2, 4, 4), 0.4)                        # same mean, no spread
    assert realism.patch_frechet_distance(constant, real, patch_size=1, components=1,
                                          value_range=UNIT) == pytest.approx(variance)
    # shifted by 0.1: the spread matches, the means differ by 0.1 -> 0.01
    assert realism.patch_frechet_distance(real + 0.1, real, patch_size=1, components=1,
                                          value_range=UNIT) == pytest.approx(0.01)


def test_patch_frechet_distance_projects_on_the_leading_component():
    # Real: two flat images at 0.2 and 0.6, so every 2 x 2 patch is (l, l, l, l) and all patch
    # variance lies along (1, 1, 1, 1) / 2 (projection 2 * (l - 0.4) = +-0.4, n = 8 patches,
    # variance 8 * 0.16 / 7). Generated: flat 0.5 -> projection 0.2, no spread. One component:
    # d^2 = 0.2^2 + variance (any other direction would see no difference at all).
    real = np.stack([np.full((3, 3), 0.2), np.full((3, 3), 0.6)])
    generated = np.full((2, 3, 3), 0.5)
    expected = 0.2**2 + 8 * 0.4**2 / 7
    assert realism.patch_frechet_distance(generated, real, patch_size=2, components=1,
                                          value_range=UNIT) == pytest.approx(expected, rel=1e-6)


def test_identical_sets_score_zero_and_one():
    images = texture(channels=3)
    assert realism.patch_frechet_distance(images, images, value_range=UNIT) == pytest.approx(0.0, abs=1e-8)
    assert realism.intensity_wasserstein(images, images, value_range=UNIT) == 0.0
    assert realism.sharpness_ratio(images, images, value_range=UNIT) == pytest.approx(1.0)


# --- report ----------------------------------------------------------------------------------

def test_report_rows_against_the_real_set():
    real = texture(count=6, channels=3, seed=2)
    second = texture(count=6, channels=3, seed=3)
    report = realism.realism_report(real, real, 1.0, second_real=second, value_range=UNIT)
    rows = report["rows"]
    assert set(rows) == {"generated", "blurred_real", "held_out_real"}
    assert rows["generated"]["patch_frechet_distance"] == pytest.approx(0.0, abs=1e-8)
    assert rows["generated"]["sharpness_ratio"] == pytest.approx(1.0)
    # the blurred row is second_real blurred along H and W only (not across images or colours)
    blurred = ndimage.gaussian_filter(second, sigma=(0, 1, 1, 0))

    def sobel_mean(images):  # 2-D Sobel of each image and channel on its own, / 8
        gy = [ndimage.sobel(plane, axis=0) / 8.0 for image in images for plane in np.moveaxis(image, -1, 0)]
        gx = [ndimage.sobel(plane, axis=1) / 8.0 for image in images for plane in np.moveaxis(image, -1, 0)]
        return np.hypot(np.array(gy), np.array(gx)).mean()

    assert rows["blurred_real"]["sharpness_ratio"] == pytest.approx(sobel_mean(blurred) / sobel_mean(real))
    assert rows["held_out_real"]["sharpness_ratio"] == pytest.approx(sobel_mean(second) / sobel_mean(real))
    assert rows["blurred_real"]["sharpness_ratio"] < 1.0
    assert rows["blurred_real"]["patch_frechet_distance"] > rows["held_out_real"]["patch_frechet_distance"]
    # diversity: mean over the 15 pairs of the mean |a - b|, by hand
    pairs = [np.abs(second[i] - second[j]).mean() for i in range(6) for j in range(i + 1, 6)]
    assert rows["held_out_real"]["diversity_l1"] == pytest.approx(np.mean(pairs))
    stronger = realism.realism_report(real, real, 2.0, second_real=second, value_range=UNIT)["rows"]
    assert stronger["blurred_real"]["patch_frechet_distance"] > rows["blurred_real"]["patch_frechet_distance"]
    table = realism.format_realism_table(report)
    assert "blurred sigma 1" in table and "floor" in table and table.count("\n") == 5


def test_report_splits_real_in_halves_without_second_real():
    real = texture(count=8)
    report = realism.realism_report(real[:4], real, value_range=UNIT)
    # generated equals the first half, the reference: distance 0; the second half is the floor
    assert report["rows"]["generated"]["patch_frechet_distance"] == pytest.approx(0.0, abs=1e-8)
    assert report["settings"]["real_count"] == 4 and report["settings"]["second_real_count"] == 4
    assert report["rows"]["held_out_real"]["intensity_wasserstein"] > 0.0


def test_report_masked_sharpness():
    images = np.concatenate([step_edge(1.0), step_edge(1.0)])[..., None]
    half = np.concatenate([step_edge(0.5), step_edge(0.5)])[..., None]
    mask = np.zeros((2, 8, 8), bool)
    mask[:, :, 3:5] = True
    report = realism.realism_report(half, images, second_real=images, generated_mask=mask, real_mask=mask,
                                    second_real_mask=mask, value_range=UNIT)
    assert report["rows"]["generated"]["sharpness_ratio"] == pytest.approx(0.5)
    assert report["settings"]["masked_sharpness"] is True


# --- argument errors -----------------------------------------------------------------------

@pytest.mark.parametrize("generated, real, match", [
    (np.zeros((2, 8, 8), np.uint8), np.zeros((2, 9, 8), np.uint8), "generated are H x W x C"),
    (np.zeros((2, 8, 8, 3), np.uint8), np.zeros((2, 8, 8, 1), np.uint8), "generated are H x W x C"),
    (np.zeros((0, 8, 8), np.uint8), np.zeros((2, 8, 8), np.uint8), "generated is empty"),
    (np.zeros((2, 8, 8), np.uint8), np.zeros((8, 8), np.uint8), "real must be N x H x W"),
    (np.full((2, 8, 8), np.nan), np.zeros((2, 8, 8), np.uint8), "generated contains NaN"),
    (np.full((2, 8, 8), 0.5), np.zeros((2, 8, 8), np.uint8), "generated is float64: pass value_range"),
])
def test_argument_errors_name_the_argument(generated, real, match):
    with pytest.raises(ValueError, match=match):
        realism.realism_report(generated, real)


def test_other_argument_errors():
    real = texture(count=4)
    with pytest.raises(TypeError, match="generated must be uint8 or float"):
        realism.sharpness_ratio(real.astype(np.int16), real, value_range=UNIT)
    with pytest.raises(ValueError, match=r"real has values in \[255, 255\], outside its value_range \(-1, 1\)"):
        realism.sharpness_ratio(real, np.full((4, 32, 32, 1), 255.0), value_range=(-1, 1))
    with pytest.raises(ValueError, match="generated_mask must be N x H x W"):
        realism.sharpness_ratio(real, real, np.ones((4, 8, 8), bool), np.ones((4, 32, 32), bool), value_range=UNIT)
    with pytest.raises(ValueError, match="real_mask selects no pixel"):
        realism.sharpness_ratio(real, real, np.ones((4, 32, 32), bool), np.zeros((4, 32, 32), bool),
                                value_range=UNIT)
    with pytest.raises(ValueError, match="give masks for all sets or for none"):
        realism.realism_report(real, real, second_real=real, real_mask=np.ones((4, 32, 32), bool),
                               value_range=UNIT)
    with pytest.raises(ValueError, match="real images have no gradient"):
        realism.sharpness_ratio(real, np.zeros((4, 32, 32, 1)), value_range=UNIT)
    with pytest.raises(ValueError, match="smaller than patch_size=7"):
        realism.patch_frechet_distance(np.zeros((2, 5, 5), np.uint8), np.zeros((2, 5, 5), np.uint8))
    with pytest.raises(ValueError, match="reference_blur_sigma must be > 0"):
        realism.realism_report(real, real, 0.0, second_real=real, value_range=UNIT)
    with pytest.raises(ValueError, match="splitting it into a reference and a held-out half needs at least 4"):
        realism.realism_report(real, real[:3], value_range=UNIT)
