"""Saving matplotlib figures: atomically, so a kill never leaves a truncated PNG, and closed."""

import io
import pathlib

from kerasgan.data.image_io import atomic_write_bytes


def save_figure(figure, path, dpi=100, **savefig_kwargs):
    """Write `figure` as PNG to `path` (folders created) through a temporary file; close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **savefig_kwargs)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return pathlib.Path(path)
