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
LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
_UNSET = object()
_USER_LOG_LEVEL = _UNSET
# Start-up lines TensorFlow's C++ writes to stderr while it loads, before absl logging is
# initialised, so TF_CPP_MIN_LOG_LEVEL cannot hide them (abseil-cpp PR 1718/1957, open).
STARTUP_CHATTER = ("WARNING: All log messages before absl::InitializeLog() is called", "I0000 ", "W0000 ")


def configure_before_tensorflow():
    """Turn oneDNN on (unless the user chose) and quiet TensorFlow's C++ start-up chatter."""
    global _USER_LOG_LEVEL
    if _USER_LOG_LEVEL is _UNSET:  # remember the user's own choice (the CLI honours it)
        _USER_LOG_LEVEL = os.environ.get(LOG_LEVEL_VARIABLE)
    os.environ.setdefault(LOG_LEVEL_VARIABLE, "2")
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


def quiet_console():
    """For the `kerasgan` command: no TensorFlow C++ chatter, each Python warning once.

    Unless the user set TF_CPP_MIN_LOG_LEVEL, it becomes 3 (no `E0000 ... cuInit ... CUDA error`
    on a CPU machine) and the first `import tensorflow` runs with stderr captured; the lines it
    wrote are passed on except STARTUP_CHATTER (info lines TensorFlow prints before its logging
    starts, which no environment variable silences). Python warnings show once per message;
    Keras's "`shuffle=True` was passed, but will be ignored" (our datasets are shuffled by
    design) not at all.
    """
    warnings.simplefilter("once")
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored")
    user_level = os.environ.get(LOG_LEVEL_VARIABLE) if _USER_LOG_LEVEL is _UNSET else _USER_LOG_LEVEL
    if user_level is not None:
        return False
    os.environ[LOG_LEVEL_VARIABLE] = "3"
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    return True


class _QuietTensorFlowImport:
    """A meta-path finder that wraps the first `import tensorflow` in `_filtered_stderr`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.loader
        with _filtered_stderr():
            self.loader.exec_module(module)


class _filtered_stderr:
    """Capture file descriptor 2 (C++ writes there directly) and replay all but STARTUP_CHATTER."""

    def __enter__(self):
        import tempfile

        sys.stderr.flush()
        self.capture = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.capture.fileno(), 2)
        return self

    def __exit__(self, *exc_info):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.capture.seek(0)
        text = self.capture.read().decode("utf-8", "replace")
        self.capture.close()
        kept = [line for line in text.splitlines(keepends=True) if not line.startswith(STARTUP_CHATTER)]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
        return False
