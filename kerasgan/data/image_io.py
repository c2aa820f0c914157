"""Reading and writing image files with errors that name the file.

OpenCV decodes PNG, JPEG, TIFF and BMP, 8- and 16-bit, grayscale or colour, without a
round trip through PIL; images come back as RGB (not OpenCV's BGR), H x W x C, dtype kept.
"""

import os
import pathlib
import tempfile

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _describe(path):
    return f"'{os.fspath(path)}'"


def list_images(folder, recursive=False):
    """Sorted image files (by extension, case-insensitive) in a folder.

    Raises FileNotFoundError if the folder does not exist, NotADirectoryError if it is a file.
    """
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"image folder {_describe(folder)} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"{_describe(folder)} is not a folder")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )


def decode_image(data, source="<bytes>", channels=None):
    """Decode encoded image bytes to an H x W x C array (RGB order); errors name `source`."""
    if len(data) == 0:
        raise ValueError(f"image file {source} is empty (0 bytes)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(
            f"cannot decode image file {source}: not a readable PNG/JPEG/TIFF/BMP "
            "(truncated, corrupt, or another format with an image extension)"
        )
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image file {source} decodes to {image.ndim} dimensions; expected 2-D")
    if image.shape[-1] == 3:
        image = image[..., ::-1]
    elif image.shape[-1] == 4:
        image = image[..., [2, 1, 0, 3]]
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        image = image.astype(np.float32)
    image = np.ascontiguousarray(image)
    return convert_channels(image, channels, source)


def convert_channels(image, channels, source="image"):
    """Convert an H x W x C array to `channels` (1 or 3; None keeps it). Alpha is dropped."""
    if channels is None:
        return image
    have = image.shape[-1]
    if have == channels:
        return image
    if have == 4:
        image, have = image[..., :3], 3
        if channels == 3:
            return np.ascontiguousarray(image)
    if have == 3 and channels == 1:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return gray[..., None]
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=-1)
    raise ValueError(f"{source} has {have} channels; cannot convert to {channels}")


def read_image(path, channels=None):
    """Read an image file as an H x W x C numpy array (uint8, uint16 or float32 kept).

    Args:
        path: file path (str or Path; spaces and non-ASCII characters are fine).
        channels: None keeps the file's channels; 1 converts to grayscale, 3 to RGB.
    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, cannot be decoded, or has unsupported channels.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file {_describe(path)} does not exist")
    if path.is_dir():
        raise ValueError(f"{_describe(path)} is a folder, not an image file")
    # Bytes then imdecode: cv2.imread cannot open non-ASCII paths on every platform.
    return decode_image(path.read_bytes(), _describe(path), channels)


def to_unit_float(image):
    """Scale an image to float32 in [0, 1] by its dtype's range (uint8 /255, uint16 /65535).

    Float input is taken as already in [0, 1] and clipped; NaN, inf or an empty array raise
    ValueError.
    """
    image = np.asarray(image)
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if image.dtype == bool:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        raise TypeError(f"unsupported integer image dtype {image.dtype}; use uint8 or uint16")
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"unsupported image dtype {image.dtype}")
    if image.size and not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values")
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def atomic_write_bytes(path, data):
    """Write bytes to `path` via a temporary file in the same folder and a rename.

    A reader never sees a half-written file, and an interrupted write leaves the old file.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the permissions an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_image(path, image):
    """Write an image atomically; the format follows the extension (PNG keeps uint16).

    Float images are taken in [0, 1] and stored as uint8.
    """
    path = pathlib.Path(path)
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"cannot write {_describe(path)}: expected H x W x 1/3/4, got {image.shape}")
    if image.dtype not in (np.uint8, np.uint16):
        image = np.round(to_unit_float(image) * 255.0).astype(np.uint8)
    if image.shape[-1] == 3:
        image = image[..., ::-1]
    elif image.shape[-1] == 4:
        image = image[..., [2, 1, 0, 3]]
    extension = path.suffix.lower() or ".png"
    ok, encoded = cv2.imencode(extension, np.ascontiguousarray(image))
    if not ok:
        raise ValueError(f"cannot encode {_describe(path)} as {extension}")
    atomic_write_bytes(path, encoded.tobytes())
    return path
