"""Image transforms on numpy arrays (H x W x C): value ranges, padding, resizing, structure maps.

The tf.data pipelines in `kerasgan.data` use the TensorFlow equivalents; these are for
preparing single images, user data and outputs.
"""

import cv2
import numpy as np

from kerasgan.data.image_io import to_unit_float


def to_minus_one_one(image, name="image"):
    """An image by the value-range rule of `to_unit_float` -> float32 in [-1, 1], the GANs' range."""
    return to_unit_float(image, name) * 2.0 - 1.0


def from_minus_one_one(image, name="image"):
    """[-1, 1] -> float32 [0, 1] (clipped). NaN or inf raise ValueError (a generator that
    diverged must not be written as a black image)."""
    array = np.asarray(image)
    if array.dtype == object or not (array.dtype == bool or np.issubdtype(array.dtype, np.number)) \
            or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} has {bad} NaN or infinite value(s); it cannot be written as an image")
    return np.clip((array + 1.0) * 0.5, 0.0, 1.0)


def to_uint8(image, name="image"):
    """[-1, 1] generator output -> uint8 [0, 255]; NaN/inf raise ValueError naming `name`."""
    return np.round(from_minus_one_one(image, name) * 255.0).astype(np.uint8)


def _check_image(image, name="image"):
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"{name} must be H x W or H x W x C, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"{name} is empty: shape {image.shape}")
    return image


def pad_to_square(image, value=None):
    """Pad the shorter side symmetrically so the image is square.

    `value`: fill value; default the image's brightest value (a light background).
    """
    image = _check_image(image)
    height, width = image.shape[:2]
    size = max(height, width)
    if value is None:
        value = image.max()
    top = (size - height) // 2
    left = (size - width) // 2
    padding = ((top, size - height - top), (left, size - width - left), (0, 0))
    return np.pad(image, padding, mode="constant", constant_values=value)


def resize(image, size, interpolation="area"):
    """Resize to `size` (int for square, or (height, width)); area for shrinking, linear otherwise."""
    image = _check_image(image)
    from kerasgan._args import check_int

    if isinstance(size, (str, bytes)) or (not np.isscalar(size) and len(tuple(size)) != 2):
        raise TypeError(f"resize size must be an int or (height, width), got {size!r}")
    height, width = (size, size) if np.isscalar(size) else tuple(size)
    height, width = check_int(height, "resize size"), check_int(width, "resize size")
    modes = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST,
             "cubic": cv2.INTER_CUBIC}
    if interpolation not in modes:
        raise ValueError(f"interpolation must be one of {tuple(modes)}, got {interpolation!r}")
    mode = modes[interpolation]
    if interpolation == "area" and (height > image.shape[0] or width > image.shape[1]):
        mode = cv2.INTER_LINEAR
    dtype = image.dtype
    work = image.astype(np.float32) if dtype not in (np.uint8, np.uint16, np.float32) else image
    # OpenCV resizes at most 4 channels at once; stacked modalities can have more.
    chunks = []
    for start in range(0, work.shape[-1], 4):
        chunk = cv2.resize(np.ascontiguousarray(work[..., start:start + 4]), (width, height), interpolation=mode)
        chunks.append(chunk[..., None] if chunk.ndim == 2 else chunk)
    resized = np.concatenate(chunks, axis=-1)
    if dtype == np.bool_:
        return resized >= 0.5
    return resized.astype(dtype, copy=False)


def structure_map(image, threshold="otsu", polarity="dark"):
    """Binary structure map of a tissue image by thresholding (Allender et al., section 3).

    Dark structures (stained nuclei, membranes) on a light background become 1.
    Args:
        image: H x W (x C) tissue image, uint8/uint16/float in [0, 1].
        threshold: a float in [0, 1] on the grey level (skimage.color.rgb2gray of the image in
            [0, 1]), or "otsu" for this image's own Otsu threshold. To condition a trained
            model, use the threshold its training maps were cut at, stored with it (zoo:
            `kerasgan.glomeruli.data.zoo_structure_threshold()`; a run: OUT/preprocessing.json),
            not a per-patch Otsu (issue 14).
        polarity: "dark" (dark structures are 1) or "bright".
    Returns: float32 H x W x 1 in {0, 1}.
    """
    from kerasgan.glomeruli.structure import structure_map as _structure_map

    return _structure_map(image, threshold=threshold, polarity=polarity)
