"""Tutorial: grow a small cytology data set with SynCGAN and check whether a classifier gains.

Extras: none (pip install -e . is enough).

    python tutorials/syncgan_cytology.py --out runs/syncgan_tutorial            # ~25 min on a CPU
    python tutorials/syncgan_cytology.py --small --out /tmp/syncgan_tutorial    # ~2 min (CI)
    python tutorials/syncgan_cytology.py --data ROOT --out runs/mine            # your images

ROOT holds one subfolder per class (ROOT/benign/*.png, ROOT/malignant/*.png). Without --data
the images are SYNTHETIC (kerasgan.syncgan.render_cytology), which also gives ground-truth
nucleus masks to score the unsupervised masks against.

Steps (Dey et al., SynCGAN):
  1. unsupervised nucleus masks (histogram stretch, gray, adaptive threshold, Gaussian mixture);
  2. SynCGAN.fit: the mask -> image conditional GAN and one mask GAN per class;
  3. generate matched (image, mask) pairs per class; save and reload the whole pipeline;
  4. the augmentation study: Orig vs Orig+Prop vs Orig+Trad vs Orig+Trad+Prop (+ Table 3 control).
Outputs (in --out): masks.png, synthetic_<class>.png, syncgan.keras, study.md/json/png.
"""

import argparse
import pathlib
import sys

import numpy as np

import kerasgan  # noqa: F401  (first: TensorFlow options)
from kerasgan import syncgan
from kerasgan.data.image_io import write_image


def grid(rows):
    width = min(row.shape[1] for row in rows)
    return np.concatenate([row[:, :width] for row in rows], axis=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--data", help="ROOT/<class>/* images (default: SYNTHETIC renderer)")
    parser.add_argument("--small", action="store_true", help="tiny setting for CI (minutes)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.small:
        size, per_class, filters, mask_epochs, cgan_epochs, seeds, classifier_epochs = 32, 10, 8, 2, 2, (0,), 2
    else:
        size, per_class, filters, mask_epochs, cgan_epochs, seeds, classifier_epochs = 64, 75, 16, 60, 30, (0, 1, 2), 25

    # 1. Data and unsupervised masks.
    truth = None
    if args.data:
        images, labels, classes, _ = syncgan.load_image_folders(args.data, image_size=size)
    else:
        images, truth, labels = syncgan.render_cytology(per_class, image_size=size, seed=0)
        classes = list(syncgan.CLASS_NAMES)
    masks = syncgan.nucleus_masks(images)
    if truth is not None:
        print(f"unsupervised nucleus masks: Dice vs ground truth {syncgan.dice(masks, truth).mean():.3f}")
    show = min(8, len(images))
    write_image(out / "masks.png", grid([
        np.concatenate(list(images[:show]), axis=1),
        np.concatenate([np.repeat(m * 255, 3, -1) for m in masks[:show]], axis=1),
    ]))

    # 2. Train the pipeline on every image (the study below retrains on each training split).
    pipeline = syncgan.SynCGAN(classes=classes, image_size=size, filters=filters)
    pipeline.fit(images, labels, masks=masks, mask_epochs=mask_epochs, cgan_epochs=cgan_epochs, verbose=2)

    # 3. Matched synthetic pairs per class; save and reload the whole pipeline.
    pipeline.save(out / "syncgan.keras")
    pipeline = syncgan.SynCGAN.load(out / "syncgan.keras")
    for name in classes:
        fakes, fake_masks = pipeline.generate(name, 8, seed=0)
        write_image(out / f"synthetic_{name}.png", grid([
            np.concatenate(list(fakes), axis=1),
            np.concatenate([np.repeat(m * 255, 3, -1) for m in fake_masks], axis=1),
        ]))
        print(f"{name}: 8 SYNTHETIC pairs, nucleus fraction {fake_masks.mean():.3f} "
              f"(real {masks[labels == classes.index(name)].mean():.3f})")

    # 4. The augmentation study (Tables 2 and 3 of the paper).
    results = syncgan.run_study(
        images, labels, classes, seeds=seeds, image_size=size, syncgan_options={"filters": filters},
        mask_epochs=mask_epochs, cgan_epochs=cgan_epochs, classifier_epochs=classifier_epochs, out_dir=out,
    )
    print(syncgan.format_table(results))
    print(f"outputs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
