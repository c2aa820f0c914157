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
    if image.dtype == np.float64 or image.dtype == np.float16:
        image = image.astype(np.float32)  # integer dtypes are kept: to_unit_float scales them
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image file {source} is empty ({image.shape[0]}x{image.shape[1]} pixels)")
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
        if image.dtype in (np.uint8, np.uint16, np.float32):
            return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[..., None]
        # OpenCV converts only 8/16-bit unsigned and float32; the same weights for the rest.
        gray = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        if np.issubdtype(image.dtype, np.integer):
            gray = np.round(gray)
        return gray.astype(image.dtype)[..., None]
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=-1)
    raise ValueError(f"{source} has {have} channels; cannot convert to {channels}")


def read_image(path, channels=None):
    """Read an image file as an H x W x C numpy array (the file's integer dtype kept, floats as
    float32; scale it with `to_unit_float`, the one value-range rule).

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


# Floats this close outside [0, 1] are rounding noise of a [0, 1] image, not another range.
_UNIT_TOLERANCE = 1e-2


_PIL_CHANNELS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "I;16B": 1, "I;16L": 1, "I;16N": 1, "F": 1,
                 "RGB": 3, "RGBA": 3, "P": 3, "LA": 3, "PA": 3, "RGBX": 3}


def image_info(path):
    """(height, width, channels) of an image file without decoding its pixels where possible.

    `channels` is 1 for grey and 3 for colour (an alpha channel is not counted: kerasgan drops
    it). PIL reads the header; files PIL cannot parse are decoded with OpenCV. Errors as
    `read_image`.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return read_image(path).shape  # raises the clear error
    try:
        from PIL import Image

        with Image.open(path) as handle:
            width, height = handle.size
            channels = _PIL_CHANNELS.get(handle.mode)
        if channels is not None and width > 0 and height > 0:
            return height, width, channels
    except Exception:  # noqa: BLE001 - any header PIL cannot read goes to the full decoder
        pass
    image = read_image(path)
    return image.shape[0], image.shape[1], 1 if image.shape[-1] == 1 else 3


def to_unit_float(image, name="image"):
    """Scale an image to float32 in [0, 1]: the one value-range rule of kerasgan.

    * uint8 / 255, uint16 / 65535 (by the dtype: a dark 16-bit file stays dark); bool 0/1.
    * Any other integers (int8/int16/int32/int64/uint32, Python lists of ints, int16 TIFF),
      by their values: 0..255 / 255, else 0..65535 / 65535 (as the 8- or 16-bit image they
      hold; scaling int32 by its dtype's range would give a flat image). Negative values or
      values above 65535 raise ValueError: their range is unknown.
    * Floats: [0, 1] as they are (clipped; +-0.01 of rounding noise allowed); a float image
      (e.g. float TIFF) holding 0..255 / 255, 0..65535 / 65535. Negative values, NaN or inf
      raise ValueError.
    An empty array raises ValueError; strings, objects or complex numbers TypeError. `name`
    (a file or argument) is named in the errors.
    """
    image = np.asarray(image)
    if image.dtype == object or image.dtype.kind in "USVcmM":
        raise TypeError(f"{name} has unsupported dtype {image.dtype}; expected integers, floats or bool")
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if image.dtype == bool:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        low, high = int(image.min()), int(image.max())
        if low < 0 or high > 65535:
            raise ValueError(
                f"{name} ({image.dtype}) holds values {low}..{high}; integer images must hold 0..255 "
                "or 0..65535 (scale other ranges to [0, 1] floats first)"
            )
        return image.astype(np.float32) / (255.0 if high <= 255 else 65535.0)
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} has unsupported dtype {image.dtype}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} contains NaN or infinite values")
    work = image.astype(np.float32)
    low, high = float(work.min()), float(work.max())
    if low < -_UNIT_TOLERANCE:
        raise ValueError(
            f"{name} holds values {low:g}..{high:g}; float images must hold 0..1 (or 0..255, 0..65535); "
            "a [-1, 1] image needs kerasgan.transforms.from_minus_one_one"
        )
    if high <= 1.0 + _UNIT_TOLERANCE:
        return np.clip(work, 0.0, 1.0)
    if high <= 255.0 + _UNIT_TOLERANCE * 255:
        return np.clip(work / 255.0, 0.0, 1.0)
    if high <= 65535.0 * (1 + _UNIT_TOLERANCE):
        return np.clip(work / 65535.0, 0.0, 1.0)
    raise ValueError(f"{name} holds values up to {high:g}; float images must hold 0..1, 0..255 or 0..65535")


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
    """Write an image atomically; the format follows the extension (PNG and TIFF keep uint16).

    Other dtypes go through `to_unit_float` and are stored as uint8; uint16 into JPEG or BMP
    (8-bit formats) is scaled by 1/257. An unknown extension or an empty image raises
    ValueError naming the file.
    """
    path = pathlib.Path(path)
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"cannot write {_describe(path)}: expected H x W x 1/3/4, got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"cannot write {_describe(path)}: the image is empty ({image.shape[0]}x{image.shape[1]})")
    extension = path.suffix.lower() or ".png"
    if extension not in IMAGE_EXTENSIONS:
        raise ValueError(f"cannot write {_describe(path)}: unknown image extension {extension!r} "
                         f"(use one of {' '.join(IMAGE_EXTENSIONS)})")
    if image.dtype == np.uint16 and extension in (".jpg", ".jpeg", ".bmp"):
        # These formats hold 8 bits; OpenCV would saturate the 16-bit values, not scale them.
        image = np.round(image / 257.0).astype(np.uint8)
    if image.dtype not in (np.uint8, np.uint16):
        image = np.round(to_unit_float(image, f"image for {_describe(path)}") * 255.0).astype(np.uint8)
    if image.shape[-1] == 3:
        image = image[..., ::-1]
    elif image.shape[-1] == 4:
        image = image[..., [2, 1, 0, 3]]
    ok, encoded = cv2.imencode(extension, np.ascontiguousarray(image))
    if not ok:
        raise ValueError(f"cannot encode {_describe(path)} as {extension}")
    atomic_write_bytes(path, encoded.tobytes())
    return path
