"""Inference twin of a generator whose small-map convolutions read their weights once per batch.

Why: CPU runtimes (ONNX Runtime's MLAS, oneDNN) run a convolution image by image, one GEMM
each. Where the feature map is tiny (the U-Net bottleneck: 4x4, 2x2, 1x1 at 128 px) the
GEMM has a handful of rows, so each image streams the whole kernel (8-33 MB per layer at 64
filters) from memory again: measured with ONNX Runtime at 128 px batch 8, the three
innermost levels take 17 % of a generator pass for 2 % of its FLOPs (35-40 GFLOP/s, against
~170 GFLOP/s for the large maps). Written as one matrix product over the whole batch
(rows = batch x positions), the kernel is read once per batch.

    twin = batch_small_convolutions(generator, max_pixels=16)   # same function, new graph

Each `Conv2D` / `Conv2DTranspose` whose input map has at most `max_pixels` positions becomes
`BatchedConv2D` / `BatchedConv2DTranspose`, which compute the same function (im2col by
strided slices + one MatMul; MatMul + col2im by output phase); everything else is cloned
with its weights. Outputs equal the original's to float32 round-off (tests/test_export.py).
Used by `kerasgan.export.export_onnx` and `BulkGenerator`; the Keras model itself is not
changed (training keeps the plain layers).
"""

import math

import keras
import numpy as np
from keras import ops

from kerasgan.networks.small_map_conv import SmallMapConv2DTranspose

DEFAULT_MAX_PIXELS = 16


def _same_padding(size, kernel, stride):
    """TensorFlow's SAME padding (before, after) and output size for one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _check_plain(layer):
    config = layer.get_config()
    if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
        return False
    if config.get("data_format", "channels_last") != "channels_last":
        return False
    return config["padding"] in ("same", "valid")


class _BatchedConvolution(keras.layers.Layer):
    """What the two batched layers share: the convolution's arguments and a fixed map size."""

    def __init__(self, filters, kernel_size, strides, padding, use_bias, activation, input_size,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.strides = tuple(int(s) for s in strides)
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.activation = keras.activations.get(activation)
        self.input_size = tuple(int(s) for s in input_size)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.output_size, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, use_bias=self.use_bias,
                      activation=keras.activations.serialize(self.activation),
                      input_size=self.input_size)
        return config


@keras.saving.register_keras_serializable(package="kerasgan")
class BatchedConv2D(_BatchedConvolution):
    """`Conv2D` (no dilation/groups, channels last) as im2col over the batch + one MatMul.

    The input height and width are fixed at construction: the slices are static, so the
    exported graph has no shape arithmetic.
    """

    def __init__(self, filters, kernel_size, strides, padding, use_bias, activation, input_size,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, use_bias, activation, input_size,
                         **kwargs)
        pads, outs = [], []
        for size, kernel, stride in zip(self.input_size, self.kernel_size, self.strides):
            if padding == "same":
                before, after, out = _same_padding(size, kernel, stride)
            else:
                before, after, out = 0, 0, (size - kernel) // stride + 1
            if out < 1:
                raise ValueError(f"{self.name}: a {kernel}-wide kernel does not fit a map of {size}")
            pads.append((before, after))
            outs.append(out)
        self._pads, self.output_size = tuple(pads), tuple(outs)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, channels, self.filters),
                                      initializer="zeros")
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, x):
        (top, bottom), (left, right) = self._pads
        if top or bottom or left or right:
            x = ops.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        (kernel_h, kernel_w), (stride_h, stride_w) = self.kernel_size, self.strides
        out_h, out_w = self.output_size
        # Tap (r, c) sees x[r + stride * i, c + stride * j]: one strided slice per tap.
        columns = [x[:, r:r + stride_h * (out_h - 1) + 1:stride_h, c:c + stride_w * (out_w - 1) + 1:stride_w, :]
                   for r in range(kernel_h) for c in range(kernel_w)]
        columns = ops.concatenate(columns, axis=-1) if len(columns) > 1 else columns[0]
        rows = ops.reshape(columns, (-1, columns.shape[-1]))
        y = ops.matmul(rows, ops.reshape(self.kernel, (-1, self.filters)))
        if self.bias is not None:
            y = y + self.bias
        y = ops.reshape(y, (-1, out_h, out_w, self.filters))
        return self.activation(y)


@keras.saving.register_keras_serializable(package="kerasgan")
class BatchedConv2DTranspose(_BatchedConvolution):
    """`Conv2DTranspose` (no dilation, channels last) as one MatMul over the batch + col2im.

    out[s*i + r, s*j + c] += x[i, j] . W[r, c]: the MatMul gives every tap's contribution at
    once; tap (r, c) lands on output phase (r % s, c % s) shifted by (r // s, c // s), so each
    phase is a sum of padded slices and depth-to-space interleaves the phases.
    """

    def __init__(self, filters, kernel_size, strides, padding, use_bias, activation, input_size,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, use_bias, activation, input_size,
                         **kwargs)
        if self.strides[0] != self.strides[1]:
            raise ValueError(f"{self.name}: depth-to-space needs equal strides, got {self.strides}")
        crops, outs = [], []
        for size, kernel, stride in zip(self.input_size, self.kernel_size, self.strides):
            full = (size - 1) * stride + kernel
            if padding == "same":
                out = size * stride
                before = max(full - out, 0) // 2
            else:
                out, before = full, 0
            crops.append(before)
            outs.append(out)
        self._crops, self.output_size = tuple(crops), tuple(outs)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, self.filters, channels),
                                      initializer="zeros")
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, x):
        height, width = self.input_size
        (kernel_h, kernel_w), stride = self.kernel_size, self.strides[0]
        channels, filters = x.shape[-1], self.filters
        # (kh, kw, filters, channels) -> (channels, kh * kw * filters): every tap in one product.
        weights = ops.reshape(ops.transpose(self.kernel, (3, 0, 1, 2)), (channels, -1))
        taps = ops.matmul(ops.reshape(x, (-1, channels)), weights)
        taps = ops.reshape(taps, (-1, height, width, kernel_h * kernel_w * filters))
        phase_h = height - 1 + -(-kernel_h // stride)
        phase_w = width - 1 + -(-kernel_w // stride)
        phases = []
        for phase_r in range(stride):
            for phase_c in range(stride):
                total = None
                for r in range(phase_r, kernel_h, stride):
                    for c in range(phase_c, kernel_w, stride):
                        start = (r * kernel_w + c) * filters
                        tap = taps[..., start:start + filters]
                        shift_r, shift_c = r // stride, c // stride
                        tap = ops.pad(tap, [[0, 0], [shift_r, phase_h - height - shift_r],
                                            [shift_c, phase_w - width - shift_c], [0, 0]])
                        total = tap if total is None else total + tap
                if total is None:  # a stride wider than the kernel leaves this phase empty
                    total = ops.zeros_like(taps[..., :filters])
                    total = ops.pad(total, [[0, 0], [0, phase_h - height], [0, phase_w - width], [0, 0]])
                phases.append(total)
        y = ops.concatenate(phases, axis=-1) if len(phases) > 1 else phases[0]
        if stride > 1:
            y = _depth_to_space(y, stride)
        top, left = self._crops
        out_h, out_w = self.output_size
        y = y[:, top:top + out_h, left:left + out_w, :]
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)


def _depth_to_space(x, block):
    # TensorFlow's DCR order: channel (a * block + b) * C + c goes to (block*i + a, block*j + b).
    import tensorflow as tf

    return tf.nn.depth_to_space(x, block)


def _small_map(layer, max_pixels):
    shape = layer.input.shape if hasattr(layer, "input") else None
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None  # unknown map size: keep the plain layer
    if shape[1] * shape[2] > max_pixels:
        return None
    return int(shape[1]), int(shape[2])


def batch_small_convolutions(model, max_pixels=DEFAULT_MAX_PIXELS):
    """A functional clone of `model` whose convolutions on maps of <= `max_pixels` positions
    compute as one MatMul over the batch (same outputs; faster on CPU at batch > 1).

    Returns `model` itself when no layer qualifies (or it is not a functional model).
    """
    if max_pixels < 1:
        return model
    replaced = {}

    def clone(layer):
        kind = None
        if type(layer) is keras.layers.Conv2D:
            kind = BatchedConv2D
        elif type(layer) in (keras.layers.Conv2DTranspose, SmallMapConv2DTranspose):
            kind = BatchedConv2DTranspose
        size = _small_map(layer, max_pixels) if kind is not None and _check_plain(layer) else None
        if size is None:
            return layer.__class__.from_config(layer.get_config())
        config = layer.get_config()
        twin = kind(config["filters"], config["kernel_size"], config["strides"], config["padding"],
                    config["use_bias"], config["activation"], size, name=layer.name)
        replaced[layer.name] = twin
        return twin

    try:
        twin = keras.models.clone_model(model, clone_function=clone)
    except (ValueError, TypeError):  # subclassed or otherwise not clonable: run it as it is
        return model
    if not replaced:
        return model
    for layer in model.layers:
        if layer.weights:  # input layers are renamed by the clone, and hold nothing
            twin.get_layer(layer.name).set_weights(layer.get_weights())
    return twin


# ------------------------------------------------------------------------------ reference protocol
INFERENCE_PROTOCOLS = ("reference", "deterministic")
DEFAULT_INFERENCE = "deterministic"


def check_inference(inference, where="inference"):
    if inference not in INFERENCE_PROTOCOLS:
        raise ValueError(f"{where} must be one of {INFERENCE_PROTOCOLS}, got {inference!r}")
    return inference


@keras.saving.register_keras_serializable(package="kerasgan")
class BatchStatisticsNormalization(keras.layers.Layer):
    """`BatchNormalization` that always normalises with the statistics of each example alone.

    What the reference pix2pix test.py computes (train-mode BatchNorm at batch 1), as a layer
    with no state updates: the moving statistics are kept (so weights copy across) but never
    read or written, so an exported graph in this mode cannot change them.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def build(self, input_shape):
        channels = (int(input_shape[self.axis]),)
        self.gamma = self.add_weight(name="gamma", shape=channels, initializer="ones") \
            if self.scale else None
        self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros") \
            if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=channels, initializer="zeros",
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=channels,
                                               initializer="ones", trainable=False)

    def call(self, x, mask=None, training=None):
        channel_axis = self.axis % len(x.shape)
        # Batch 1: the statistics run over every axis but the channels, per example.
        axes = [axis for axis in range(1, len(x.shape)) if axis != channel_axis]
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        shape = [1] * len(x.shape)
        shape[channel_axis] = x.shape[channel_axis]
        y = (x - mean) * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, shape)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, shape)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale)
        return config


@keras.saving.register_keras_serializable(package="kerasgan")
class AlwaysOnDropout(keras.layers.Layer):
    """Dropout that is on in inference mode too (Isola et al. 3.2: dropout is the noise z).

    Draws with TensorFlow's stateful RandomUniform op, so an exported graph (SavedModel,
    ONNX's RandomUniformLike) draws a fresh mask every call and holds no seed variable.
    """

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, x, training=None):
        import tensorflow as tf

        keep = 1.0 - self.rate
        if keep >= 1.0:
            return x
        mask = tf.cast(tf.random.uniform(tf.shape(x), dtype=x.dtype) < keep, x.dtype)
        return x * mask / keep

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate)
        return config


def reference_protocol_graph(model):
    """A functional clone of `model` that computes the reference test-time protocol in
    inference mode: every `BatchNormalization` uses per-example batch statistics and every
    `Dropout` stays on, with no state written (`run_generator(..., "reference")` in a graph
    that exports). Deterministic layers are cloned with their weights.
    """
    def clone(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            return BatchStatisticsNormalization(axis=layer.axis, epsilon=layer.epsilon,
                                                center=layer.center, scale=layer.scale,
                                                name=layer.name)
        if isinstance(layer, keras.layers.Dropout):
            return AlwaysOnDropout(layer.rate, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    try:
        twin = keras.models.clone_model(model, clone_function=clone)
    except (ValueError, TypeError) as error:
        raise ValueError(f"the reference inference protocol needs a functional generator; cannot "
                         f"rebuild {model.name!r}: {error}") from error
    for layer in model.layers:
        if not layer.weights:
            continue
        target = twin.get_layer(layer.name)
        if isinstance(layer, keras.layers.BatchNormalization):
            # gamma/beta only when present, then the moving statistics, in the twin's order.
            values = {w.path.split("/")[-1]: w.numpy() for w in layer.weights}
            target.set_weights([values[w.path.split("/")[-1]] for w in target.weights])
        else:
            target.set_weights(layer.get_weights())
    return twin
