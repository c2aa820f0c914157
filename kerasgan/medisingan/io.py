"""Medical image input for MediSinGAN: 16-bit/DICOM/NIfTI reading, per-channel scaling to
[-1, 1], stacking modalities (or image + mask) into one multi-channel image, and splitting
generated samples back (Jethi et al., MediSinGAN: T1/T2/FLAIR -> 3 channels; histology image
+ nuclei mask -> 4 channels; one SinGAN learns them jointly so generated channels agree).

pydicom and nibabel are optional extras (`pip install kerasgan[medical]`): they are imported
only when a DICOM or NIfTI file is read.
"""

import pathlib

import numpy as np

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz", ".img", ".hdr")


def _require(module, purpose):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{purpose} needs the optional package '{module}': pip install {module} "
            "(or pip install kerasgan[medical])"
        ) from error


def _is_dicom(path):
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            header = handle.read(132)
        return len(header) == 132 and header[128:] == b"DICM"
    except OSError:
        return False


def _is_nifti(path):
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in NIFTI_SUFFIXES)


def read_dicom(path, frame=0):
    """Pixel data of a DICOM file as float32 (H, W) in modality units (CT: Hounsfield units).

    The modality LUT (RescaleSlope/Intercept) is applied; multi-frame files give `frame`;
    colour files (H, W, 3) are kept. Raises FileNotFoundError / ValueError naming the file.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"DICOM file '{path}' does not exist")
    pydicom = _require("pydicom", f"reading DICOM file '{path}'")
    try:
        dataset = pydicom.dcmread(path)
    except Exception as error:  # InvalidDicomError and friends
        raise ValueError(f"'{path}' is not a readable DICOM file: {error}") from error
    if "PixelData" not in dataset:
        raise ValueError(f"DICOM file '{path}' has no pixel data")
    try:
        pixels = dataset.pixel_array
    except Exception as error:  # missing decompression plug-ins (JPEG 2000, ...) and corrupt data
        raise ValueError(
            f"cannot decode the pixel data of DICOM file '{path}' (transfer syntax "
            f"{getattr(dataset.file_meta, 'TransferSyntaxUID', '?')}): {error}. Compressed files "
            "may need pip install pylibjpeg pylibjpeg-openjpeg"
        ) from error
    frames = int(getattr(dataset, "NumberOfFrames", 1) or 1)
    if frames > 1:
        if not 0 <= frame < frames:
            raise ValueError(f"DICOM file '{path}' has {frames} frames; frame={frame} is out of range")
        pixels = pixels[frame]
    try:
        from pydicom.pixels import apply_modality_lut
    except ImportError:  # pydicom < 3
        from pydicom.pixel_data_handlers.util import apply_modality_lut
    return np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float32)


def read_nifti(path, slice_index=None, axis=2, volume=0):
    """One 2-D slice of a NIfTI image as float32 (H, W) (scaling slope/intercept applied).

    `slice_index` defaults to the middle slice along `axis`; 4-D images take `volume` first.
    The slice is rotated by 90 degrees so that, for RAS-oriented data, anterior is up.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NIfTI file '{path}' does not exist")
    nibabel = _require("nibabel", f"reading NIfTI file '{path}'")
    try:
        image = nibabel.load(str(path))
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as error:
        raise ValueError(f"'{path}' is not a readable NIfTI file: {error}") from error
    if data.ndim == 4:
        if not 0 <= volume < data.shape[3]:
            raise ValueError(f"NIfTI file '{path}' has {data.shape[3]} volumes; volume={volume} is out of range")
        data = data[..., volume]
    if data.ndim == 2:
        return np.rot90(data).copy()
    if data.ndim != 3:
        raise ValueError(f"NIfTI file '{path}' has shape {data.shape}; expected 2-D, 3-D or 4-D")
    if slice_index is None:
        slice_index = data.shape[axis] // 2
    if not 0 <= slice_index < data.shape[axis]:
        raise ValueError(f"NIfTI file '{path}' has {data.shape[axis]} slices along axis {axis}; "
                         f"slice_index={slice_index} is out of range")
    return np.rot90(np.take(data, slice_index, axis=axis)).copy()


def read_medical(path, **kwargs):
    """Read a 2-D image from DICOM, NIfTI (slice) or PNG/TIFF (8/16-bit) as float32 (H, W[, C]).

    Values stay in the file's units (HU, scanner intensity, 0..65535); scale them with
    `normalize`. Keyword arguments go to `read_dicom` (frame) or `read_nifti` (slice_index,
    axis, volume).
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file '{path}' does not exist")
    if path.is_dir():
        raise ValueError(f"'{path}' is a folder, not an image file")
    if _is_nifti(path):
        return read_nifti(path, **kwargs)
    if _is_dicom(path):
        return read_dicom(path, **kwargs)
    from kerasgan.data.image_io import read_image

    image = read_image(path)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image.astype(np.float32)


def normalize(image, percentiles=(0.5, 99.5), ranges=None):
    """Scale each channel of (H, W) or (H, W, C) linearly to [-1, 1].

    Each channel is clipped to its `percentiles` (robust to the few extreme voxels of CT/MR;
    None = min/max) unless explicit `ranges` [(low, high), ...] are given. Returns
    (scaled float32 (H, W, C), ranges) so `denormalize` can map outputs back to the original
    units. A constant channel maps to -1.
    """
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] == 0 or array.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C) with C >= 1, got shape {np.shape(image)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("image has NaN/inf values; fill them (e.g. np.nan_to_num) before normalizing")
    if ranges is None:
        ranges = []
        for channel in range(array.shape[-1]):
            values = array[..., channel]
            low, high = (np.percentile(values, percentiles) if percentiles is not None
                         else (values.min(), values.max()))
            if high <= low:  # percentiles can collapse on sparse channels such as masks
                low, high = values.min(), values.max()
            ranges.append((float(low), float(high)))
    if len(ranges) != array.shape[-1]:
        raise ValueError(f"ranges has {len(ranges)} entries for {array.shape[-1]} channels")
    scaled = np.empty(array.shape, np.float32)
    for channel, (low, high) in enumerate(ranges):
        span = high - low
        values = (array[..., channel] - low) / span if span > 0 else np.zeros(array.shape[:2])
        scaled[..., channel] = np.clip(values, 0.0, 1.0) * 2.0 - 1.0
    return scaled, [tuple(r) for r in ranges]


def denormalize(image, ranges):
    """Inverse of `normalize`: [-1, 1] channels back to [(low, high), ...] units (float32)."""
    array = np.asarray(image, dtype=np.float32)
    if array.shape[-1] != len(ranges):
        raise ValueError(f"image has {array.shape[-1]} channels but ranges has {len(ranges)}")
    low = np.array([r[0] for r in ranges], np.float32)
    high = np.array([r[1] for r in ranges], np.float32)
    return (np.clip(array, -1.0, 1.0) + 1.0) / 2.0 * (high - low) + low


def stack_channels(images, percentiles=(0.5, 99.5)):
    """Stack named images of one size into one multi-channel image scaled per channel to [-1, 1].

        stacked, layout, ranges = stack_channels({"T1": t1, "T2": t2, "FLAIR": flair})
        stacked, layout, ranges = stack_channels({"image": rgb, "mask": nuclei})  # 4 channels

    Each entry is (H, W) or (H, W, c), any numeric dtype (boolean masks become 0/1). Returns
    (float32 (H, W, sum c), layout {name: c} for `split_channels`, per-channel ranges for
    `denormalize`). Masks (boolean or with <= 2 values) are scaled by min/max, not percentiles.
    """
    if isinstance(images, (list, tuple)):
        images = {f"channel_{i}": image for i, image in enumerate(images)}
    if not images:
        raise ValueError("stack_channels needs at least one image")
    layout, parts, ranges, size = {}, [], [], None
    for name, image in images.items():
        array = np.asarray(image)
        if array.dtype == bool:
            array = array.astype(np.float32)
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3 or array.shape[-1] == 0:
            raise ValueError(f"image {name!r} must be (H, W) or (H, W, c) with c >= 1, got shape {np.shape(image)}")
        if size is None:
            size = array.shape[:2]
        elif array.shape[:2] != size:
            raise ValueError(f"image {name!r} is {array.shape[0]}x{array.shape[1]} but the first image is "
                             f"{size[0]}x{size[1]}; all stacked images must have the same size")
        is_mask = len(np.unique(array)) <= 2
        scaled, channel_ranges = normalize(array, None if is_mask else percentiles)
        layout[str(name)] = array.shape[-1]
        parts.append(scaled)
        ranges.extend(channel_ranges)
    return np.concatenate(parts, axis=-1), layout, ranges


from kerasgan.transforms import split_channels  # noqa: E402,F401  (kept here for callers)


def binarize_mask(mask, threshold=0.0):
    """A generated mask channel in [-1, 1] -> boolean (> threshold)."""
    return np.asarray(mask)[..., 0] > threshold if np.ndim(mask) >= 3 else np.asarray(mask) > threshold
