"""Unsupervised nucleus masks for cytology images (SynCGAN section 3.2, after Kowal et al. 2011).

    1. histogram stretching of each RGB channel (percentiles -> [0, 1]);
    2. grayscale;
    3. adaptive thresholding: a pixel is a candidate if it is darker than its Gaussian-weighted
       neighbourhood by `offset` (nuclei, but also red cells and cytoplasm edges pass);
    4. Gaussian-mixture refinement: a GMM on the colour of the candidate pixels of each image;
       the darkest component is nuclei, the others (red cells, cytoplasm) are dropped;
    5. clean-up: fill holes, drop specks smaller than `min_size` pixels.

Every step but the mixture fit runs on the whole batch at once (numpy / scipy.ndimage with
per-image structuring elements); the mixture is fitted per image (scikit-learn) because stain
and exposure vary between slides.
"""

import numpy as np
from scipy import ndimage
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from kerasgan.data.image_io import to_unit_float

# Luminance weights (ITU-R BT.601), as cv2/skimage use for RGB -> gray.
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


def _as_batch(images):
    images = np.asarray(images)
    if images.dtype == object:
        raise TypeError("images must be one numeric array (N, H, W, 3); got an object array "
                        "(images of different sizes? resize them first)")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be RGB, shape (N, H, W, 3) or (H, W, 3); got {images.shape}")
    if images.shape[0] == 0:
        raise ValueError("images is empty (0 images)")
    return to_unit_float(images)


def stretch_histogram(images, percentiles=(1.0, 99.0)):
    """Linear contrast stretch per image and channel: the given percentiles map to 0 and 1."""
    low, high = percentiles
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"stretch percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    images = _as_batch(images)
    lower = np.percentile(images, low, axis=(1, 2), keepdims=True)
    upper = np.percentile(images, high, axis=(1, 2), keepdims=True)
    return np.clip((images - lower) / np.maximum(upper - lower, 1e-6), 0.0, 1.0).astype(np.float32)


def _plane_structure(radius=1):
    """A 3-D structuring element that connects pixels within an image, never across the batch."""
    size = 2 * radius + 1
    structure = np.zeros((3, size, size), bool)
    structure[1] = True
    return structure


def _refine_with_mixtures(stretched, candidates, nuclei, components, max_pixels, rng, seed):
    """Per image: GMM on candidate colours; the darkest component's pixels are nuclei."""
    for index in range(len(stretched)):
        pixels = stretched[index][candidates[index]]
        if len(pixels) < 2 * components:
            continue
        sample = pixels
        if len(pixels) > max_pixels:
            sample = pixels[rng.choice(len(pixels), max_pixels, replace=False)]
        mixture = GaussianMixture(
            components, covariance_type="full", reg_covar=1e-4, random_state=seed
        ).fit(sample)
        darkest = int(np.argmin(mixture.means_ @ GRAY_WEIGHTS))
        nuclei[index][candidates[index]] = mixture.predict(pixels) == darkest


def nucleus_masks(
    images,
    stretch_percentiles=(1.0, 99.0),
    block_size=None,
    offset=0.02,
    mixture_components=3,
    min_size=None,
    max_mixture_pixels=20000,
    seed=0,
):
    """Binary nucleus masks of RGB cytology images, with no annotation.

    Args:
        images: (N, H, W, 3) or (H, W, 3); uint8, uint16 or float in [0, 1].
        stretch_percentiles: percentiles mapped to 0 and 1 by the histogram stretch.
        block_size: neighbourhood of the adaptive threshold in pixels (the Gaussian's sigma is
            block_size / 4). Default: half the shorter side (at least 15 px), so a nucleus,
            even in a crowded group, is darker than its surroundings as a whole, not only at
            its rim.
        offset: how much darker than its neighbourhood (gray levels in [0, 1]) a candidate is.
        mixture_components: components of the per-image Gaussian mixture on candidate colours
            (3: nuclei, red cells, cytoplasm); the darkest one is nuclei.
        min_size: smallest nucleus kept, in pixels; default 0.05 % of the image area (>= 4).
        max_mixture_pixels: candidate pixels sampled per image to fit the mixture.
        seed: seed of the pixel sampling and the mixture initialisation.

    Returns:
        uint8 masks (N, H, W, 1) in {0, 1} (or (H, W, 1) for a single image).
    """
    single = np.asarray(images).ndim == 3
    stretched = stretch_histogram(images, stretch_percentiles)
    count, height, width, _ = stretched.shape
    if mixture_components < 2:
        raise ValueError(f"mixture_components must be >= 2 (nuclei vs the rest), got {mixture_components}")
    if block_size is None:
        block_size = max(min(height, width) // 2, 15)
    if block_size < 3:
        raise ValueError(f"block_size must be >= 3 pixels, got {block_size}")
    if min_size is None:
        min_size = max(int(round(5e-4 * height * width)), 4)

    gray = stretched @ GRAY_WEIGHTS
    local = ndimage.gaussian_filter(gray, sigma=(0, block_size / 4.0, block_size / 4.0), mode="reflect")
    candidates = gray < local - offset

    rng = np.random.default_rng(seed)
    nuclei = np.zeros_like(candidates)
    # The mixtures are tiny (3 x 3 covariances): multi-threaded BLAS only spins and, on a busy
    # machine, makes each fit ~100x slower.
    with threadpool_limits(limits=1):
        _refine_with_mixtures(stretched, candidates, nuclei, mixture_components, max_mixture_pixels, rng, seed)

    structure = _plane_structure()
    # Pad the batch axis so no image touches the array's border along it (fill_holes would
    # otherwise treat every pixel of the first and last image as border).
    padded = np.pad(nuclei, ((1, 1), (0, 0), (0, 0)))
    filled = ndimage.binary_fill_holes(padded, structure=structure)[1:-1]
    opened = ndimage.binary_opening(filled, structure=structure)
    labels, _ = ndimage.label(opened, structure=structure)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_size
    keep[0] = False
    masks = keep[labels].astype(np.uint8)[..., None]
    return masks[0] if single else masks


def dice(prediction, target):
    """Dice 2|A n B| / (|A| + |B|) of binary masks, per image (N,) for (N, H, W, 1) input."""
    from kerasgan.metrics import dice as mask_dice

    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction {prediction.shape} and target {target.shape} differ in shape")
    if prediction.ndim != 4:
        return mask_dice(prediction, target)
    return np.array([mask_dice(p, t) for p, t in zip(prediction, target)])
