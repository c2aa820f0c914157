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
