"""Weight-free realism of a generated image set against held-out real images of its source.

No Inception weights ship offline, so FID/SIFID cannot be computed; these four numbers need
no network and are each reported beside two reference rows (`realism_report`):

- `patch_frechet_distance`: Fréchet distance between the Gaussians fitted to the k x k x C
  pixel patches of the two sets (pooled over all images), projected on the real set's first
  principal components -- the set version of `kerasgan.metrics.sifid.patch_statistic_distance`:

      d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).

  It sees local texture and contrast: a blurred real set scores above 0 and more with sigma.
- `sharpness_ratio`: mean Sobel gradient magnitude of the generated set over that of the real
  set (on the foreground where masks are given): 1 when as sharp, < 1 when blurrier.
- `intensity_wasserstein`: Wasserstein-1 distance between the pooled pixel-intensity
  distributions (per channel, then the channel mean). Chosen over a binned chi-square because
  it needs no bin count, does not saturate when two histograms do not overlap, and is in
  intensity units (a shift of every pixel by t gives exactly t).
- diversity: `kerasgan.metrics.diversity.mean_pairwise_l1` of each set (compare with the real
  set's own).

All images are scaled to [0, 1] first (uint8 / 255; floats from the `value_range` they are in,
e.g. (-1, 1) for generator outputs, which floats must state), so every distance is in
[0, 1]-intensity units. uint8 and float sets may be mixed (real uint8, generated float).
"""

import numpy as np
from scipy import ndimage, stats

from kerasgan.metrics.diversity import mean_pairwise_l1
from kerasgan.metrics.sifid import _patches, _statistics, frechet_distance

_SOBEL_ROWS = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]).reshape(1, 3, 3, 1)
ROWS = ("generated", "blurred_real", "held_out_real")
METRICS = ("patch_frechet_distance", "sharpness_ratio", "intensity_wasserstein", "diversity_l1")


def as_unit_images(images, name, value_range=None, min_count=1):
    """N x H x W [x C] uint8 or float images -> float64 N x H x W x C in [0, 1].

    uint8 is divided by 255; floats need `value_range` (no default: [0, 1] images read as
    [-1, 1] would be silently wrong) and must lie in it (1e-3 of its span tolerated).
    """
    array = np.asarray(images)
    if array.dtype == object or not (array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be uint8 or float images, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(f"{name} must be N x H x W or N x H x W x C images, got shape {array.shape}")
    if array.shape[0] < min_count:
        raise ValueError(f"{name} is empty or too small: {array.shape[0]} image(s), need at least {min_count}")
    if 0 in array.shape[1:]:
        raise ValueError(f"{name} has an empty dimension: shape {array.shape}")
    if array.dtype == np.uint8:  # value_range describes float sets only
        return array.astype(np.float64) / 255.0
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if value_range is None:
        raise ValueError(f"{name} is {array.dtype}: pass value_range=(low, high), the range its values "
                         "are in (e.g. (-1, 1) for generator outputs); only uint8 implies (0, 255)")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    tolerance = 1e-3 * (high - low)
    if array.min() < low - tolerance or array.max() > high + tolerance:
        raise ValueError(f"{name} has values in [{array.min():.4g}, {array.max():.4g}], outside its "
                         f"value_range ({low:g}, {high:g}); pass the range the images are in")
    return np.clip((array - low) / (high - low), 0.0, 1.0)


def _as_mask(mask, images, name):
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 4 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.shape != images.shape[:3]:
        raise ValueError(f"{name} must be N x H x W = {images.shape[:3]} like its images, got {mask.shape}")
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number) or not np.all(np.isin(mask, (0, 1))):
            raise ValueError(f"{name} must be boolean or 0/1")
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError(f"{name} selects no pixel")
    return mask


def _check_same_layout(first, second, first_name, second_name):
    if first.shape[1:] != second.shape[1:]:
        raise ValueError(f"{first_name} are H x W x C = {first.shape[1:]} but {second_name} are "
                         f"{second.shape[1:]}; realism compares sets of the same image layout")


def gradient_magnitude(images):
    """Sobel gradient magnitude of unit images N x H x W x C, per channel, in intensity/pixel.

    The Sobel kernel (derivative [-1, 0, 1] times smoothing [1, 2, 1], borders reflected) is
    divided by 8, so a ramp of slope s gives s and a step of height h gives h / 2 on the two
    pixels beside it.
    """
    # ndimage.sobel on the 4-D batch would also smooth across images and channels, so the 3 x 3
    # kernel is applied as a (1, 3, 3, 1) correlation: each image and channel on its own.
    along_rows = ndimage.correlate(images, _SOBEL_ROWS, mode="reflect") / 8.0
    along_columns = ndimage.correlate(images, _SOBEL_ROWS.transpose(0, 2, 1, 3), mode="reflect") / 8.0
    return np.hypot(along_rows, along_columns)


def mean_gradient_magnitude(images, mask=None, value_range=None):
    """Mean Sobel gradient magnitude (`gradient_magnitude`), over the mask's pixels if given."""
    images = as_unit_images(images, "images", value_range)
    mask = _as_mask(mask, images, "mask")
    magnitude = gradient_magnitude(images).mean(axis=-1)
    return float(magnitude[mask].mean() if mask is not None else magnitude.mean())


def sharpness_ratio(generated, real, generated_mask=None, real_mask=None, value_range=None):
    """mean |grad generated| / mean |grad real| (Sobel; on each set's mask if given).

    1 when the generated set is as sharp as the real one, < 1 when blurrier.
    """
    generated = as_unit_images(generated, "generated", value_range)
    real = as_unit_images(real, "real", value_range)
    _check_same_layout(generated, real, "generated", "real")
    return _sharpness_ratio(generated, real, _as_mask(generated_mask, generated, "generated_mask"),
                            _as_mask(real_mask, real, "real_mask"))


def _sharpness_ratio(generated, real, generated_mask, real_mask):
    def mean_magnitude(images, mask):
        magnitude = gradient_magnitude(images).mean(axis=-1)
        return magnitude[mask].mean() if mask is not None else magnitude.mean()

    denominator = mean_magnitude(real, real_mask)
    if denominator <= 0:
        raise ValueError("real images have no gradient (constant), so no sharpness ratio exists")
    return float(mean_magnitude(generated, generated_mask) / denominator)


def intensity_wasserstein(generated, real, value_range=None, max_values=2_000_000, seed=0):
    """Wasserstein-1 distance between the pooled pixel intensities, mean over channels.

    scipy.stats.wasserstein_distance on the [0, 1] intensities of every pixel of each set (at
    most `max_values` random pixels per channel and set). Equal distributions give 0; shifting
    every pixel by t gives t.
    """
    generated = as_unit_images(generated, "generated", value_range)
    real = as_unit_images(real, "real", value_range)
    _check_same_layout(generated, real, "generated", "real")
    return _intensity_wasserstein(generated, real, max_values, seed)


def _intensity_wasserstein(generated, real, max_values, seed):
    rng = np.random.default_rng(seed)

    def values(images, channel):
        flat = images[..., channel].ravel()
        return flat if flat.size <= max_values else rng.choice(flat, size=int(max_values), replace=False)

    channels = generated.shape[-1]
    return float(np.mean([stats.wasserstein_distance(values(generated, c), values(real, c))
                          for c in range(channels)]))


def _pooled_patches(images, patch_size, max_patches, rng):
    patches = np.concatenate([_patches(image, patch_size, 1) for image in images])
    if len(patches) > max_patches:
        patches = patches[rng.choice(len(patches), size=int(max_patches), replace=False)]
    return patches.astype(np.float64)


def patch_frechet_distance(generated, real, patch_size=7, components=16, max_patches=40_000, seed=0,
                           value_range=None):
    """Fréchet distance between the k x k x C patch statistics of two image sets.

    Every `patch_size` x `patch_size` x C patch (stride 1) of every image is a sample; at most
    `max_patches` random patches per set are kept. Patches are centred on the real set's mean
    patch and projected on its first `components` principal directions; the Gaussians fitted
    to both projections are compared with `kerasgan.metrics.sifid.frechet_distance`
    (d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))), in [0, 1]-intensity units
    squared. 0 for identical sets; not comparable with SIFID or across patch sizes.
    """
    generated = as_unit_images(generated, "generated", value_range)
    real = as_unit_images(real, "real", value_range)
    _check_same_layout(generated, real, "generated", "real")
    return _patch_frechet_distance(generated, real, patch_size, components, max_patches, seed)


def _patch_frechet_distance(generated, real, patch_size, components, max_patches, seed):
    return _PatchStatistics(real, patch_size, components, max_patches, seed).distance(generated)


class _PatchStatistics:
    """The real set's patch Gaussian in its principal basis, fitted once for several sets.

    The principal directions are the eigenvectors of the patch covariance (numpy.linalg.eigh
    of a D x D matrix, D = k*k*C): the same directions as an SVD of the centred patches, at a
    fraction of the cost for the tens of thousands of patches of a set.
    """

    def __init__(self, real, patch_size, components, max_patches, seed):
        if min(real.shape[1:3]) < patch_size:
            raise ValueError(f"images {real.shape[1]}x{real.shape[2]} are smaller than patch_size={patch_size}")
        self.patch_size, self.max_patches, self.seed = patch_size, max_patches, seed
        patches = _pooled_patches(real, patch_size, max_patches, np.random.default_rng(seed))
        self.centre = patches.mean(axis=0)
        _, directions = np.linalg.eigh(np.atleast_2d(np.cov(patches - self.centre, rowvar=False)))
        self.basis = directions[:, ::-1][:, : min(components, directions.shape[1])]
        self.mean, self.covariance = _statistics((patches - self.centre) @ self.basis)

    def distance(self, images):
        patches = _pooled_patches(images, self.patch_size, self.max_patches, np.random.default_rng(self.seed + 1))
        mean, covariance = _statistics((patches - self.centre) @ self.basis)
        return frechet_distance(self.mean, self.covariance, mean, covariance)


def blur(images, sigma):
    """Gaussian blur of unit images N x H x W x C with `sigma` pixels along H and W only."""
    if not sigma > 0:
        raise ValueError(f"reference_blur_sigma must be > 0, got {sigma}")
    return ndimage.gaussian_filter(images, sigma=(0, float(sigma), float(sigma), 0), mode="reflect")


def realism_report(generated, real, reference_blur_sigma=1.0, *, second_real=None, generated_mask=None,
                   real_mask=None, second_real_mask=None, value_range=None, patch_size=7, components=16,
                   max_patches=40_000, diversity_pairs=2000, seed=0):
    """The four realism numbers for `generated` beside two reference rows, all against `real`.

    Rows (each compared with `real`):
      - "generated": the generated set;
      - "blurred_real": `second_real` blurred with `reference_blur_sigma` (Gaussian, pixels):
        what a generator that is right but blurry by sigma would score;
      - "held_out_real": `second_real` itself, the floor that sampling alone gives.
    Without `second_real`, `real` is split in two halves: the first is the reference, the
    second plays `second_real`. Masks (N x H x W, boolean) restrict the sharpness ratio to the
    foreground; the other numbers use whole images.

    Returns {"rows": {row: {metric: value}}, "real_diversity_l1", "settings"}.
    """
    generated = as_unit_images(generated, "generated", value_range, min_count=2)
    real = as_unit_images(real, "real", value_range, min_count=2)
    _check_same_layout(generated, real, "generated", "real")
    generated_mask = _as_mask(generated_mask, generated, "generated_mask")
    real_mask = _as_mask(real_mask, real, "real_mask")
    if second_real is None:
        if second_real_mask is not None:
            raise ValueError("second_real_mask given without second_real")
        if len(real) < 4:
            raise ValueError(f"real has {len(real)} images; splitting it into a reference and a held-out "
                             "half needs at least 4 (or pass second_real)")
        half = len(real) // 2
        second_real, second_real_mask = real[half:], None if real_mask is None else real_mask[half:]
        real, real_mask = real[:half], None if real_mask is None else real_mask[:half]
    else:
        second_real = as_unit_images(second_real, "second_real", value_range, min_count=2)
        _check_same_layout(second_real, real, "second_real", "real")
        second_real_mask = _as_mask(second_real_mask, second_real, "second_real_mask")
    if len({mask is None for mask in (generated_mask, real_mask, second_real_mask)}) > 1:
        raise ValueError("give masks for all sets or for none (generated_mask, real_mask, second_real_mask): "
                         "a sharpness ratio of masked over unmasked pixels is not a ratio of like with like")
    blurred = blur(second_real, reference_blur_sigma)
    candidates = {"generated": (generated, generated_mask), "blurred_real": (blurred, second_real_mask),
                  "held_out_real": (second_real, second_real_mask)}
    real_patches = _PatchStatistics(real, patch_size, components, max_patches, seed)
    rows = {}
    for row, (images, mask) in candidates.items():
        rows[row] = {
            "patch_frechet_distance": real_patches.distance(images),
            "sharpness_ratio": _sharpness_ratio(images, real, mask, real_mask),
            "intensity_wasserstein": _intensity_wasserstein(images, real, 2_000_000, seed),
            "diversity_l1": mean_pairwise_l1(images, max_pairs=diversity_pairs, seed=seed),
        }
    return {
        "rows": rows,
        "real_diversity_l1": mean_pairwise_l1(real, max_pairs=diversity_pairs, seed=seed),
        "settings": {"reference_blur_sigma": float(reference_blur_sigma), "patch_size": int(patch_size),
                     "components": int(components), "max_patches": int(max_patches),
                     "masked_sharpness": real_mask is not None, "generated_count": int(len(generated)),
                     "real_count": int(len(real)), "second_real_count": int(len(second_real)),
                     "image_shape": list(real.shape[1:]), "units": "[0, 1] intensity"},
    }


def format_realism_table(report, title="realism"):
    """A Markdown table of `realism_report`'s rows (one per row, one column per metric)."""
    if not isinstance(report, dict) or "rows" not in report:
        raise TypeError("report must be the dict realism_report returns")
    sigma = report["settings"]["reference_blur_sigma"]
    labels = {"generated": "generated", "blurred_real": f"held-out real, blurred sigma {sigma:g}",
              "held_out_real": "held-out real (floor)"}
    lines = [f"{title} (against {report['settings']['real_count']} real images; real diversity L1 "
             f"{report['real_diversity_l1']:.4f})",
             "| set | patch Fréchet | sharpness ratio | intensity W1 | diversity L1 |",
             "|---|---|---|---|---|"]
    for row, values in report["rows"].items():
        lines.append(f"| {labels.get(row, row)} | {values['patch_frechet_distance']:.5f} | "
                     f"{values['sharpness_ratio']:.3f} | {values['intensity_wasserstein']:.4f} | "
                     f"{values['diversity_l1']:.4f} |")
    return "\n".join(lines)
