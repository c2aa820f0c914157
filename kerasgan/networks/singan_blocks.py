"""SinGAN per-scale generator and patch critic (Rott Shaham et al., ICCV 2019).

Both are five 3x3 convolution blocks (head, three body blocks, tail) with no padding inside;
each block but the tail is Conv -> BatchNorm -> LeakyReLU(0.2). The generator is residual:

    x_n = G_n(z_n, up(x_{n+1})) = up(x_{n+1}) + tanh_tail(body(head(pad(z_n + up(x_{n+1})))))

The input sum is zero-padded once by (kernel_size // 2) * num_blocks pixels so the valid
convolutions return the input size, as the reference implementation. The critic sees the
image unpadded and returns a map of patch scores of size (H - 10) x (W - 10) (receptive
field 11 x 11), which the WGAN-GP loss averages.

Both networks are fully convolutional: built with unknown height and width, one network
serves every output size (arbitrary-size sampling, harmonization of other images).
"""

import keras

from kerasgan.networks.layers import conv_initializer, normalization

DEFAULT_NUM_BLOCKS = 5
DEFAULT_KERNEL_SIZE = 3
LEAKY_SLOPE = 0.2


def scale_filters(scale, base_filters=32, max_filters=128, double_every=4):
    """SinGAN's width at a scale (0 = coarsest): base * 2^(scale // 4), capped at max_filters."""
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    return int(min(base_filters * 2 ** (scale // double_every), max_filters))


def _check(channels, filters, num_blocks, kernel_size):
    if not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a positive int (image channels), got {channels!r}")
    if not isinstance(filters, int) or filters < 1:
        raise ValueError(f"filters must be a positive int, got {filters!r}")
    if num_blocks < 2:
        raise ValueError(f"num_blocks must be >= 2 (head and tail), got {num_blocks}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")


def _conv_block(x, filters, kernel_size, name):
    # The reference ConvBlock keeps the conv bias before BatchNorm; kept for parameter parity.
    x = keras.layers.Conv2D(
        filters, kernel_size, padding="valid", kernel_initializer=conv_initializer(),
        bias_initializer="zeros", name=f"{name}_conv",
    )(x)
    x = normalization("batch", name=f"{name}_norm")(x)
    return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"{name}_lrelu")(x)


def _trunk(x, filters, num_blocks, kernel_size):
    x = _conv_block(x, filters, kernel_size, name="head")
    for index in range(num_blocks - 2):
        x = _conv_block(x, filters, kernel_size, name=f"body_{index}")
    return x


def singan_generator(channels, filters=32, num_blocks=DEFAULT_NUM_BLOCKS,
                     kernel_size=DEFAULT_KERNEL_SIZE, name="singan_generator"):
    """One SinGAN scale generator: inputs [noise, previous] (B, H, W, C) -> image (B, H, W, C).

    `noise` is the already amplitude-scaled noise map, `previous` the upsampled output of the
    coarser scale (zeros at the coarsest). Output = previous + tanh(...), not clipped.
    """
    _check(channels, filters, num_blocks, kernel_size)
    noise = keras.Input((None, None, channels), name="noise")
    previous = keras.Input((None, None, channels), name="previous")
    x = keras.layers.Add(name="noise_plus_previous")([noise, previous])
    x = keras.layers.ZeroPadding2D((kernel_size // 2) * num_blocks, name="pad")(x)
    x = _trunk(x, filters, num_blocks, kernel_size)
    x = keras.layers.Conv2D(
        channels, kernel_size, padding="valid", activation="tanh",
        kernel_initializer=conv_initializer(), bias_initializer="zeros", name="tail_conv",
    )(x)
    image = keras.layers.Add(name="residual")([x, previous])
    return keras.Model([noise, previous], image, name=name)


def singan_critic(channels, filters=32, num_blocks=DEFAULT_NUM_BLOCKS,
                  kernel_size=DEFAULT_KERNEL_SIZE, name="singan_critic"):
    """One SinGAN scale WGAN critic: image (B, H, W, C) -> patch scores (B, H-10, W-10, 1)."""
    _check(channels, filters, num_blocks, kernel_size)
    image = keras.Input((None, None, channels), name="image")
    x = _trunk(image, filters, num_blocks, kernel_size)
    scores = keras.layers.Conv2D(
        1, kernel_size, padding="valid", kernel_initializer=conv_initializer(),
        bias_initializer="zeros", name="tail_conv",
    )(x)
    return keras.Model(image, scores, name=name)


def receptive_field(num_blocks=DEFAULT_NUM_BLOCKS, kernel_size=DEFAULT_KERNEL_SIZE):
    """Side of the square patch one critic score (or generator output pixel) sees: 11 by default."""
    return num_blocks * (kernel_size - 1) + 1
