"""SynCGAN bars: unsupervised mask Dice, mask-GAN binariness/diversity, augmentation-study time.

    python benchmarks/syncgan.py                 # everything (~20-30 min on a 2-core CPU)
    python benchmarks/syncgan.py --skip-study    # masks and mask GAN only (~2 min)

Writes benchmarks/results/syncgan.json. All data is SYNTHETIC (kerasgan.syncgan.render_cytology).
The machine is shared with other jobs: wall times are upper bounds, not clean measurements.

Bars (issue 4):
  * nucleus-mask Dice vs ground truth >= 0.85 on the renderer;
  * mask-GAN outputs binary after thresholding, different across z (mean pairwise difference > 0);
  * the study at its default small setting finishes in < 30 min; Orig vs Orig+Prop reported as is.
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

import kerasgan  # noqa: F401  (sets TensorFlow options before it loads)

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "syncgan.json"


def mask_dice(sizes=(64, 128, 256), count_per_class=20, seed=100):
    from kerasgan.syncgan.masks import dice, nucleus_masks
    from kerasgan.syncgan.renderer import render_cytology

    rows = []
    for size in sizes:
        images, masks, labels = render_cytology(count_per_class, size, seed=seed)
        started = time.perf_counter()
        predicted = nucleus_masks(images)
        seconds = time.perf_counter() - started
        scores = dice(predicted, masks)
        rows.append({
            "image_size": size, "images": int(len(images)),
            "dice_mean": float(scores.mean()), "dice_min": float(scores.min()),
            "dice_benign": float(scores[labels == 0].mean()),
            "dice_malignant": float(scores[labels == 1].mean()),
            "ms_per_image": 1000.0 * seconds / len(images),
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-study", action="store_true")
    parser.add_argument("--study-out", default="runs/syncgan_study")
    args = parser.parse_args(argv)

    report = {"machine": {"cpus": os.cpu_count(), "note": "shared CPU; times are upper bounds"}}
    report["mask_dice"] = mask_dice()
    print("\nUnsupervised nucleus masks vs ground truth (SYNTHETIC renderer, 40 images per size)")
    print(f"{'size':>5} {'Dice mean':>10} {'min':>6} {'benign':>7} {'malignant':>9} {'ms/img':>7}")
    for row in report["mask_dice"]:
        print(f"{row['image_size']:>5} {row['dice_mean']:>10.3f} {row['dice_min']:>6.3f} "
              f"{row['dice_benign']:>7.3f} {row['dice_malignant']:>9.3f} {row['ms_per_image']:>7.1f}")

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
