"""Image transforms on numpy arrays (H x W x C): value ranges, padding, resizing, structure maps,
channel stacks.

The tf.data pipelines in `kerasgan.data` use the TensorFlow equivalents; these are for
preparing single images, user data and outputs.
"""

import numbers

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


STRUCTURE_POLARITIES = ("dark", "bright")


def _grey_level(image):
    """H x W (x 1/3/4) image -> float32 grey level in [0, 1] (luminance for RGB, alpha dropped)."""
    from kerasgan.data.image_io import to_unit_float

    array = np.asarray(image)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise TypeError(f"structure_map: image must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(
            f"structure_map: image must be H x W or H x W x C (one image), got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"structure_map: image is empty (shape {array.shape})")
    if array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"structure_map: image must have 1, 3 or 4 channels, got {array.shape[-1]} "
            f"(shape {array.shape})"
        )
    try:
        unit = to_unit_float(array)
    except ValueError as error:
        raise ValueError(f"structure_map: image {error}") from None
    if array.shape[-1] == 1:
        return unit[..., 0]
    from skimage.color import rgb2gray

    return rgb2gray(unit[..., :3]).astype(np.float32)


def structure_map(image, threshold="otsu", polarity="dark"):
    """Binary structure map of a tissue image by thresholding its grey level.

    With the default `polarity="dark"`, stained structures (nuclei, membranes, stroma) that are
    darker than the threshold become 1 and the light background 0 (bright-field histology);
    `polarity="bright"` is for fluorescence, where structures are bright.

    Args:
        image: H x W or H x W x C (C = 1, 3 or 4), uint8 / uint16 / bool, or float in [0, 1].
        threshold: "otsu" (Otsu's threshold of this image's grey levels) or a float in [0, 1]
            on the grey level.
        polarity: "dark" or "bright", which side of the threshold is structure.
    Returns:
        float32 array H x W x 1 with values in {0, 1}.
    Raises:
        ValueError: bad shape, empty or NaN image, threshold outside [0, 1] or an unknown
            name, or a uniform image with `threshold="otsu"` (no threshold separates it).
        TypeError: non-numeric image or threshold.
    """
    if polarity not in STRUCTURE_POLARITIES:
        raise ValueError(f"structure_map: polarity must be one of {STRUCTURE_POLARITIES}, got {polarity!r}")
    grey = _grey_level(image)
    if isinstance(threshold, str):
        if threshold != "otsu":
            raise ValueError(
                f"structure_map: threshold must be 'otsu' or a float in [0, 1], got {threshold!r}"
            )
        if float(grey.max()) - float(grey.min()) <= 0.0:
            raise ValueError(
                "structure_map: image is uniform (every pixel has grey level "
                f"{float(grey.min()):.4f}); Otsu's threshold is undefined: pass a float threshold"
            )
        from skimage.filters import threshold_otsu

        level = float(threshold_otsu(grey))
    elif isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
        level = float(threshold)
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"structure_map: a float threshold must be in [0, 1], got {threshold}")
    else:
        raise TypeError(
            f"structure_map: threshold must be 'otsu' or a float in [0, 1], got "
            f"{type(threshold).__name__}"
        )
    # Otsu's level is the upper end of the darker class, so "dark" takes <= it.
    structure = grey <= level if polarity == "dark" else grey > level
    return structure.astype(np.float32)[..., None]


def split_channels(images, layout):
    """Split (..., C) arrays into {name: (..., c)} by `layout` {name: c} (from `stack_channels`)."""
    array = np.asarray(images)
    total = sum(int(c) for c in layout.values())
    if array.shape[-1] != total:
        raise ValueError(f"images have {array.shape[-1]} channels but the layout {dict(layout)} has {total}")
    parts, start = {}, 0
    for name, count in layout.items():
        parts[name] = array[..., start:start + int(count)]
        start += int(count)
    return parts
