"""kerasgan: a Keras 3 / TensorFlow model zoo of GANs that make synthetic medical images.

    import kerasgan
    generator = kerasgan.zoo.load("chromosome")

Sub-packages: `networks` (functional builders), `models` (trainable GANs), `losses`,
`metrics`, `transforms`, `data` (tf.data pipelines), `zoo`, and the paper modules
`chromosome`, `syncgan`, `glomeruli`, `medisingan`.
"""

from kerasgan._runtime import configure_before_tensorflow as _configure

_configure()

__version__ = "0.1.0"

_SUBMODULES = (
    "networks", "models", "losses", "metrics", "transforms", "data", "zoo", "cli", "export",
    "chromosome", "syncgan", "glomeruli", "medisingan", "serialization", "training", "example_data",
)


def set_intra_op_threads(count):
    """Threads per TensorFlow op (1: the cores run independent ops side by side; None: all cores
    per op, TensorFlow's default). Only before TensorFlow runs its first op; returns whether it
    was applied. See `kerasgan.models.singan.preferred_intra_op_threads`."""
    from kerasgan._runtime import set_intra_op_threads as apply

    return apply(count)


def __getattr__(name):
    # Sub-packages load on first use so `import kerasgan` and `kerasgan --help` stay fast.
    if name in _SUBMODULES:
        import importlib

        module = importlib.import_module(f"kerasgan.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kerasgan' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
