"""Tutorial: from an ISCN karyotype string to a karyogram and back to single chromosomes.

Extras: none (pip install -e . is enough).

  1. parse a karyotype string (`kc.karyotype`): the chromosomes it names, their bands,
     centromeres and relative lengths, the abnormal ones and their breakpoints;
  2. draw it as a clinical karyogram (`kc.render_karyogram`): pairs side by side, rows
     1-5 | 6-12 | 13-18 | 19-22, X, Y, one scale, every chromosome drawn by the generator
     from its banded mask in one batched call; the manifest says where each one is;
  3. cut the karyogram back into single chromosomes (`kc.crop_karyogram`), preprocessed as the
     paper (grayscale, square padding to the biggest chromosome, 128 px), with the class read
     from the layout, and check them against the manifest;
  4. extract the banding pattern of the abnormal chromosomes' crops and back-project it (the
     paper's banded masks), and draw more copies of the abnormal chromosomes alone.

    python tutorials/chromosome_iscn.py --out tutorial_out
    python tutorials/chromosome_iscn.py --out tutorial_out --iscn "46,XY,del(5)(p15.2)"
    python tutorials/chromosome_iscn.py --out tutorial_out --image my_karyogram.png   # step 3 on yours
    python tutorials/chromosome_iscn.py --out /tmp/t --small      # CI: SYNTHETIC renderer, 64 px cells

Everything drawn here is SYNTHETIC: the banded masks come from the UCSC ideogram (CHM13) and
the "chromosome" zoo generator was trained on SYNTHETIC chromosomes. With --small (or the
environment variable KERASGAN_TUTORIAL_SMALL=1) the SYNTHETIC renderer draws the images and
no TensorFlow model is loaded.
"""

import argparse
import json
import os
import pathlib

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the figures, PNGs and the manifest")
    parser.add_argument("--iscn", default="46,XX,t(9;22)(q34;q11.2)", help="karyotype (ISCN)")
    parser.add_argument("--image", default=None, help="your own karyogram image for step 3")
    parser.add_argument("--small", action="store_true", default=os.environ.get("KERASGAN_TUTORIAL_SMALL") == "1",
                        help="fast CI setting: SYNTHETIC renderer at 64 px, no generator")
    parser.add_argument("--seed", type=int, default=4)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasgan import chromosome as kc
    from kerasgan.data.image_io import read_image, write_image
    from kerasgan.figures import save_figure

    out = pathlib.Path(args.out)
    (out / "crops").mkdir(parents=True, exist_ok=True)
    size = 64 if args.small else 128

    # ------------------------------------------------------------------ 1. the string
    karyotype = kc.karyotype(args.iscn)
    print(f"1. {args.iscn}: {karyotype.count} chromosomes, sex {karyotype.sex}")
    for chromosome in karyotype.chromosomes:
        if chromosome.abnormal:
            print(f"   {chromosome.name}: class {chromosome.chromosome_class}, breakpoints "
                  f"{', '.join(chromosome.breakpoints)}, {len(chromosome.bands)} bands, relative length "
                  f"{chromosome.relative_length:.3f}, centromere at "
                  + ("none (acentric)" if chromosome.centromere is None else f"{chromosome.centromere:.2f}"))

    # ------------------------------------------------------------------ 2. the karyogram
    generator = None
    if not args.small:
        import kerasgan.zoo

        generator = kerasgan.zoo.load("chromosome")
    karyogram = kc.render_karyogram(karyotype, generator=generator, seed=args.seed, size=size)
    write_image(out / "karyogram.png", karyogram.image)
    (out / "karyogram.json").write_text(json.dumps(karyogram.manifest(), indent=1) + "\n")
    print(f"2. karyogram {karyogram.image.shape[1]} x {karyogram.image.shape[0]} px drawn by the "
          f"{karyogram.source}; {len(karyogram.chromosomes)} chromosomes placed -> {out / 'karyogram.png'}")

    # ------------------------------------------------------------------ 3. cut it back
    image = karyogram.image
    if args.image:
        image = read_image(args.image, channels=1)[..., 0]
        print(f"3. cutting your karyogram {args.image}")
    crops = kc.crop_karyogram(image, size=128)
    for i, crop in enumerate(crops):
        write_image(out / "crops" / f"crop_{i:02d}_chr{crop.chromosome_class or 'unknown'}.png", crop.image)
    if args.image:
        classes = [c.chromosome_class for c in crops if c.chromosome_class]
        print(f"   {len(crops)} chromosomes cut, {len(classes)} with a class from the layout, "
              f"{sum(c.touching for c in crops)} touching -> {out / 'crops'}")
        matched = None
    else:
        matched = []
        for placed in karyogram.chromosomes:
            best = max(crops, key=lambda crop: kc.bbox_iou(crop.bbox, placed.bbox))
            matched.append((placed, best, kc.bbox_iou(best.bbox, placed.bbox)))
        good = sum(iou >= 0.9 and best.chromosome_class == placed.chromosome_class for placed, best, iou in matched)
        print(f"3. {len(crops)} crops; {good} of {len(karyogram.chromosomes)} chromosomes found with "
              f"box IoU >= 0.9 and the right class (mean IoU {np.mean([m[2] for m in matched]):.3f}) -> {out / 'crops'}")

    # ------------------------------------------------------------------ 4. banded masks of the abnormal ones
    abnormal = [(placed, best) for placed, best, _ in (matched or []) if placed.abnormal]
    figure, axes = plt.subplots(1 + bool(abnormal), 1, figsize=(7, 8.5 if abnormal else 6.5), squeeze=False,
                                gridspec_kw={"height_ratios": [3, 1] if abnormal else [1]})
    axes[0, 0].imshow(karyogram.image if not args.image else image, cmap="gray", vmin=0, vmax=255)
    axes[0, 0].set_title(f"{args.iscn} ({karyogram.source})" if not args.image else args.image, fontsize=9)
    for placed, _ in abnormal:
        x0, y0, x1, y1 = placed.bbox
        axes[0, 0].add_patch(plt.Rectangle((x0 - 1.5, y0 - 1.5), x1 - x0 + 2, y1 - y0 + 2, fill=False, color="red", lw=1))
    axes[0, 0].axis("off")
    if abnormal:
        panels = []
        for placed, crop in abnormal:
            try:
                extraction = kc.extract(crop.image)
                mask = kc.back_project(extraction.pattern, extraction.lines)
                print(f"4. {placed.name}: {len(extraction.pattern)} pattern samples extracted from its crop")
            except ValueError as error:  # a tiny crop may have too few pixels to extract
                mask = np.full(crop.image.shape, 255, np.uint8)
                print(f"4. {placed.name}: no pattern extracted ({error})")
            panels += [crop.image, mask]
        axes[1, 0].imshow(np.concatenate(panels, axis=1), cmap="gray", vmin=0, vmax=255)
        axes[1, 0].set_title("abnormal chromosomes: crop | extracted banded mask", fontsize=8)
        axes[1, 0].axis("off")
    figure.tight_layout()
    save_figure(figure, out / "karyogram_and_crops.png")

    if any(c.abnormal for c in karyotype.chromosomes) or len(karyotype.chromosomes) != 46:
        try:
            singles = kc.karyotype_chromosomes(karyotype, generator=generator, seed=args.seed, size=size,
                                               count=2 if args.small else 4)
        except ValueError as error:
            print(f"   single chromosomes: {error}")
            singles = []
        for i, item in enumerate(singles):
            write_image(out / f"single_{i:02d}_{item.chromosome_class}.png", item.image)
            write_image(out / f"single_{i:02d}_{item.chromosome_class}_mask.png", item.banded_mask)
        if singles:
            print(f"   {len(singles)} single abnormal chromosomes ({', '.join(sorted({s.name for s in singles}))}) "
                  f"-> {out}/single_*.png")
    print(f"figure: {out / 'karyogram_and_crops.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
