"""Process-wide TensorFlow settings that must be chosen before TensorFlow is imported.

oneDNN is off by default in TensorFlow on AMD CPUs; turning it on makes generator inference
~3.5x and training ~1.8x faster on the 2-core CPU this project is measured on (see
benchmarks/pix2pix_throughput.py). The variable is only read when TensorFlow is first
imported, so `import kerasgan` sets it unless the user already chose a value; if TensorFlow
was imported first, we say so once instead of silently running slow.
"""

import os
import sys
import warnings

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def configure_before_tensorflow():
    """Turn oneDNN on (unless the user chose) and quiet TensorFlow's C++ start-up chatter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        if os.environ.get(ONEDNN_VARIABLE) is None:
            warnings.warn(
                "TensorFlow was imported before kerasgan, so oneDNN stays at TensorFlow's default "
                "(off on AMD CPUs: CPU training ~1.8x slower). Import kerasgan first or set "
                f"{ONEDNN_VARIABLE}=1 in the environment.",
                RuntimeWarning,
                stacklevel=3,
            )
        return
    os.environ.setdefault(ONEDNN_VARIABLE, "1")


def onednn_enabled():
    """Whether oneDNN was requested for this process (what TensorFlow read at import)."""
    return os.environ.get(ONEDNN_VARIABLE, "0").lower() in ("1", "true")


def set_intra_op_threads(count):
    """Let each TensorFlow op use `count` threads (None: TensorFlow's default, all cores).

    A process-wide setting that TensorFlow accepts only before it runs its first op; returns
    whether it was applied. One thread per op lets the cores run independent ops side by side,
    which is faster when the ops are small (SinGAN's coarse scales: see
    `kerasgan.models.singan.preferred_intra_op_threads`). An explicit TF_NUM_INTRAOP_THREADS in
    the environment is the user's choice and is left alone.
    """
    if count is None or os.environ.get("TF_NUM_INTRAOP_THREADS"):
        return False
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(count))
    except RuntimeError:  # TensorFlow already initialised its thread pools
        return False
    return True
