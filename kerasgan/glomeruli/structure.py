"""Structure maps (Allender et al., section 2): binary images obtained by thresholding the tissue.

The generator's condition is concat(mask, structure map): the map pins down where the dark,
stained structures are, which the paper shows removes pix2pix's mode collapse on histology.
`kerasgan.transforms.structure_map` re-exports this function.
"""

import numbers

import numpy as np

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
