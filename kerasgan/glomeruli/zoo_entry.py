"""Loader of the zoo entry "glomeruli": a mode-seeking pix2pix generator (Allender et al.).

    generator = kerasgan.zoo.load("glomeruli")
    condition = kerasgan.glomeruli.data.make_condition(mask, image)   # 1 x H x W x 2 in [-1, 1]
    tissue = generator(condition, training=False)                     # 1 x H x W x 3 in [-1, 1]

The weights are float16 in `generator.weights.npz`; `card.json` holds the architecture and
the preprocessing (`preprocessing.structure_threshold`: the grey level the training structure
maps were cut at, which `make_condition` uses by default).
"""

import json
import pathlib

from kerasgan.serialization import load_weights_npz

ARCHITECTURE_FIELDS = ("image_size", "condition_channels", "image_channels", "filters", "norm")


def build_generator(architecture):
    """The U-Net generator described by a card's `architecture` dict (random weights)."""
    from kerasgan.networks.unet import unet_generator

    missing = [field for field in ARCHITECTURE_FIELDS if field not in architecture]
    if missing:
        raise ValueError(f"zoo card 'glomeruli': architecture lacks {missing}")
    size = int(architecture["image_size"])
    return unet_generator(
        (size, size, int(architecture["condition_channels"])),
        output_channels=int(architecture["image_channels"]),
        filters=int(architecture["filters"]), norm=architecture["norm"],
        name="mode_seeking_generator",
    )


def load(folder, card, weights="generator.weights.npz"):
    """Build the generator from `card["architecture"]` and load its weights (inference ready)."""
    if weights not in card.get("files", {}):
        raise ValueError(f"zoo entry 'glomeruli' has no weight file {weights!r}; it lists {sorted(card.get('files', {}))}")
    generator = build_generator(card["architecture"])
    load_weights_npz(generator, folder / weights)
    generator.trainable = False
    return generator


def store_preprocessing(folder, results):
    """Copy the `preprocessing` record of an ablation's results.json (or a train run's
    preprocessing.json) into the entry's card.json (then `kerasgan.zoo.seal` the folder)."""
    folder, results = pathlib.Path(folder), json.loads(pathlib.Path(results).read_text())
    preprocessing = results.get("preprocessing", results)
    if "structure_threshold" not in preprocessing:
        raise ValueError(f"'{results}' records no structure_threshold")
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text())
    card["preprocessing"] = preprocessing
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return preprocessing


SELECTION_SEED = 5  # patch positions of the selection set (training rows; training used seed 0)


def checkpoint_realism(run, count=64, seed=SELECTION_SEED, epochs=None):
    """Patch Fréchet distance of every per-epoch generator of a `train glomeruli` run, measured on
    TRAINING-split patches only (the held-out test rows stay unseen until the card's numbers).

    For each `checkpoints/generator_epoch_NNNN.weights.h5`: the generator's deterministic
    outputs for `count` training-row conditions (positions drawn with `seed`, structure maps at
    the run's threshold) against those patches' real images,
    `kerasgan.metrics.realism.patch_frechet_distance` in [0, 1] units. Why: the outputs' colour
    and texture statistics swing from epoch to epoch (GAN training does not converge to a
    point), so the final epoch is one draw of that swing.

    Returns {"epochs": {epoch: distance}, "best_epoch": epoch, "count", "seed", "split": "train"}.
    """
    import numpy as np

    from kerasgan.glomeruli import data
    from kerasgan.glomeruli.ablation import generate
    from kerasgan.metrics.realism import patch_frechet_distance
    from kerasgan.serialization import load_keras_model
    from kerasgan.training import epoch_checkpoints

    run = pathlib.Path(run)
    settings = json.loads((run / "run_settings.json").read_text())
    source = settings.get("--shipped-data")
    if source not in ("he", "ihc"):
        raise ValueError(f"run '{run}' was not trained on --shipped-data he|ihc (got {source!r})")
    threshold = float(json.loads((run / "preprocessing.json").read_text())["structure_threshold"])
    found = epoch_checkpoints(run, epochs)
    generator = load_keras_model(run / "generator.keras", compile=False)
    size = int(generator.input_shape[1])
    patches = data.shipped_patches(source, size, int(count), "train", seed=int(seed), structure_threshold=threshold)
    conditions = patches.conditions()
    distances = {}
    for epoch, path in found.items():
        generator.load_weights(path)
        outputs = np.clip(generate(generator, conditions, inference="deterministic"), -1.0, 1.0)
        distances[epoch] = float(patch_frechet_distance(outputs, patches.images, value_range=(-1, 1)))
    best = min(distances, key=distances.get)
    return {"epochs": distances, "best_epoch": best, "count": int(count), "seed": int(seed), "split": "train",
            "measure": "patch_frechet_distance (7x7, 16 components), deterministic inference"}


def export_run(run, folder, source="he", train_patches=1024, test_patches=64, seed=0, training=None, epoch=None):
    """Write a finished `kerasgan train glomeruli` run as the zoo entry in `folder`.

    Takes the run's FINAL generator (`generator.keras`; the val-L1-best one favours blur, which
    the mode-seeking term works against), or with `epoch=N` the generator of that epoch's
    checkpoint (`checkpoint_realism` picks one on training patches), stores it as float16 npz,
    and rewrites card.json:
    architecture from the generator itself, preprocessing from the run's preprocessing.json,
    the `"data"` record (source, patch counts, seed: what `kerasgan.glomeruli.evaluation`
    re-cuts the held-out patches from) and `training` (a dict of what was measured: wall time,
    load, epochs). Seal the folder afterwards (`kerasgan.zoo.seal`).
    """
    import keras

    from kerasgan.glomeruli.data import HE_DATA_DESCRIPTION
    from kerasgan.serialization import save_weights_npz

    run, folder = pathlib.Path(run), pathlib.Path(folder)
    final = run / "generator.keras"
    if not final.is_file():
        raise FileNotFoundError(f"run '{run}' has no generator.keras: it has not finished "
                                f"(re-run the same train command to resume it)")
    settings = json.loads((run / "run_settings.json").read_text())
    if settings.get("--shipped-data") != source:
        raise ValueError(f"run '{run}' trained on --shipped-data {settings.get('--shipped-data')!r}, not {source!r}")
    from kerasgan.serialization import load_keras_model
    generator = load_keras_model(final, compile=False)
    if epoch is not None:
        checkpoint = run / "checkpoints" / f"generator_epoch_{int(epoch):04d}.weights.h5"
        if not checkpoint.is_file():
            raise FileNotFoundError(f"run '{run}' has no checkpoint of epoch {epoch} ('{checkpoint}')")
        generator.load_weights(checkpoint)
    size, _, condition_channels = generator.input_shape[1:]
    architecture = {"image_size": int(size), "condition_channels": int(condition_channels),
                    "image_channels": int(generator.output_shape[-1]),
                    "filters": int(settings["--filters"]), "norm": "batch"}
    rebuilt = build_generator(architecture)  # the loader's network must take these weights
    rebuilt.set_weights(generator.get_weights())
    save_weights_npz(rebuilt, folder / "generator.weights.npz")
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text())
    card.update({
        "title": f"Mode-seeking pix2pix: nucleus mask + structure map -> H&E tissue patch ({size} px)",
        "architecture": architecture,
        "input": (f"N x {size} x {size} x 2 float32 in [-1, 1]: channel 0 binary nucleus mask, channel 1 "
                  "binary structure map (kerasgan.glomeruli.data.make_condition)"),
        "output": f"N x {size} x {size} x 3 float32 RGB in [-1, 1]",
        "preprocessing": json.loads((run / "preprocessing.json").read_text()),
        "data": {"source": source, "train_patches": int(train_patches), "test_patches": int(test_patches),
                 "seed": int(seed)},
        "trained_on": HE_DATA_DESCRIPTION if source == "he" else card.get("trained_on"),
        "training": {"settings": settings, "exported_epoch": "final" if epoch is None else int(epoch),
                     **(training or {})},
    })
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card


def select_and_export(run, folder, count=64, seed=SELECTION_SEED, training=None, **export_options):
    """`checkpoint_realism` over the run's epochs, then `export_run(epoch=best)`; the card's
    `training.epoch_selection` records the rule, every epoch's distance and the epoch kept."""
    import time

    started = time.perf_counter()
    selection = checkpoint_realism(run, count=count, seed=seed)
    record = {
        "rule": f"lowest patch Frechet distance of the per-epoch generator's deterministic outputs for {count} "
                f"TRAINING-row patches (seed {seed}) to those patches' real images; the held-out test rows "
                "are not read",
        "command": f"kerasgan.glomeruli.zoo_entry.checkpoint_realism('{run}', count={count}, seed={seed})",
        "best_epoch": selection["best_epoch"],
        "distances": {str(epoch): round(value, 5) for epoch, value in sorted(selection["epochs"].items())},
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    return export_run(run, folder, epoch=selection["best_epoch"],
                      training={**(training or {}), "epoch_selection": record}, **export_options)
