"""Image sets for SynCGAN: a class-per-subfolder loader and in-memory image preparation.

    ROOT/benign/*.png
    ROOT/malignant/*.jpg        -> images (N, S, S, 3) uint8, labels (N,), class names

Images may have any size: each is resized to S x S (area interpolation when shrinking; the
aspect ratio is not kept, as FNAC fields of view are photographed whole). Files are read with
`kerasgan.data.image_io` (PNG, JPEG, TIFF incl. 16-bit, BMP).
"""

import pathlib

import numpy as np

from kerasgan.data.image_io import list_images, read_image, to_unit_float
from kerasgan.transforms import resize


def _to_rgb_uint8(image, source):
    """H x W x C (uint8/uint16/float) -> H x W x 3 uint8; grayscale is repeated, alpha dropped."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{source}: expected an H x W x 3 RGB image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{source}: image is empty (shape {image.shape})")
    if image.shape[-1] == 4:
        image = image[..., :3]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if image.dtype != np.uint8:
        image = np.round(to_unit_float(image) * 255.0).astype(np.uint8)
    return image


def prepare_images(images, image_size, name="images"):
    """Any RGB images (one array (N, H, W, 3) or a list of H x W x 3 arrays of any sizes,
    uint8/uint16/float in [0, 1]) -> uint8 (N, S, S, 3)."""
    if isinstance(images, np.ndarray) and images.dtype != object:
        if images.ndim != 4:
            raise ValueError(f"{name} must have shape (N, H, W, 3), got {images.shape}")
        sequence = list(images)
    else:
        sequence = list(images)
    if not sequence:
        raise ValueError(f"{name} is empty: no images")
    channels = {np.asarray(image).shape[-1] if np.asarray(image).ndim == 3 else 1 for image in sequence}
    if len(channels) > 1:
        raise ValueError(
            f"{name} mix images with different channel counts {sorted(channels)}; give all RGB "
            "(3 channels) or all grayscale"
        )
    prepared = []
    for index, image in enumerate(sequence):
        image = np.asarray(image)
        if np.issubdtype(image.dtype, np.floating) and not np.all(np.isfinite(image)):
            raise ValueError(f"{name}[{index}] contains NaN or infinite values")
        image = _to_rgb_uint8(image, f"{name}[{index}]")
        if image.shape[:2] != (image_size, image_size):
            image = resize(image, image_size)
        prepared.append(image)
    return np.stack(prepared)


def load_image_folders(root, image_size=256, classes=None):
    """Load ROOT/<class>/* images, one class per subfolder.

    Args:
        root: folder holding one subfolder per class.
        image_size: side S every image is resized to.
        classes: class (subfolder) names in label order; default every subfolder, sorted.

    Returns:
        images (N, S, S, 3) uint8, labels (N,) int32 (index into `classes`), classes (list),
        paths (list of pathlib.Path, same order).

    Raises:
        FileNotFoundError: `root` or a named class folder does not exist.
        ValueError: fewer than two classes, a class folder without images, images with
            different channel counts (e.g. grayscale mixed with RGB), an unreadable file.
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder '{root}' does not exist or is not a folder")
    if classes is None:
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple)):
        # list("ab") would silently read the class folders a/ and b/.
        raise TypeError(f"classes must be a list or tuple of subfolder names, got "
                        f"{type(classes).__name__} {classes!r}")
    classes = list(classes)
    if len(classes) < 2:
        raise ValueError(
            f"data folder '{root}' has {len(classes)} class subfolder(s) {classes}; a classifier "
            "study needs at least two (e.g. ROOT/benign/ and ROOT/malignant/)"
        )
    paths, labels = [], []
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise FileNotFoundError(f"class folder '{folder}' does not exist")
        files = list_images(folder)
        if not files:
            raise ValueError(
                f"class folder '{folder}' has no images (.png .jpg .jpeg .tif .tiff .bmp)"
            )
        paths.extend(files)
        labels.extend([index] * len(files))

    raw, channel_examples = [], {}
    for path in paths:
        image = read_image(path)
        channel_examples.setdefault(image.shape[-1], path)
        raw.append(image)
    if len(channel_examples) > 1:
        examples = ", ".join(f"{count} channel(s): '{path}'" for count, path in sorted(channel_examples.items()))
        raise ValueError(
            f"images under '{root}' have mixed channel counts ({examples}); convert them all to "
            "RGB first"
        )
    images = np.stack([
        resize(_to_rgb_uint8(image, f"'{path}'"), image_size) for image, path in zip(raw, paths)
    ])
    return images, np.asarray(labels, np.int32), classes, paths
