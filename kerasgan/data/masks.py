"""The one rule for reading binary masks, used wherever kerasgan takes a mask.

    foreground = read_mask_values(mask)            # bool H x W
    foreground = read_mask(path)                   # from a PNG/TIFF/... file

The rule, on the distinct values of the array (any integer, float or bool dtype):

  * bool: True is foreground.
  * two values {0, v} with v > 0 (or only one of them): v is foreground, whatever v is.
    So {0, 1}, {0, 255}, {0, 127}, {0, 65535}, {0.0, 1.0} all read the same; an all-zero mask
    is empty, a constant v > 0 is all foreground.
  * more than one value above 0, e.g. label images {0, 1, 2, 3}, chromosome masks
    {0, 127, 255}, or anti-aliased / JPEG masks: ambiguous, so a ValueError names the values,
    unless the caller says what they mean: `foreground=(...)` (the values that are
    foreground; the rest is background) or `threshold=t` (values >= t are foreground, for
    soft masks).
  * negative values, NaN or inf, an empty array, or several different channels: ValueError;
    a non-numeric array: TypeError.

Masks with a channel axis (H x W x 1, or H x W x 3/4 with equal colour channels, as a grey
mask saved as RGB) are reduced to H x W.
"""

import numpy as np

_SHOWN_VALUES = 6


def _values_text(values):
    shown = ", ".join(f"{v:g}" for v in values[:_SHOWN_VALUES])
    return "{" + shown + (", ..." if len(values) > _SHOWN_VALUES else "") + "}"


def read_mask_values(mask, *, name="mask", foreground=None, threshold=None):
    """Read a mask array by the rule of this module; returns bool H x W (or the input's shape
    without its channel axis).

    Args:
        mask: array-like H x W, H x W x 1, or H x W x C with identical channels (also N x ...
            batches when `name` callers pass them; only the last axis is treated as channels
            when it has 1, 3 or 4 entries and the array has 3+ dimensions).
        name: how the mask is named in errors (a file path, an argument name).
        foreground: values taken as foreground (for label images); others are background.
        threshold: values >= threshold are foreground (for soft / anti-aliased masks).
    """
    if foreground is not None and threshold is not None:
        raise ValueError(f"{name}: give foreground= or threshold=, not both")
    array = np.asarray(mask)
    if array.dtype == object or not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise TypeError(f"{name} must be a numeric or boolean array, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got dtype {array.dtype}")
    if array.size == 0 or array.ndim < 2:
        raise ValueError(f"{name} must be a non-empty H x W (x C) array, got shape {array.shape}")
    if array.ndim >= 3 and array.shape[-1] in (1, 3, 4):
        channels = array[..., :3] if array.shape[-1] == 4 else array
        first = channels[..., 0]
        if channels.shape[-1] > 1 and not all(np.array_equal(first, channels[..., c])
                                               for c in range(1, channels.shape[-1])):
            raise ValueError(f"{name} has {array.shape[-1]} different channels; a mask has one "
                             "(or identical colour channels)")
        array = first
    if array.dtype == bool:
        return array.copy()
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if threshold is not None:
        if isinstance(threshold, bool) or not np.isscalar(threshold) or not np.isfinite(threshold):
            raise ValueError(f"{name}: threshold must be a finite number, got {threshold!r}")
        return array >= threshold
    if foreground is not None:
        values = np.atleast_1d(np.asarray(foreground))
        if values.size == 0 or not np.issubdtype(values.dtype, np.number):
            raise ValueError(f"{name}: foreground must list numeric values, got {foreground!r}")
        return np.isin(array, values)
    values = np.unique(array)
    if values[0] < 0:
        raise ValueError(f"{name} has negative values (min {values[0]:g}); a mask holds 0 for "
                         "background and one value > 0 for foreground (a [-1, 1] generator output "
                         "needs kerasgan.medisingan.io.binarize_mask or > 0)")
    positive = values[values > 0]
    if len(positive) > 1:
        raise ValueError(
            f"{name} holds {len(positive)} different foreground values {_values_text(positive)}; "
            "a mask is 0 plus one value > 0. For a label image pass foreground=(labels...); for a "
            "soft or anti-aliased mask (JPEG) pass threshold=t (values >= t are foreground)"
        )
    return array > 0


def read_mask(path, **options):
    """Read a mask file (PNG, TIFF, BMP, JPEG) by the rule of this module: bool H x W."""
    from kerasgan.data.image_io import read_image

    return read_mask_values(read_image(path), name=f"mask file '{path}'", **options)


def connected_components(mask, name="mask", connectivity=2):
    """Label the separate foreground blobs of a mask (read by `read_mask_values`).

    Returns (labels int32 H x W, count). `connectivity` 2 joins diagonal neighbours (8-connected),
    1 only edge neighbours. scipy.ndimage.label does the work.
    """
    from scipy import ndimage

    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 or 2, got {connectivity!r}")
    foreground = read_mask_values(mask, name=name)
    if foreground.ndim != 2:
        raise ValueError(f"{name} must be one H x W mask, got shape {foreground.shape}")
    structure = ndimage.generate_binary_structure(2, connectivity)
    labels, count = ndimage.label(foreground, structure=structure)
    return labels.astype(np.int32), int(count)


def require_one_component(mask, name="mask", connectivity=2):
    """The mask as bool H x W if it holds exactly one blob; a ValueError naming `name`, the
    count and the blobs' bounding boxes otherwise (functions that measure one object, such as
    a chromosome's banding pattern, must not silently join two)."""
    from scipy import ndimage

    labels, count = connected_components(mask, name, connectivity)
    if count != 1:
        if count == 0:
            raise ValueError(f"{name} is empty: no foreground object")
        boxes = [f"rows {s[0].start}-{s[0].stop - 1}, cols {s[1].start}-{s[1].stop - 1}"
                 for s in ndimage.find_objects(labels)[:3]]
        raise ValueError(f"{name} holds {count} separate objects ({'; '.join(boxes)}"
                         f"{'; ...' if count > 3 else ''}); give one object per call")
    return labels > 0
