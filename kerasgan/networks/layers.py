"""Small building blocks shared by the networks: initialisers and normalisation by name."""

import keras

# pix2pix / DCGAN initialisation: conv weights ~ N(0, 0.02), norm scale ~ N(1, 0.02), shifts 0.
CONV_INITIALIZER_STDDEV = 0.02

NORMS = ("batch", "instance", "none")


def conv_initializer(seed=None):
    return keras.initializers.RandomNormal(mean=0.0, stddev=CONV_INITIALIZER_STDDEV, seed=seed)


def gamma_initializer(seed=None):
    return keras.initializers.RandomNormal(mean=1.0, stddev=CONV_INITIALIZER_STDDEV, seed=seed)


def check_norm(norm):
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def normalization(norm, name):
    """A normalisation layer by name; `instance` is GroupNormalization with one group per channel."""
    check_norm(norm)
    if norm == "batch":
        # momentum 0.9 == PyTorch's BatchNorm momentum 0.1, epsilon as PyTorch.
        return keras.layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, gamma_initializer=gamma_initializer(), name=name
        )
    if norm == "instance":
        # The reference pix2pix InstanceNorm2d has no affine parameters.
        return keras.layers.GroupNormalization(
            groups=-1, epsilon=1e-5, center=False, scale=False, name=name
        )
    return None


def uses_bias(norm):
    """Convs followed by batch norm drop their bias (the norm's shift replaces it), as the reference."""
    return norm != "batch"
