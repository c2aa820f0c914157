"""The paper's evaluation (section 3, Tables 1 and 3).

For an input banded mask x_input (real or Perlin pattern on a real shape) the generator makes
y_fake = G(x_input); its mask is re-extracted as x_fake = f_SEG(f_BPE(y_fake)) and compared:

- Dice(x_input, x_fake), background omitted (mean of black- and white-band Dice);
- MAENB(bp_input, bp_fake) (band-count error, see kerasgan.metrics.segmentation);
- baseline: Dice(x_perlin, x_real) of the same shapes, i.e. what conditioning on the shape
  alone would score.

When the chromosomes' classes are known (`ChromosomeSet.classes`, e.g. the `ideogram:` data),
the scores are also given per class (the paper's Figure 4), and the "ideogram" source puts
each class's own human ideogram pattern (400-band level, binary) on its shape.
"""

import dataclasses

import numpy as np

from kerasgan.chromosome import extraction
from kerasgan.metrics.segmentation import banded_dice, maenb


@dataclasses.dataclass
class SourceScores:
    dice: float
    dice_std: float
    maenb: float
    maenb_std: float
    count: int
    extraction_failures: int


def input_masks(chromosomes, source, seed=0, bank=None):
    """(masks uint8 N x S x S, input patterns at each shape's axis length) for a source."""
    from kerasgan.chromosome.patterns import PerlinBank

    rng = np.random.default_rng(seed)
    if source == "perlin":
        bank = bank or PerlinBank()
    masks, patterns = [], []
    for i in range(len(chromosomes)):
        length = len(chromosomes.patterns[i])
        if source == "real":
            pattern = chromosomes.patterns[i]
        elif source == "perlin":
            pattern = bank.sample(length, rng)
        elif source == "ideogram":
            pattern = ideogram_input_pattern(chromosomes.classes[i] if chromosomes.classes else "", length,
                                             chromosomes.names[i])
        elif source == "edited":
            from kerasgan.chromosome.data import random_edit

            pattern = extraction.resample_pattern(random_edit(chromosomes.patterns[i], rng), length)
        else:
            raise ValueError(f"source must be 'real', 'perlin', 'ideogram' or 'edited', got {source!r}")
        masks.append(chromosomes.banded_mask(i, pattern))
        patterns.append(pattern)
    return np.stack(masks), patterns


SOURCES = ("real", "perlin", "ideogram", "edited")
IDEOGRAM_RESOLUTION = 400


def ideogram_input_pattern(chromosome_class, length, name="image"):
    """The binary ideogram pattern of a class resampled to `length` samples, bands thinner than
    1.5 px merged into a neighbour (no 128 px image can show them)."""
    from kerasgan.chromosome.ideogram import ideogram, ideogram_pattern
    from kerasgan.chromosome.patterns import _remove_short_runs

    if not chromosome_class:
        raise ValueError(f"source 'ideogram' needs the chromosome class of every image; {name} has none")
    pattern = ideogram_pattern(ideogram(chromosome_class, IDEOGRAM_RESOLUTION), length, levels="binary")
    return _remove_short_runs(pattern, int(np.ceil(1.5 * extraction.SAMPLES_PER_PIXEL)))


def score_each(masks, patterns, images):
    """Per-image (dice, maenb, failed) arrays of generated `images` against their inputs.

    An image whose pattern cannot be extracted (no chromosome found) scores Dice 0 and
    MAENB 1 and is counted as a failure.
    """
    dices, errors, failed = [], [], []
    for mask, pattern, image in zip(masks, patterns, images):
        try:
            result = extraction.extract(image)
        except ValueError:
            dices.append(0.0)
            errors.append(1.0)
            failed.append(True)
            continue
        fake_mask = extraction.back_project(result.pattern, result.lines)
        dices.append(banded_dice(mask, fake_mask))
        errors.append(maenb(pattern, result.pattern))
        failed.append(False)
    return np.array(dices, np.float64), np.array(errors, np.float64), np.array(failed, bool)


def _summary(dices, errors, failed):
    return SourceScores(float(np.mean(dices)), float(np.std(dices)), float(np.mean(errors)),
                        float(np.std(errors)), int(len(dices)), int(np.sum(failed)))


def score_images(masks, patterns, images):
    """Dice and MAENB of generated `images` against their input masks/patterns (see `score_each`)."""
    return _summary(*score_each(masks, patterns, images))


def _class_order(name):
    return (0, int(name)) if name.isdigit() else (1, name)


def evaluate_generator(generator, chromosomes, sources=("real", "perlin"), seed=0, batch_size=32,
                       bank=None, progress=False, inference="deterministic"):
    """Scores per input source plus the baseline, and per class when classes are known;
    returns a dict for `format_table`."""
    from kerasgan.chromosome.model import generate

    report = {"count": len(chromosomes), "synthetic": bool(chromosomes.synthetic), "inference": inference}
    classes = np.array(chromosomes.classes) if chromosomes.classes is not None else None
    if classes is not None:
        report["per_class"] = {}
    real_masks = None
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if source == "ideogram" and classes is None:
            raise ValueError("source 'ideogram' needs chromosomes with known classes (e.g. --data ideogram:500:3)")
        masks, patterns = input_masks(chromosomes, source, seed=seed, bank=bank)
        if source == "real":
            real_masks = masks
        if progress:
            print(f"generating {len(masks)} images from {source} masks ...", flush=True)
        images = generate(generator, masks, batch_size=batch_size, inference=inference)
        dices, errors, failed = score_each(masks, patterns, images)
        report[source] = dataclasses.asdict(_summary(dices, errors, failed))
        if classes is not None:
            for name in sorted({c for c in classes if c}, key=_class_order):
                keep = classes == name
                entry = report["per_class"].setdefault(name, {})
                entry[source] = dataclasses.asdict(_summary(dices[keep], errors[keep], failed[keep]))
        if source == "perlin":
            if real_masks is None:
                real_masks, _ = input_masks(chromosomes, "real")
            report["baseline_dice"] = float(banded_dice(masks, real_masks))
    return report


def format_table(report, title="Generator"):
    """The paper's Table 1/3 layout: input set, Dice, MAENB; baseline below."""
    lines = [
        f"{title} on {report['count']} {'SYNTHETIC ' if report.get('synthetic') else ''}held-out shapes"
        + (f", inference {report['inference']}" if report.get("inference") else ""),
        f"{'input':<24}{'Dice':>16}{'MAENB':>16}{'failures':>10}",
    ]
    for source, label in (("real", "test_real"), ("perlin", "test_perlin"), ("ideogram", "test_ideogram"),
                          ("edited", "test_edited")):
        if source in report:
            scores = report[source]
            lines.append(
                f"{label:<24}{scores['dice']:>9.3f} ± {scores['dice_std']:.3f}"
                f"{scores['maenb']:>9.3f} ± {scores['maenb_std']:.3f}{scores['extraction_failures']:>10d}"
            )
    if "baseline_dice" in report:
        lines.append(f"{'baseline (perlin vs real)':<24}{report['baseline_dice']:>9.3f}{'-':>16}")
    return "\n".join(lines)


def format_class_table(report):
    """Dice (and MAENB) per chromosome class and source: the paper's Figure 4 as a table."""
    per_class = report.get("per_class")
    if not per_class:
        return ""
    sources = [s for s in SOURCES if s in report]
    header = f"{'class':<7}{'n':>5}" + "".join(f"{'Dice ' + s:>16}{'MAENB ' + s:>15}" for s in sources)
    lines = ["per chromosome class", header]
    for name, entry in per_class.items():
        count = next(iter(entry.values()))["count"]
        row = f"{name:<7}{count:>5d}"
        for source in sources:
            scores = entry.get(source)
            row += f"{scores['dice']:>16.3f}{scores['maenb']:>15.3f}" if scores else f"{'-':>16}{'-':>15}"
        lines.append(row)
    return "\n".join(lines)
