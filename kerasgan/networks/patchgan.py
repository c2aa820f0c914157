"""PatchGAN discriminator of pix2pix: a grid of real/fake logits, one per 70x70 patch (n_layers=3).

C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1) - 1-channel conv (stride 1), 4x4
kernels, LeakyReLU 0.2, exactly the reference NLayerDiscriminator (2,764,609 trainable
parameters on 2 input channels with batch norm).
"""

import keras

from kerasgan.networks.layers import check_norm, conv_initializer, normalization, uses_bias


def patch_receptive_field(n_layers):
    """Receptive field in pixels of one output logit (70 for n_layers=3)."""
    field = 1
    # Walk back from the output: two stride-1 convs, then n_layers stride-2 convs.
    for stride in [1, 1] + [2] * n_layers:
        field = (field - 1) * stride + 4
    return field


def patch_discriminator(
    input_shape=(256, 256, 6),
    filters=64,
    n_layers=3,
    norm="batch",
    conditional=True,
    name="patch_discriminator",
):
    """Build a PatchGAN discriminator returning logits of shape (batch, h', w', 1).

    Args:
        input_shape: (height, width, channels) of what the discriminator sees. With
            `conditional=True` that is concat(condition, image) (channels = both together);
            with `conditional=False` it is the image only.
        filters: filters of the first conv (ndf).
        n_layers: strided conv layers; 3 gives the 70x70 PatchGAN.
        norm: "batch", "instance" or "none".
        conditional: recorded in the config; the input layer is named to make it explicit.
    """
    input_shape = tuple(input_shape)
    check_norm(norm)
    if len(input_shape) != 3 or not input_shape[-1] or input_shape[-1] < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if n_layers < 1:
        raise ValueError(f"n_layers must be at least 1, got {n_layers}")
    use_bias = uses_bias(norm)
    input_name = "condition_and_image" if conditional else "image"
    inputs = keras.Input(shape=input_shape, name=input_name)
    x = keras.layers.Conv2D(
        filters, 4, strides=2, padding="same", kernel_initializer=conv_initializer(), name="conv0"
    )(inputs)
    x = keras.layers.LeakyReLU(0.2, name="conv0_leaky_relu")(x)
    multiplier = 1
    for layer in range(1, n_layers + 1):
        multiplier = min(2**layer, 8)
        last = layer == n_layers
        if last:
            # Stride-1 4x4 conv with padding 1 on each side, as the reference (not 'same').
            x = keras.layers.ZeroPadding2D(1, name=f"conv{layer}_pad")(x)
        x = keras.layers.Conv2D(
            filters * multiplier, 4, strides=1 if last else 2,
            padding="valid" if last else "same", use_bias=use_bias,
            kernel_initializer=conv_initializer(), name=f"conv{layer}",
        )(x)
        if norm != "none":
            x = normalization(norm, f"conv{layer}_norm")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"conv{layer}_leaky_relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="logits_pad")(x)
    x = keras.layers.Conv2D(
        1, 4, strides=1, padding="valid", kernel_initializer=conv_initializer(),
        dtype="float32", name="logits",
    )(x)
    return keras.Model(inputs, x, name=name)
