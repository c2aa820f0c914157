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


# ------------------------------------------------------------------ training fast path
_PLAIN_LAYERS = ("InputLayer", "Add", "ZeroPadding2D", "Conv2D", "BatchNormalization", "LeakyReLU")


def supports_per_sample_forward(network):
    """Whether `per_sample_forward` can run `network` (one built by the two builders above):
    only those layer types, channels last, convs with a bias, no dilation or groups and a linear
    or tanh activation, BatchNorm over the last axis with scale and shift."""
    for layer in network.layers:
        if type(layer).__name__ not in _PLAIN_LAYERS:
            return False
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            return False
        if isinstance(layer, keras.layers.Conv2D) and not (
                layer.use_bias and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1
                and layer.activation in (keras.activations.tanh, keras.activations.linear)):
            return False
        if isinstance(layer, keras.layers.BatchNormalization) and not (
                layer.axis in (-1, 3) and layer.center and layer.scale):
            return False
    return True


def per_sample_forward(network, inputs, update_samples=None):
    """Train-mode pass of a SinGAN network over a batch of independent single-image passes.

    SinGAN trains with batch size 1, so each train-mode BatchNorm normalises one image by its
    own statistics. Here every sample of the batch is normalised by its own statistics, so a
    batch of B inputs gives exactly the B outputs (and, summed, the gradients) of B separate
    `network(x_i, training=True)` calls, in one pass with 1/B of the kernel calls. The moving
    averages are updated as those separate calls would, one sample after the other, for the
    samples listed in `update_samples` (None: all, in batch order; (): none, like
    `stateless_call`).

    The pass reads the Keras variables and runs plain TensorFlow ops: only the layers the
    builders above use are supported (see `supports_per_sample_forward`).
    """
    import tensorflow as tf

    if not supports_per_sample_forward(network):
        raise TypeError(f"per_sample_forward runs networks made by singan_generator/singan_critic; "
                        f"{network.name} has other layers")
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    values = {id(tensor): value for tensor, value in zip(network.inputs, inputs)}
    for layer in network.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        node = layer._inbound_nodes[0]
        arguments = [values[id(tensor)] for tensor in node.input_tensors]
        x = arguments[0]
        if kind == "Add":
            y = tf.add_n(arguments)
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            y = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        elif kind == "Conv2D":
            y = tf.nn.conv2d(x, layer.kernel.value, layer.strides, layer.padding.upper())
            y = tf.nn.bias_add(y, layer.bias.value)
            if layer.activation is keras.activations.tanh:
                y = tf.tanh(y)
        elif kind == "BatchNormalization":
            # Not tf.nn.moments: it stops the gradient of the mean inside the variance, exact for
            # first derivatives but not for the gradient penalty's second ones (the critic's
            # pre-norm conv biases then get a nonzero penalty gradient; the reference's is 0).
            mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            variance = tf.reduce_mean(tf.square(x - mean), axis=[1, 2], keepdims=True)
            y = tf.nn.batch_normalization(x, mean, variance, layer.beta.value, layer.gamma.value,
                                          layer.epsilon)
            _update_moving_statistics(layer, mean[:, 0, 0, :], variance[:, 0, 0, :], update_samples)
        else:  # LeakyReLU
            y = tf.nn.leaky_relu(x, layer.negative_slope)
        values[id(node.output_tensors[0])] = y
    return values[id(network.outputs[0])]


def _update_moving_statistics(layer, means, variances, update_samples):
    """moving <- momentum * moving + (1 - momentum) * statistic, once per sample, in order."""
    import tensorflow as tf

    if update_samples is None:
        update_samples = range(means.shape[0])
    update_samples = list(update_samples)
    if not update_samples:
        return
    momentum, count = float(layer.momentum), len(update_samples)
    # Unrolled: after k updates the old average keeps momentum^k and sample i (of k) weighs
    # (1 - momentum) * momentum^(k - 1 - i).
    weights = tf.constant([[(1.0 - momentum) * momentum ** (count - 1 - i)] for i in range(count)])
    for moving, statistic in ((layer.moving_mean, means), (layer.moving_variance, variances)):
        chosen = tf.gather(statistic, update_samples)
        moving.assign(momentum ** count * moving.value + tf.reduce_sum(weights * chosen, axis=0))
