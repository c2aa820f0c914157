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
