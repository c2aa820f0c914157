"""U-Net generator of Allender et al.'s appendix (table 1, "Pix2Pix generator model").

    encoder  C64 - C128 - C256 - C512 x 5   5x5 convs, stride 2, with bias; batch norm on all but
             the first; LeakyReLU 0.2 (ReLU after the innermost)
    decoder  D512 x 4 - D256 - D128 - D64 - out   5x5 stride-2 transposed convs, with bias and
             batch norm (not on the output); dropout after the three innermost; each output is
             concatenated with the encoder features of its size, then ReLU
    output   5x5 transposed conv to the image channels, tanh (outputs in [-1, 1])

Unlike the reference pix2pix U-Net (4x4 kernels, no bias before batch norm, pre-activation
blocks), the table's layers are post-activation 5x5 convolutions that keep their bias. At 256 px
with 64 filters each layer has the table's parameter count, counting a conv's bias and its batch
norm's scale and shift (2 per channel; the moving statistics are not trained): e.g.
5*5*64*128 + 128 + 2*128 = 205,184. The table's first row (1,664) is that of a one-channel
input (5*5*1*64 + 64; two channels give 3,264) and its innermost row "655513" a truncated
6,555,136 (the count of every other 512 -> 512 layer).
"""

import math

import keras

from kerasgan.networks.layers import check_norm, conv_initializer, normalization

APPENDIX_KERNEL_SIZE = 5
APPENDIX_DROPOUT_LAYERS = 3


def appendix_generator(
    input_shape=(256, 256, 2),
    output_channels=3,
    filters=64,
    kernel_size=APPENDIX_KERNEL_SIZE,
    norm="batch",
    dropout=0.5,
    depth=None,
    name="appendix_generator",
):
    """Build table 1's generator: condition (H, W, C) -> image (H, W, output_channels) in [-1, 1].

    Args:
        input_shape: (height, width, channels) of the condition; height and width multiples of
            2**depth.
        output_channels: channels of the generated image (3 for RGB histology).
        filters: filters of the first conv (64 in the table); doubles per level up to 8x.
        kernel_size: 5 in the table.
        norm: "batch" (the table), "instance" or "none".
        dropout: rate after the three innermost decoder layers (the table gives no rate; 0.5
            as pix2pix); 0 disables.
        depth: stride-2 levels; default log2 of the shorter side (8 at 256 px, down to 1x1).
    """
    input_shape = tuple(input_shape)
    check_norm(norm)
    if len(input_shape) != 3 or any(size is None or size < 1 for size in input_shape):
        raise ValueError(f"input_shape must be a fixed (height, width, channels), got {input_shape!r}")
    height, width, _ = input_shape
    if depth is None:
        depth = int(math.floor(math.log2(min(height, width))))
    if depth < 2:
        raise ValueError(f"depth must be at least 2, got {depth}")
    multiple = 2**depth
    if height % multiple or width % multiple:
        raise ValueError(f"appendix_generator of depth {depth} needs height and width that are "
                         f"multiples of {multiple}; got {height}x{width}")
    if filters < 1 or output_channels < 1:
        raise ValueError(f"filters and output_channels must be positive, got {filters}, {output_channels}")

    def level_filters(level):
        return filters * min(2**level, 8)

    def conv(layer, channels, label):
        return layer(channels, kernel_size, strides=2, padding="same", use_bias=True,
                     kernel_initializer=conv_initializer(), name=label)

    inputs = keras.Input(shape=input_shape, name="condition")
    x = inputs
    skips = []
    for level in range(depth):
        x = conv(keras.layers.Conv2D, level_filters(level), f"down{level}_conv")(x)
        if level > 0 and norm != "none":
            x = normalization(norm, f"down{level}_norm")(x)
        if level == depth - 1:
            x = keras.layers.ReLU(name=f"down{level}_relu")(x)
        else:
            x = keras.layers.LeakyReLU(0.2, name=f"down{level}_leaky_relu")(x)
            skips.append(x)
    for index, level in enumerate(reversed(range(depth - 1))):
        x = conv(keras.layers.Conv2DTranspose, level_filters(level), f"up{level}_conv_transpose")(x)
        if norm != "none":
            x = normalization(norm, f"up{level}_norm")(x)
        if dropout and index < APPENDIX_DROPOUT_LAYERS:
            x = keras.layers.Dropout(dropout, name=f"up{level}_dropout")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level]])
        x = keras.layers.ReLU(name=f"up{level}_relu")(x)
    x = conv(keras.layers.Conv2DTranspose, output_channels, "output_conv_transpose")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def layer_parameter_counts(model):
    """Trainable parameters per conv layer, its batch norm's scale and shift included, in order."""
    counts, current = [], None
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            current = sum(int(w.numpy().size) for w in layer.trainable_weights)
            counts.append(current)
        elif isinstance(layer, keras.layers.BatchNormalization) and counts:
            counts[-1] += sum(int(w.numpy().size) for w in layer.trainable_weights)
    return counts
