"""Does a generated mask channel line up with its generated image?  And is a sample a copy?

For a SinGAN trained on an image stacked with a tissue mask (MediSinGAN), each sample carries
its own mask. Two numbers check it without any network:

- `mask_image_dice`: Dice between the sample's mask after the documented threshold
  (mask channel > `mask_threshold`, 0 = the midpoint of the [-1, 1] mask scale) and a
  threshold of the SAME sample's image channel (image > `intensity_threshold`). The intensity
  threshold is fitted once, on the real training slice, by `fit_intensity_threshold` (the value
  whose threshold agrees best with the real mask), then kept fixed for every set scored.
  White matter is the brightest tissue of a T1 image, so a generated WM mask that lines up with
  its image scores like the real slice; a mask that does not follow the image scores lower.
  The baseline rows (`agreement_rows`): the real training slice, held-out real slices
  (same threshold), the generated masks paired with ANOTHER sample's image (shuffled pairs:
  what the agreement would be if masks and images were only similar in amount and layout, not
  aligned; uninformative when samples barely differ) and each generated mask shifted by 2 px
  against its own image (what a 2-px misalignment costs).
- `copy_distances`: root-mean-square distance of each sample to the training image, beside the
  distance of the model's reconstruction (its best attempt at the training image). Samples
  that are copies sit at or below the reconstruction's distance.

Dice(A, B) = 2 |A n B| / (|A| + |B|) (`kerasgan.metrics.segmentation.dice`).
"""

import numpy as np

from kerasgan.metrics.segmentation import dice


def _as_stack(images, name):
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"{name} must be H x W, N x H x W or N x H x W x 1, got shape {np.shape(images)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _as_binary(masks, name):
    array = np.asarray(masks)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[None]
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number) or not np.all(np.isin(array, (0, 1))):
            raise ValueError(f"{name} must be boolean or 0/1")
        array = array.astype(bool)
    return array


def binarize(mask_channel, threshold=0.0):
    """A generated mask channel (N x H x W [x 1], [-1, 1]) -> boolean, mask > threshold."""
    return _as_stack(mask_channel, "mask_channel") > threshold


def binary_fraction(mask_channel, margin=0.5):
    """Share of mask-channel values within `margin` of -1 or 1 (how binary a [-1, 1] channel is).

    1.0 for a channel holding only -1 and 1; resized real masks score below 1 at their edges.
    """
    values = _as_stack(mask_channel, "mask_channel")
    return float(np.mean(np.abs(values) >= 1.0 - margin))


def fit_intensity_threshold(image, mask, levels=256, value_range=(-1.0, 1.0)):
    """The intensity t for which (image > t) agrees best (Dice) with the real `mask`.

    `image` (H, W) and `mask` (H, W) boolean are the REAL training slice and its mask; t is
    searched on `levels` evenly spaced values of `value_range` (the midpoints between
    neighbouring levels, so no real pixel value is a tie). Returns (t, Dice at t).
    """
    image = _as_stack(image, "image")
    mask = _as_binary(mask, "mask")
    if image.shape != mask.shape:
        raise ValueError(f"image {image.shape} and mask {mask.shape} have different shapes")
    if not mask.any():
        raise ValueError("mask is empty: there is nothing to fit the threshold to")
    low, high = (float(v) for v in value_range)
    grid = np.linspace(low, high, int(levels))
    candidates = (grid[:-1] + grid[1:]) / 2.0
    scores = [dice(image > t, mask) for t in candidates]
    best = int(np.argmax(scores))  # the lowest t among equal scores
    return float(candidates[best]), float(scores[best])


def mask_image_dice(images, masks, intensity_threshold, mask_threshold=0.0):
    """Per-pair Dice between mask > mask_threshold and image > intensity_threshold.

    `images` and `masks`: N x H x W [x 1] float channels of the same samples (masks may also
    be boolean, then `mask_threshold` is not used). Returns an (N,) float array.
    """
    images = _as_stack(images, "images")
    masks = np.asarray(masks)
    binary = _as_binary(masks, "masks") if masks.dtype == bool else binarize(masks, mask_threshold)
    if images.shape != binary.shape:
        raise ValueError(f"images {images.shape} and masks {binary.shape} have different shapes")
    return np.array([dice(image > intensity_threshold, mask) for image, mask in zip(images, binary)])


def shuffled_pairs_dice(images, masks, intensity_threshold, mask_threshold=0.0):
    """The baseline of `mask_image_dice`: mask i scored against the image of sample (i + 1) mod N.

    Same amounts and similar layout, no pixel-wise alignment. Needs N >= 2.
    """
    images = _as_stack(images, "images")
    if len(images) < 2:
        raise ValueError("shuffled pairs need at least 2 samples")
    return mask_image_dice(np.roll(images, -1, axis=0), masks, intensity_threshold, mask_threshold)


def shifted_mask_dice(images, masks, intensity_threshold, shift=2, mask_threshold=0.0):
    """The sensitivity baseline of `mask_image_dice`: each mask moved `shift` pixels along the
    columns (np.roll, wrapping) against its own image: what a misalignment of `shift` px scores."""
    masks = np.asarray(masks)
    binary = _as_binary(masks, "masks") if masks.dtype == bool else binarize(masks, mask_threshold)
    return mask_image_dice(images, np.roll(binary, int(shift), axis=-1), intensity_threshold)


def _summary(values):
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "count": int(values.size)}


def agreement_rows(generated_images, generated_masks, real_image, real_mask, intensity_threshold,
                   held_out_images=None, held_out_masks=None, mask_threshold=0.0, shift=2):
    """The agreement table: generated pairs, shuffled generated pairs, generated masks shifted by
    `shift` px, the real training slice and held-out real slices, each {mean, std, min, count}
    of `mask_image_dice`.

    Real masks are boolean; generated masks are mask channels thresholded at `mask_threshold`.
    """
    rows = {
        "generated": _summary(mask_image_dice(generated_images, generated_masks, intensity_threshold,
                                              mask_threshold)),
        "generated_shuffled_pairs": _summary(shuffled_pairs_dice(generated_images, generated_masks,
                                                                 intensity_threshold, mask_threshold)),
        f"generated_mask_shifted_{int(shift)}px": _summary(shifted_mask_dice(
            generated_images, generated_masks, intensity_threshold, shift, mask_threshold)),
        "real_training_slice": _summary(mask_image_dice(real_image, np.asarray(real_mask, bool),
                                                        intensity_threshold)),
    }
    if held_out_images is not None:
        rows["held_out_real"] = _summary(mask_image_dice(held_out_images, np.asarray(held_out_masks, bool),
                                                         intensity_threshold))
    return rows


def rmse_to(images, reference):
    """Root-mean-square difference of each image (N x H x W x C) to `reference` (H x W x C)."""
    images = np.asarray(images, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if images.ndim == reference.ndim:
        images = images[None]
    if images.shape[1:] != reference.shape:
        raise ValueError(f"images {images.shape[1:]} and reference {reference.shape} have different shapes")
    return np.sqrt(np.mean((images - reference[None]) ** 2, axis=tuple(range(1, images.ndim))))


def copy_distances(samples, training_image, reconstruction):
    """Are samples copies?  RMSE of each sample to the training image vs the reconstruction's.

    Returns {"sample_rmse": {mean, std, min, count}, "reconstruction_rmse": float,
    "fraction_farther_than_reconstruction": share of samples whose RMSE exceeds the
    reconstruction's, "ratio_mean_to_reconstruction": mean sample RMSE / reconstruction RMSE}.
    """
    distances = rmse_to(samples, training_image)
    reconstruction_rmse = float(rmse_to(reconstruction, training_image)[0])
    return {
        "sample_rmse": _summary(distances),
        "reconstruction_rmse": reconstruction_rmse,
        "fraction_farther_than_reconstruction": float(np.mean(distances > reconstruction_rmse)),
        "ratio_mean_to_reconstruction": (float(distances.mean() / reconstruction_rmse)
                                         if reconstruction_rmse > 0 else float("inf")),
    }
