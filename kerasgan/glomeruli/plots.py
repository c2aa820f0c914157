"""Figures of the ablation: the same held-out conditions, one row of outputs per variant.

Collapse is visible as rows whose tiles all look alike (Allender et al., figs. 2, 6, 7).
"""


import numpy as np


def _tile(array):
    """[-1, 1] H x W x C -> [0, 1] RGB for imshow."""
    array = np.clip((np.asarray(array, np.float32) + 1.0) * 0.5, 0.0, 1.0)
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def _save(figure, path):
    from kerasgan.figures import save_figure

    return save_figure(figure, path, bbox_inches="tight")


def save_comparison_grid(path, test, outputs_by_variant, columns=8, title=None):
    """Rows: mask, structure map, real image, then one row per variant; columns: test examples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(columns, len(test))
    rows = [("mask", test.masks), ("structure map", test.structure_maps), ("real", test.images)]
    rows += [(name, outputs) for name, outputs in outputs_by_variant.items()]
    figure, axes = plt.subplots(len(rows), columns, figsize=(1.4 * columns, 1.4 * len(rows)), squeeze=False)
    for row, (label, images) in enumerate(rows):
        for column in range(columns):
            axis = axes[row, column]
            axis.imshow(_tile(images[column]), interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    if title:
        figure.suptitle(title, fontsize=9)
    try:
        return _save(figure, path)
    finally:
        plt.close(figure)


def save_variant_grid(path, test, outputs, title=None, columns=8):
    """One variant: rows mask, structure map, real image, output."""
    return save_comparison_grid(path, test, {title or "output": outputs}, columns=columns, title=title)


def save_run_comparison(path, run, test, inference="reference", seed=0, columns=8):
    """The comparison grid of an ablation run folder: each `<variant>.generator.weights.npz` in
    `run` rebuilt (as its results.json describes), run on `test` under `inference`, one row each."""
    import json
    import pathlib

    import keras

    from kerasgan.glomeruli.ablation import VARIANTS, generate
    from kerasgan.glomeruli.zoo_entry import build_generator
    from kerasgan.serialization import load_weights_npz

    run = pathlib.Path(run)
    settings = json.loads((run / "results.json").read_text())["settings"]
    outputs = {}
    for name in VARIANTS:
        weights = run / f"{name}.generator.weights.npz"
        if not weights.is_file():
            continue
        channels = 2 if VARIANTS[name]["use_structure_map"] else 1
        generator = build_generator({"image_size": settings["image_size"], "condition_channels": channels,
                                     "image_channels": 3, "filters": settings["filters"], "norm": "batch"})
        load_weights_npz(generator, weights)
        keras.utils.set_random_seed(seed)
        outputs[name] = generate(generator, test.conditions(VARIANTS[name]["use_structure_map"])[:columns],
                                 inference=inference)
    return save_comparison_grid(path, test.subset(range(columns)), outputs, columns=columns,
                                title=f"held-out conditions; outputs under inference={inference!r}")
