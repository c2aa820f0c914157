"""Small example folders in the layouts the README uses, written on demand.

    kerasgan example-data pix2pix-pairs --out pairs      # pairs/train/{A,B}, pairs/val/{A,B}
    kerasgan example-data chromosomes --out my_chromosomes
    python -c "import kerasgan.example_data as e; e.write('cytology', 'cells')"

Nothing is downloaded: every folder is drawn by the package's SYNTHETIC renderers or copied
from a file that ships inside an installed package (scikit-image's data images, nibabel's and
pydicom's test files; their licences are named in the folder's README.txt). Each folder gets a
README.txt saying what it is. These are for trying the commands, not for results.

Names (`NAMES`): pix2pix-pairs, chromosomes, karyograms, cytology, image-mask, nifti, dicom.
"""

import os
import pathlib
import shutil

from kerasgan._args import check_int

MEDICAL_INSTALL = 'pip install -e ".[medical]"'
SKIMAGE_IHC = (
    "scikit-image's `skimage.data.immunohistochemistry()` (ihc.png: REAL colon tissue, IHC for FHL2 "
    "with DAB and a hematoxylin counterstain, from the Center for Microscopy And Molecular Imaging; "
    "scikit-image lists it with no known copyright restrictions; scikit-image itself is BSD-3-Clause)"
)


def _readme(out, text):
    (pathlib.Path(out) / "README.txt").write_text(text.strip() + "\n", encoding="utf-8")


def _require(module, what):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"example data {what!r} needs the optional package '{module}': "
                          f"{MEDICAL_INSTALL} (or pip install {module})") from error


def _mask_png(mask):
    import numpy as np

    return ((np.asarray(mask)[..., 0] > 0) * 255).astype(np.uint8)


def _tissue_png(image):
    import numpy as np

    return np.round((np.asarray(image) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)


def _ihc_patches(count, split, seed):
    """`count` 64 px IHC patches whose mask has foreground (the glomeruli loader refuses an
    empty mask by default): twice as many are cut and the first with nuclei kept."""
    from kerasgan.glomeruli.data import ihc_patches

    patches = ihc_patches(64, 2 * count + 8, split, seed=seed)
    keep = [i for i in range(len(patches)) if (patches.masks[i] > 0).any()][:count]
    if len(keep) < count:
        raise ValueError(f"only {len(keep)} of {len(patches)} IHC patches hold nuclei; ask for fewer than {count}")
    return patches.subset(keep)


# ----------------------------------------------------------------------------- writers
def _pix2pix_pairs(out, count, seed):
    from kerasgan.data.image_io import write_image

    counts = {"train": count, "val": max(2, count // 4)}
    for split, source_split in (("train", "train"), ("val", "test")):
        patches = _ihc_patches(counts[split], source_split, seed)
        for index in range(len(patches)):
            write_image(out / split / "A" / f"pair_{index:03d}.png", _mask_png(patches.masks[index]))
            write_image(out / split / "B" / f"pair_{index:03d}.png", _tissue_png(patches.images[index]))
    _readme(out, f"""
pix2pix pairs (kerasgan example-data pix2pix-pairs): train/ ({counts['train']} pairs) and val/
({counts['val']} pairs), each with A/ (condition: a nucleus mask, grey PNG 0/255) and B/ (target:
the tissue, RGB PNG), 64x64, paired by file name. Read with
kerasgan.data.paired_image_dataset("{out.name}/train") or kerasgan train pix2pix --data {out.name}/train.

Source: REAL tissue, NOT the paper's data: {SKIMAGE_IHC}, cut into jittered
patches (train from the left 75 %, val from the right 25 %). The masks are THRESHOLDED
hematoxylin (kerasgan.data.histology.nucleus_mask), not expert annotations.
""")
    return counts["train"] + counts["val"]


def _chromosomes(out, count, seed):
    from kerasgan.chromosome import render_chromosome
    from kerasgan.chromosome.ideogram import CHROMOSOMES
    from kerasgan.data.image_io import write_image

    for index in range(count):
        name = CHROMOSOMES[index % len(CHROMOSOMES)]
        drawn = render_chromosome(seed=seed * 100003 + index, size=128, chromosome=name)
        write_image(out / f"chromosome_{index:03d}_chr{name}.png", drawn.image)
    _readme(out, f"""
Single chromosomes (kerasgan example-data chromosomes): {count} SYNTHETIC G-banded chromosome
crops, 128x128 grey PNGs, dark on light, classes 1..22, X, Y in turn (the class is in the file
name). Drawn by kerasgan.chromosome.render_chromosome(chromosome=CLASS) from the human ideogram
bands: NOT real microscope images. Read with kerasgan.chromosome.ChromosomeSet.from_folder("{out.name}")
or kerasgan train chromosome --data {out.name}.
""")
    return count


def _karyograms(out, count, seed):
    from kerasgan.chromosome import render_karyogram
    from kerasgan.data.image_io import write_image

    karyotypes = ("46,XX", "46,XY")
    for index in range(count):
        karyotype = karyotypes[index % 2]
        drawn = render_karyogram(karyotype, seed=seed * 100003 + index)
        write_image(out / f"karyogram_{index:03d}_{karyotype.replace(',', '_')}.png", drawn.image)
    _readme(out, f"""
Karyograms (kerasgan example-data karyograms): {count} SYNTHETIC karyograms, 46,XX and 46,XY in
turn (in the file name), grey PNGs, drawn by kerasgan.chromosome.render_karyogram(ISCN, seed=i):
NOT real metaphase images. kerasgan train chromosome --data {out.name} cuts them into crops first
(kerasgan.chromosome.crop_karyogram).
""")
    return count


def _cytology(out, count, seed):
    from kerasgan.data.image_io import write_image
    from kerasgan.syncgan.renderer import CLASS_NAMES, render_cytology

    images, _, labels = render_cytology(count_per_class=count, image_size=128, seed=seed)
    numbers = dict.fromkeys(CLASS_NAMES, 0)
    for image, label in zip(images, labels):
        name = CLASS_NAMES[label]
        write_image(out / name / f"{name}_{numbers[name]:03d}.png", image)
        numbers[name] += 1
    _readme(out, f"""
Cytology classes (kerasgan example-data cytology): {count} images per class in
{'/, '.join(CLASS_NAMES)}/ (one subfolder per class), 128x128 RGB PNGs. SYNTHETIC FNAC-like
smears drawn by kerasgan.syncgan.renderer.render_cytology: NOT real cytology. Read with
kerasgan.syncgan.folders.load_image_folders("{out.name}") or
kerasgan train syncgan --data {out.name} / kerasgan augment-study syncgan --data {out.name}.
""")
    return 2 * count


def _image_mask(out, count, seed):
    from kerasgan.glomeruli.data import write_paired_folder

    write_paired_folder(_ihc_patches(count, "train", seed), out)
    _readme(out, f"""
Image + mask pairs (kerasgan example-data image-mask): {count} pairs, images/ (RGB tissue) and
masks/ (grey 0/255) with the same file names, 64x64. Read with
kerasgan.glomeruli.data.load_paired_folder("{out.name}") or kerasgan train glomeruli --data {out.name}.

Source: REAL tissue, NOT kidney glomeruli: {SKIMAGE_IHC}. The masks are THRESHOLDED hematoxylin
(kerasgan.data.histology.nucleus_mask), not expert annotations.
""")
    return count


def _nifti(out, count, seed):
    from kerasgan.medisingan.examples import nibabel_file

    nibabel = _require("nibabel", "nifti")
    import numpy as np

    shutil.copyfile(nibabel_file("anatomical.nii"), out / "anatomical.nii")
    four_d = nibabel_file("example4d.nii.gz")
    shutil.copyfile(four_d, out / "example4d.nii.gz")
    volume = nibabel.load(four_d)
    data = np.asarray(volume.dataobj)
    for index in range(2):
        part = nibabel.Nifti1Image(data[..., index], volume.affine, volume.header)
        nibabel.save(part, out / f"volume_{index}.nii.gz")
    _readme(out, f"""
NIfTI volumes (kerasgan example-data nifti), copied from nibabel's test files
(nibabel/tests/data; nibabel is MIT-licensed, these two files are not among the exceptions its
COPYING lists):
  anatomical.nii     a 3-D anatomical MR volume (as shipped)
  example4d.nii.gz   a small 4-D volume (as shipped)
  volume_0.nii.gz, volume_1.nii.gz   its first two volumes as 3-D files (same size: train one
                     SinGAN on both as channels, e.g. kerasgan train singan {out.name}/volume_0.nii.gz
                     {out.name}/volume_1.nii.gz --names V0 V1 --out runs/nifti)
These are tiny test volumes, not a brain MR data set.
""")
    return 4


def _dicom(out, count, seed):
    _require("pydicom", "dicom")
    from kerasgan.medisingan.examples import pydicom_file

    files = ("CT_small.dcm", "MR_small.dcm")
    for name in files:
        shutil.copyfile(pydicom_file(name), out / name)
    _readme(out, f"""
DICOM images (kerasgan example-data dicom), copied from pydicom's test files
(pydicom/data/test_files; pydicom is MIT-licensed): {', '.join(files)} (a small CT slice and a
small MR slice, 128x128, as shipped). E.g. kerasgan train singan {out.name}/CT_small.dcm --out runs/ct.
""")
    return len(files)


# name: (writer, default count, what --count counts, help)
EXAMPLES = {
    "pix2pix-pairs": (_pix2pix_pairs, 16, "training pairs",
                      "REAL IHC tissue patches: train/ and val/ with A/ (mask) and B/ (tissue)"),
    "chromosomes": (_chromosomes, 48, "chromosomes", "SYNTHETIC single G-banded chromosome crops"),
    "karyograms": (_karyograms, 2, "karyograms", "SYNTHETIC 46,XX / 46,XY karyograms"),
    "cytology": (_cytology, 8, "images per class", "SYNTHETIC cytology, one folder per class"),
    "image-mask": (_image_mask, 16, "pairs", "REAL IHC tissue: images/ and masks/ (glomeruli layout)"),
    "nifti": (_nifti, None, None, "nibabel's NIfTI test volumes (needs the medical extra)"),
    "dicom": (_dicom, None, None, "pydicom's CT and MR test files (needs the medical extra)"),
}
NAMES = tuple(EXAMPLES)


def _check_out(out, overwrite):
    if out is None or not isinstance(out, (str, os.PathLike)) or not str(out).strip():
        raise TypeError(f"out must name a folder, got {out!r}")
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out '{out}' is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"out '{out}' exists and is not empty; choose a new folder or pass "
                              "overwrite=True (--overwrite) to write into it")
    return out


def write(name, out, count=None, seed=0, overwrite=False):
    """Write the example folder `name` (one of `NAMES`) to `out`; returns `out` as a Path.

    Args:
        name: which example (see `EXAMPLES` for what each holds).
        out: the folder to write; it must be new or empty unless `overwrite` (then files of
            the same names are replaced, others are left alone).
        count: how many items (pairs, chromosomes, karyograms, images per class); None: the
            example's small default. nifti/dicom copy fixed files and take no count.
        seed: seed of the drawn or cut examples (same seed, same files).
    Raises:
        ValueError: unknown name, a bad count; FileExistsError: `out` is not empty;
        ImportError: nifti/dicom without the medical extra (names the install command).
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example data {name!r}; choose one of {', '.join(NAMES)}")
    writer, default_count, counted, _ = EXAMPLES[name]
    if count is not None and default_count is None:
        raise ValueError(f"example data {name!r} copies fixed files; count must be None, got {count!r}")
    count = default_count if count is None else check_int(count, "count")
    seed = check_int(seed, "seed", minimum=0)
    out = _check_out(out, overwrite)
    if name in ("nifti", "dicom"):  # the optional package is missing: fail before making folders
        _require({"nifti": "nibabel", "dicom": "pydicom"}[name], name)
    out.mkdir(parents=True, exist_ok=True)
    writer(out, count, seed)
    return out


# ----------------------------------------------------------------------------- CLI
def register(registry):
    for name, (_, default_count, counted, help_text) in EXAMPLES.items():
        registry.add("example-data", name, _configure(default_count, counted), _run(name), help=help_text)


def _configure(default_count, counted):
    def configure(parser):
        from kerasgan._args import non_negative_int, positive_int

        parser.add_argument("--out", required=True, help="folder to write (new or empty)")
        if default_count is not None:
            parser.add_argument("--count", type=positive_int, default=default_count,
                                help=f"{counted} (default {default_count})")
        parser.add_argument("--seed", type=non_negative_int, default=0)
        parser.add_argument("--overwrite", action="store_true",
                            help="write into a non-empty --out (files of the same names are replaced)")
    return configure


def _run(name):
    def run(args):
        out = write(name, args.out, count=getattr(args, "count", None), seed=args.seed,
                    overwrite=args.overwrite)
        files = sum(1 for path in out.rglob("*") if path.is_file())
        print(f"wrote {name} example data to {out} ({files} files; see {out / 'README.txt'})")
        return 0
    return run
