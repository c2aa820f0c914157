"""Global (whole-image) discriminator of Allender et al., appendix table 2: one logit per image.

    C64 (no norm) - C128 - C256 - C512, 5x5 convs with strides 2, 2, 2, 1, LeakyReLU 0.2,
    batch norm after all but the first, then flatten and a dense layer to one logit.

At 256 x 256 x 3 the conv layers have the table's parameter counts (4,864 / 205,184 /
819,968 / 3,278,336: each conv keeps its bias and the batch norm adds a scale and a shift)
and the dense layer 32*32*512 + 1 = 524,289 (the table prints 0 for it). Strides follow the
table (the last conv keeps 32 x 32); pass `strides=(2, 2, 2, 2)` for four halvings.
"""

import keras

from kerasgan.networks.layers import check_norm, conv_initializer, normalization


def global_discriminator(
    input_shape=(256, 256, 3),
    filters=64,
    kernel_size=5,
    strides=(2, 2, 2, 1),
    norm="batch",
    conditional=False,
    name="global_discriminator",
):
    """Build the appendix discriminator returning logits of shape (batch, 1).

    Args:
        input_shape: (height, width, channels) of what it sees: the image only (the paper's
            unconditional D, eq. 2) or concat(condition, image) when `conditional=True`.
        filters: filters of the first conv; doubles per layer up to 8x.
        kernel_size: conv kernel size (5 in the paper).
        strides: one stride per conv layer; the number of conv layers is `len(strides)`.
        norm: "batch" (paper), "instance" or "none"; never on the first conv.
        conditional: recorded by naming the input; the channel count comes from `input_shape`.
    """
    input_shape = tuple(input_shape)
    check_norm(norm)
    if len(input_shape) != 3 or any(size is None or size < 1 for size in input_shape):
        raise ValueError(
            "global_discriminator needs a fixed input_shape (height, width, channels) for its "
            f"dense layer, got {input_shape!r}"
        )
    strides = tuple(int(stride) for stride in strides)
    if not strides or any(stride < 1 for stride in strides):
        raise ValueError(f"strides must be a non-empty sequence of positive ints, got {strides!r}")
    if filters < 1 or kernel_size < 1:
        raise ValueError(f"filters and kernel_size must be positive, got {filters}, {kernel_size}")
    downsampling = 1
    for stride in strides:
        downsampling *= stride
    if input_shape[0] < downsampling or input_shape[1] < downsampling:
        raise ValueError(
            f"input {input_shape[0]}x{input_shape[1]} is smaller than the total stride "
            f"{downsampling} of the conv layers {strides}"
        )
    inputs = keras.Input(shape=input_shape, name="condition_and_image" if conditional else "image")
    x = inputs
    for layer, stride in enumerate(strides):
        x = keras.layers.Conv2D(
            filters * min(2**layer, 8), kernel_size, strides=stride, padding="same",
            kernel_initializer=conv_initializer(), name=f"conv{layer}",
        )(x)
        if layer > 0 and norm != "none":
            x = normalization(norm, f"conv{layer}_norm")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"conv{layer}_leaky_relu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logits = keras.layers.Dense(
        1, kernel_initializer=conv_initializer(), dtype="float32", name="logits"
    )(x)
    return keras.Model(inputs, logits, name=name)
