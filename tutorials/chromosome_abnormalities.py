"""Tutorial: abnormal banded chromosomes from a banding pattern (Uzolas et al. 2021).

Extras: none (pip install -e . is enough).

A cytogeneticist's workflow, end to end:
  1. extract the banding pattern of a single-chromosome image (f_BPE) and plot each step;
  2. edit it into abnormal patterns (deletion, duplication, inversion, translocation) and
     draw a random Perlin pattern;
  3. back-project each pattern onto the chromosome's shape (f_SEG);
  4. generate chromosome images showing those patterns with the pix2pix generator;
  5. re-extract the generated images' patterns and score them (Dice, MAENB).

    python tutorials/chromosome_abnormalities.py --out tutorial_out
    python tutorials/chromosome_abnormalities.py --out /tmp/t --small     # CI: tiny, untrained

The chromosome images here are SYNTHETIC (kerasgan.chromosome.render_chromosome), because no
karyotype set can be downloaded here; pass --image your_chromosome.png to use your own
(single chromosome, dark on a light background). The generator is the "chromosome" zoo model
(trained on SYNTHETIC chromosomes); with --small an untrained tiny generator stands in, so
the images are noise, but every step runs.
"""

import argparse
import pathlib
import sys

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the figures and PNGs")
    parser.add_argument("--small", action="store_true",
                        help="fast CI setting: tiny untrained generator, no zoo needed")
    parser.add_argument("--image", default=None, help="your own single-chromosome image")
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import kerasgan
    from kerasgan import chromosome as kc
    from kerasgan.data.image_io import read_image, write_image
    from kerasgan.metrics import banded_dice, count_bands, maenb

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ 1. the image
    if args.image:
        image = kc.preprocess_image(read_image(args.image, channels=1), size=128)
        source = f"your image {args.image}"
    else:
        image = kc.render_chromosome(seed=args.seed).image
        source = "a SYNTHETIC chromosome"
    print(f"1. extracting the banding pattern of {source}")

    # ------------------------------------------------------------------ 2. f_BPE, step by step
    result = kc.extract(image)
    pattern, lines = result.pattern, result.lines
    black, white = count_bands(pattern)
    print(f"   {len(pattern)} axis points, {black} black and {white} white bands")
    figure, axes = plt.subplots(1, 5, figsize=(15, 3.2))
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("image")
    axes[1].imshow(lines.shape, cmap="gray")
    axes[1].plot(lines.polyline[:, 0], lines.polyline[:, 1], "r.-", lw=1)
    axes[1].set_title("shape mask + medial axis")
    axes[2].imshow(image, cmap="gray", vmin=0, vmax=255)
    for k in range(0, len(lines), 6):
        rows, cols = lines.pixels_of_line(k)
        axes[2].plot(cols, rows, "-", lw=0.6, color="tab:orange")
    axes[2].set_title("perpendicular lines")
    axes[3].plot(result.profile, label="density profile")
    axes[3].plot(result.filtered_profile, label="non-linear filter")
    axes[3].legend(fontsize=7)
    axes[3].set_title("profile -> uniform bands")
    own_mask = kc.back_project(pattern, lines)
    axes[4].imshow(own_mask, cmap="gray", vmin=0, vmax=255)
    axes[4].set_title("banded mask f_SEG")
    for axis in axes[[0, 1, 2, 4]]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(out / "1_extraction.png", dpi=90)
    plt.close(figure)

    # ------------------------------------------------------------------ 3. abnormal patterns
    partner = kc.banding_pattern(kc.render_chromosome(seed=args.seed + 1).image)
    patterns = {
        "normal": pattern,
        "deletion 40-55%": kc.edit(pattern, deletion=(0.40, 0.55)),
        "duplication 20-40%": kc.edit(pattern, duplication=(0.20, 0.40)),
        "inversion 10-45%": kc.edit(pattern, inversion=(0.10, 0.45)),
        "translocation t(50%;60%)": kc.reciprocal_translocation(pattern, partner, 0.5, 0.6)[0],
        "Perlin": kc.perlin_pattern(len(pattern), seed=args.seed),
    }
    print("2. abnormal patterns: " + ", ".join(f"{name} ({len(p)})" for name, p in patterns.items()))
    # Back-project every pattern onto the SAME shape: its length is resampled to the axis.
    masks = np.stack([kc.back_project(p, lines) for p in patterns.values()])

    # ------------------------------------------------------------------ 4. generate
    if args.small:
        generator = kc.build_generator(size=128, filters=8)
        print("3. generating with a tiny UNTRAINED generator (--small): images are noise")
    else:
        generator = kerasgan.zoo.load("chromosome")
        print("3. generating with the 'chromosome' zoo generator (trained on SYNTHETIC data)")
    generated = kc.generate(generator, masks)
    for (name, _), mask, fake in zip(patterns.items(), masks, generated):
        slug = name.split()[0].lower()
        write_image(out / f"mask_{slug}.png", mask)
        write_image(out / f"generated_{slug}.png", fake)

    # ------------------------------------------------------------------ 5. check the result
    print("4. re-extracting the generated images")
    rows = []
    for (name, p), mask, fake in zip(patterns.items(), masks, generated):
        try:
            fake_result = kc.extract(fake)
        except ValueError as error:  # an untrained generator may draw no chromosome
            rows.append((name, float("nan"), float("nan"), str(error).split(";")[0]))
            continue
        fake_mask = kc.back_project(fake_result.pattern, fake_result.lines)
        projected = kc.resample_pattern(p, len(lines))
        rows.append((name, banded_dice(mask, fake_mask), maenb(projected, fake_result.pattern), ""))
    print(f"   {'pattern':<26}{'Dice':>8}{'MAENB':>8}")
    for name, score, error, note in rows:
        print(f"   {name:<26}{score:>8.3f}{error:>8.3f}  {note}")

    figure, axes = plt.subplots(2, len(patterns), figsize=(2.2 * len(patterns), 4.6))
    for column, ((name, _), mask, fake) in enumerate(zip(patterns.items(), masks, generated)):
        axes[0, column].imshow(mask, cmap="gray", vmin=0, vmax=255)
        axes[0, column].set_title(name, fontsize=8)
        axes[1, column].imshow(fake, cmap="gray", vmin=0, vmax=255)
        axes[0, column].axis("off")
        axes[1, column].axis("off")
    axes[1, 0].set_title("generated", fontsize=8)
    figure.suptitle("banded masks (top) and generated chromosomes (bottom)"
                    + ("" if args.image else " - SYNTHETIC source"), fontsize=9)
    figure.tight_layout()
    figure.savefig(out / "2_abnormal_chromosomes.png", dpi=90)
    plt.close(figure)
    print(f"figures and PNGs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
