"""U-Net generator of pix2pix (Isola et al., CVPR 2017), built as a functional Keras model.

Encoder block i: LeakyReLU(0.2) -> Conv 4x4 stride 2 -> norm (no activation or norm on the
outermost input, no norm on the innermost). Decoder block: ReLU -> up(4x4 stride-2 transposed
conv, or bilinear x2 + 3x3 conv) -> norm [-> Dropout 0.5 for the depth - 5 innermost levels
below the bottleneck] -> concat with the mirrored encoder output; the outermost decoder ends in
tanh. With 64 filters and batch norm the trainable parameter count equals the reference
PyTorch implementation (54,407,809 at 256 px, 1 -> 1 channels).
"""

import math

import keras

from kerasgan.networks.layers import check_norm, conv_initializer, normalization, uses_bias
from kerasgan.networks.small_map_conv import SmallMapConv2DTranspose

UPSAMPLINGS = ("transpose", "bilinear")


def default_depth(height, width):
    """Number of stride-2 downsamplings: log2 of the shorter side (7 at 128 px, 8 at 256 px)."""
    return int(math.floor(math.log2(min(height, width))))


def _nearest_valid_sizes(size, multiple):
    below = (size // multiple) * multiple
    above = below + multiple
    return [s for s in (below, above) if s > 0]


def _check_spatial(input_shape, depth):
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {tuple(input_shape)!r}"
        )
    height, width, channels = input_shape
    if channels is None or channels < 1:
        raise ValueError(f"input_shape needs at least one channel, got {tuple(input_shape)!r}")
    if height is None or width is None:
        raise ValueError("unet_generator needs a fixed height and width to choose its depth")
    multiple = 2**depth
    for axis, size in (("height", height), ("width", width)):
        if size % multiple:
            raise ValueError(
                f"U-Net of depth {depth} needs a {axis} that is a multiple of {multiple}; got "
                f"{size}. Nearest valid sizes: {_nearest_valid_sizes(size, multiple)}"
            )


def _upsample(x, filters, upsampling, use_bias, name):
    if upsampling == "transpose":
        # Same layer as keras.layers.Conv2DTranspose, trained through one matmul on the
        # small innermost maps (kerasgan/networks/small_map_conv.py).
        return SmallMapConv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=use_bias,
            kernel_initializer=conv_initializer(), name=f"{name}_conv_transpose",
        )(x)
    # Bilinear resize then a 3x3 conv: no checkerboard artefacts (SynCGAN, section 3.3).
    x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_resize")(x)
    return keras.layers.Conv2D(
        filters, 3, padding="same", use_bias=use_bias,
        kernel_initializer=conv_initializer(), name=f"{name}_conv",
    )(x)


def unet_generator(
    input_shape=(256, 256, 3),
    output_channels=None,
    filters=64,
    norm="batch",
    upsampling="transpose",
    dropout=0.5,
    depth=None,
    max_filters_multiplier=8,
    output_activation="tanh",
    name="unet_generator",
):
    """Build the pix2pix U-Net generator.

    Args:
        input_shape: (height, width, channels) of the condition image.
        output_channels: channels of the generated image (default: same as the input).
        filters: filters of the outermost level (ngf); doubles per level up to 8x.
        norm: "batch" (reference), "instance" or "none".
        upsampling: "transpose" (reference) or "bilinear" (bilinear x2 + 3x3 conv).
        dropout: rate in the decoder blocks of the (depth - 5) innermost levels; 0 disables.
        depth: number of downsamplings; default log2 of the shorter side. Height and width must
            be multiples of 2**depth.
        output_activation: "tanh" (outputs in [-1, 1]) or None for logits.
    """
    input_shape = tuple(input_shape)
    check_norm(norm)
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if depth is None:
        if input_shape[0] is None or input_shape[1] is None:
            raise ValueError("give depth= when height or width is None")
        depth = default_depth(input_shape[0], input_shape[1])
    if depth < 2:
        raise ValueError(f"depth must be at least 2, got {depth}")
    _check_spatial(input_shape, depth)
    if filters < 1:
        raise ValueError(f"filters must be positive, got {filters}")
    output_channels = output_channels or input_shape[-1]
    use_bias = uses_bias(norm)

    def level_filters(level):
        return filters * min(2**level, max_filters_multiplier)

    inputs = keras.Input(shape=input_shape, name="condition")
    x = inputs
    skips = []
    for level in range(depth):
        innermost = level == depth - 1
        outermost = level == 0
        if not outermost:
            x = keras.layers.LeakyReLU(0.2, name=f"down{level}_leaky_relu")(x)
        x = keras.layers.Conv2D(
            level_filters(level), 4, strides=2, padding="same", use_bias=use_bias,
            kernel_initializer=conv_initializer(), name=f"down{level}_conv",
        )(x)
        if not outermost and not innermost and norm != "none":
            x = normalization(norm, f"down{level}_norm")(x)
        skips.append(x)

    # Decoder: level depth-1 (innermost) back to 0 (outermost).
    dropout_levels = max(depth - 5, 0)
    for level in reversed(range(depth)):
        outermost = level == 0
        innermost = level == depth - 1
        if not innermost:
            x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level]])
        x = keras.layers.ReLU(name=f"up{level}_relu")(x)
        if outermost:
            x = _upsample(x, output_channels, upsampling, True, f"up{level}")
            if output_activation:
                x = keras.layers.Activation(output_activation, dtype="float32", name="output")(x)
            break
        x = _upsample(x, level_filters(level - 1), upsampling, use_bias, f"up{level}")
        if norm != "none":
            x = normalization(norm, f"up{level}_norm")(x)
        # The reference puts dropout in the ngf*8 blocks between the innermost and the rest.
        if dropout and depth - 1 - dropout_levels <= level < depth - 1:
            x = keras.layers.Dropout(dropout, name=f"up{level}_dropout")(x)
    return keras.Model(inputs, x, name=name)
