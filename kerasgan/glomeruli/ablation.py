"""The ablation of Allender et al. (section 4.2), measured instead of eyeballed.

Every variant trains the same U-Net for the same steps on the same batches, then its
generator is run on held-out conditions and scored for fidelity (L1 to the real image of each
condition) and diversity (how different the outputs of different conditions are; see
`kerasgan.metrics.diversity`). Mode collapse shows as low diversity and a low share of the
output explained by the input. Variants:

    pix2pix              mask only, conditional PatchGAN, lambda = 100, no L_ms (Isola et al.)
    mask_ms              mask only + L_ms, unconditional D                  (fig. 6, second row)
    structure_no_ms      mask + structure map, no L_ms, unconditional D     (fig. 6, first row)
    full_conditional_d   mask + structure map + L_ms, conditional D         (fig. 7)
    full                 mask + structure map + L_ms, unconditional D       (the paper's model)
"""

import dataclasses
import json
import pathlib
import time

import numpy as np

VARIANTS = {
    "pix2pix": dict(use_structure_map=False, mode_seeking_weight=0.0, conditional_discriminator=True,
                    l1_weight=100.0, description="plain pix2pix: mask only, conditional D, lambda=100"),
    "mask_ms": dict(use_structure_map=False, mode_seeking_weight=10.0, conditional_discriminator=False,
                    l1_weight=10.0, description="mask only + L_ms, unconditional D"),
    "structure_no_ms": dict(use_structure_map=True, mode_seeking_weight=0.0,
                            conditional_discriminator=False, l1_weight=10.0,
                            description="mask + structure map, no L_ms, unconditional D"),
    "full_conditional_d": dict(use_structure_map=True, mode_seeking_weight=10.0,
                               conditional_discriminator=True, l1_weight=10.0,
                               description="mask + structure map + L_ms, conditional D"),
    "full": dict(use_structure_map=True, mode_seeking_weight=10.0, conditional_discriminator=False,
                 l1_weight=10.0, description="mask + structure map + L_ms, unconditional D (paper)"),
}


@dataclasses.dataclass
class AblationSettings:
    """Training set-up shared by every variant (the paper: 256 px, 64 filters, batch 1)."""

    image_size: int = 64
    filters: int = 16
    batch_size: int = 8
    steps: int = 600
    discriminator: str = "global"
    generator: str = "unet"
    # test-time protocol of the table: "reference" (dropout on, batch statistics, as pix2pix's
    # test.py); the other protocol's numbers are reported beside it
    inference: str = "reference"
    seed: int = 0
    steps_per_log: int = 100


def build_variant(name, settings):
    """A compiled `ModeSeekingPix2Pix` for one variant (seeded, Adam(2e-4, 0.5, 0.999))."""
    import keras

    from kerasgan.models.mode_seeking_pix2pix import ModeSeekingPix2Pix

    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {tuple(VARIANTS)}")
    variant = VARIANTS[name]
    keras.utils.set_random_seed(settings.seed)
    model = ModeSeekingPix2Pix(
        generator=settings.generator,
        discriminator=settings.discriminator,
        image_size=settings.image_size,
        condition_channels=2 if variant["use_structure_map"] else 1,
        image_channels=3,
        filters=settings.filters,
        l1_weight=variant["l1_weight"],
        mode_seeking_weight=variant["mode_seeking_weight"],
        conditional_discriminator=variant["conditional_discriminator"],
        name=f"ablation_{name}",
    )
    model.compile()
    return model


def generate(generator, conditions, batch_size=32, inference="deterministic"):
    """Generator outputs for `conditions` as a numpy array, under `inference` ("deterministic":
    inference mode; "reference": dropout on and batch statistics, see
    `kerasgan.models.pix2pix.run_generator`)."""
    from kerasgan.models.pix2pix import run_generator

    outputs = [
        np.asarray(run_generator(generator, conditions[start:start + batch_size], inference))
        for start in range(0, len(conditions), batch_size)
    ]
    return np.concatenate(outputs, axis=0)


def evaluate_outputs(conditions, outputs, targets, max_pairs=2000):
    """Fidelity and diversity of outputs for held-out conditions (all in [-1, 1])."""
    from kerasgan.metrics import diversity

    return {
        "l1_to_ground_truth": float(np.mean(np.abs(outputs - targets))),
        "pairwise_l1": diversity.mean_pairwise_l1(outputs, max_pairs=max_pairs),
        "pairwise_ms_ssim_distance": diversity.mean_pairwise_ms_ssim_distance(outputs, max_pairs=max_pairs),
        "explained_variance_share": diversity.explained_variance_share(conditions, outputs),
    }


def reference_row(test):
    """The same diversity numbers on the real test images (what the data itself has)."""
    row = evaluate_outputs(test.conditions(True), test.images, test.images)
    row["l1_to_ground_truth"] = 0.0
    return row


def train_variant(name, train, settings, progress=True):
    """Train one variant on `train` (PairedPatches); returns (model, wall seconds)."""
    from kerasgan.glomeruli.data import training_dataset

    variant = VARIANTS[name]
    model = build_variant(name, settings)
    dataset = training_dataset(
        train.conditions(variant["use_structure_map"]), train.images,
        batch_size=settings.batch_size, seed=settings.seed,
    )
    epochs = max(1, int(np.ceil(settings.steps / settings.steps_per_log)))
    steps_per_epoch = int(np.ceil(settings.steps / epochs))
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=False,
              verbose=2 if progress else 0)
    return model, time.perf_counter() - start


def run_ablation(train, test, settings=None, variants=None, progress=True, on_variant=None):
    """Train each variant and evaluate it on `test`.

    Returns a dict: settings, the reference row (real images) and one row per variant with
    its measured fidelity, diversity and training wall time.
    """
    settings = settings or AblationSettings()
    variants = list(variants or VARIANTS)
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {tuple(VARIANTS)}")
    if train.images.shape[1] != settings.image_size or test.images.shape[1] != settings.image_size:
        raise ValueError(
            f"data are {train.images.shape[1]} px (train) / {test.images.shape[1]} px (test) but "
            f"image_size is {settings.image_size}"
        )
    results = {"settings": dataclasses.asdict(settings), "train_examples": len(train),
               "test_examples": len(test), "reference_real_images": reference_row(test),
               "variants": {}}
    for name in variants:
        if progress:
            print(f"[ablation] training {name}: {VARIANTS[name]['description']}", flush=True)
        model, seconds = train_variant(name, train, settings, progress)
        conditions = test.conditions(VARIANTS[name]["use_structure_map"])
        outputs = generate(model.generator, conditions, inference=settings.inference)
        # R2 always against the full condition (mask + structure map): how much of each
        # output the real structure explains, comparable across variants.
        row = evaluate_outputs(test.conditions(True), outputs, test.images)
        other = "deterministic" if settings.inference == "reference" else "reference"
        row[f"inference_{other}"] = evaluate_outputs(
            test.conditions(True), generate(model.generator, conditions, inference=other), test.images)
        row.update(description=VARIANTS[name]["description"], train_seconds=round(seconds, 1),
                   inference=settings.inference)
        results["variants"][name] = row
        if on_variant is not None:
            on_variant(name, model, outputs)
    return results


COLUMNS = (
    ("l1_to_ground_truth", "L1 to GT"),
    ("pairwise_l1", "pairwise L1"),
    ("pairwise_ms_ssim_distance", "1-MS-SSIM"),
    ("explained_variance_share", "R2(input)"),
)


def format_table(results):
    """Markdown table of an ablation result (one row per variant, real images last)."""
    header = "| variant | " + " | ".join(title for _, title in COLUMNS) + " | train s |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, row in results["variants"].items():
        values = " | ".join(f"{row[key]:.4f}" for key, _ in COLUMNS)
        lines.append(f"| {name} | {values} | {row['train_seconds']:.0f} |")
    reference = results["reference_real_images"]
    values = " | ".join("-" if key == "l1_to_ground_truth" else f"{reference[key]:.4f}" for key, _ in COLUMNS)
    lines.append(f"| real test images | {values} | - |")
    return "\n".join(lines)


def save_results(results, path):
    from kerasgan.data.image_io import atomic_write_bytes

    atomic_write_bytes(pathlib.Path(path), (json.dumps(results, indent=2) + "\n").encode())
    return pathlib.Path(path)
