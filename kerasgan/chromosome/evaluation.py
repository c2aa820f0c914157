"""The paper's evaluation (section 3, Tables 1 and 3).

For an input banded mask x_input (real or Perlin pattern on a real shape) the generator makes
y_fake = G(x_input); its mask is re-extracted as x_fake = f_SEG(f_BPE(y_fake)) and compared:

- Dice(x_input, x_fake), background omitted (mean of black- and white-band Dice);
- MAENB(bp_input, bp_fake) (band-count error, see kerasgan.metrics.segmentation);
- baseline: Dice(x_perlin, x_real) of the same shapes, i.e. what conditioning on the shape
  alone would score.
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
        elif source == "edited":
            from kerasgan.chromosome.data import random_edit

            pattern = extraction.resample_pattern(random_edit(chromosomes.patterns[i], rng), length)
        else:
            raise ValueError(f"source must be 'real', 'perlin' or 'edited', got {source!r}")
        masks.append(chromosomes.banded_mask(i, pattern))
        patterns.append(pattern)
    return np.stack(masks), patterns


def score_images(masks, patterns, images):
    """Dice and MAENB of generated `images` against their input masks/patterns.

    An image whose pattern cannot be extracted (no chromosome found) scores Dice 0 and
    MAENB 1 and is counted as a failure.
    """
    dices, errors, failures = [], [], 0
    for mask, pattern, image in zip(masks, patterns, images):
        try:
            result = extraction.extract(image)
        except ValueError:
            failures += 1
            dices.append(0.0)
            errors.append(1.0)
            continue
        fake_mask = extraction.back_project(result.pattern, result.lines)
        dices.append(banded_dice(mask, fake_mask))
        errors.append(maenb(pattern, result.pattern))
    return SourceScores(float(np.mean(dices)), float(np.std(dices)), float(np.mean(errors)),
                        float(np.std(errors)), len(dices), failures)


def evaluate_generator(generator, chromosomes, sources=("real", "perlin"), seed=0, batch_size=32,
                       bank=None, progress=False):
    """Scores per input source plus the baseline; returns a dict for `format_table`."""
    from kerasgan.chromosome.model import generate

    report = {"count": len(chromosomes), "synthetic": bool(chromosomes.synthetic)}
    real_masks = None
    for source in sources:
        masks, patterns = input_masks(chromosomes, source, seed=seed, bank=bank)
        if source == "real":
            real_masks = masks
        if progress:
            print(f"generating {len(masks)} images from {source} masks ...", flush=True)
        images = generate(generator, masks, batch_size=batch_size)
        report[source] = dataclasses.asdict(score_images(masks, patterns, images))
        if source == "perlin":
            if real_masks is None:
                real_masks, _ = input_masks(chromosomes, "real")
            report["baseline_dice"] = float(banded_dice(masks, real_masks))
    return report


def format_table(report, title="Generator"):
    """The paper's Table 1/3 layout: input set, Dice, MAENB; baseline below."""
    lines = [
        f"{title} on {report['count']} {'SYNTHETIC ' if report.get('synthetic') else ''}held-out shapes",
        f"{'input':<24}{'Dice':>16}{'MAENB':>16}{'failures':>10}",
    ]
    for source, label in (("real", "test_real"), ("perlin", "test_perlin"), ("edited", "test_edited")):
        if source in report:
            scores = report[source]
            lines.append(
                f"{label:<24}{scores['dice']:>9.3f} ± {scores['dice_std']:.3f}"
                f"{scores['maenb']:>9.3f} ± {scores['maenb_std']:.3f}{scores['extraction_failures']:>10d}"
            )
    if "baseline_dice" in report:
        lines.append(f"{'baseline (perlin vs real)':<24}{report['baseline_dice']:>9.3f}{'-':>16}")
    return "\n".join(lines)
