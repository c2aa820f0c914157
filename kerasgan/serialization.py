"""Compact weight files for the zoo and atomic writes for checkpoints.

Zoo weights are stored as a compressed `.npz` of float16 arrays keyed by each variable's path
(`down0_conv/kernel`), which halves the size of a float32 `.weights.h5` and keeps every file
of a published model under 25 MB. Loading casts back to the model's dtype and checks that
every variable is present with the right shape, naming the first one that is not.
"""

import io
import os
import pathlib
import tempfile
import contextlib

import numpy as np

from kerasgan.data.image_io import atomic_write_bytes


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it over `path` (atomic on POSIX).

    Use for writers that want a file name (Keras `save`, `save_weights`):
        with atomic_path("ckpt/epoch_003.weights.h5") as tmp: model.save_weights(tmp)
    The temporary name keeps the final suffix so Keras accepts it.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) or ".tmp"
    descriptor, temporary = tempfile.mkstemp(prefix=f".partial-{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(descriptor)
    os.unlink(temporary)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _variable_key(variable):
    return getattr(variable, "path", None) or variable.name


def weights_dict(model, dtype="float16"):
    """{variable path: numpy array} for every weight of `model` (trainable and not)."""
    arrays = {}
    for variable in model.weights:
        key = _variable_key(variable)
        if key in arrays:
            raise ValueError(f"two variables share the path {key!r} in model {model.name!r}")
        value = np.asarray(variable.numpy())
        if dtype is not None and np.issubdtype(value.dtype, np.floating):
            value = value.astype(dtype)
        arrays[key] = value
    return arrays


def save_weights_npz(model, path, dtype="float16"):
    """Save all weights of `model` to a compressed npz (float16 by default), atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **weights_dict(model, dtype))
    atomic_write_bytes(path, buffer.getvalue())
    return pathlib.Path(path)


def load_weights_npz(model, path):
    """Load weights saved by `save_weights_npz` into `model` (cast to each variable's dtype)."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file '{path}' does not exist")
    try:
        stored = np.load(path, allow_pickle=False)
        stored = {key: stored[key] for key in stored.files}
    except Exception as error:  # zipfile/pickle errors differ by corruption
        raise ValueError(f"weights file '{path}' is not a readable npz archive: {error}") from error
    expected = {_variable_key(v): v for v in model.weights}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"weights file '{path}' does not fit model {model.name!r}: "
            f"{len(missing)} variables missing (e.g. {missing[:2]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:2]})"
        )
    for key, variable in expected.items():
        value = stored[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"weights file '{path}': variable {key!r} has shape {value.shape}, "
                f"model expects {tuple(variable.shape)}"
            )
        variable.assign(value.astype(variable.dtype))
    return model


def remove_partial_writes(folder):
    """Delete temporary files that a killed atomic write left behind in `folder` (recursively).

    They were never renamed into place, so nothing refers to them; returns how many went.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.rglob(".partial-*") if p.is_file()]
    stale += [p for p in folder.rglob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def load_keras_model(path, **kwargs):
    """`keras.saving.load_model` after registering kerasgan's own layers and models.

    Keras finds a custom class only when its module has been imported; a `.keras` file saved by
    kerasgan holds e.g. `SmallMapConv2DTranspose` (every U-Net), so a fresh process (a CLI
    `generate RUN`) must import them first. Users loading such files themselves: `import
    kerasgan.networks, kerasgan.models` before `keras.saving.load_model`, or call this.
    """
    import keras

    import kerasgan.inference_graph  # noqa: F401
    import kerasgan.models  # noqa: F401
    import kerasgan.networks  # noqa: F401

    return keras.saving.load_model(path, **kwargs)
