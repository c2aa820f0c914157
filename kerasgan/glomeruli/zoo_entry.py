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
