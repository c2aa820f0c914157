"""A transposed convolution that trains faster on small feature maps, same function and weights.

Why: on CPU, oneDNN runs a transposed convolution as a backward-data convolution and re-lays
its kernel out on every call, in the forward pass and again in both backward passes. On the
U-Net's innermost levels the map is tiny (1x1 to 8x8) while the kernel is large (4 x 4 x 512 x
1024 = 32 MB at 64 filters), so those layers are bound by kernel traffic: profiled on a 2-core
AMD EPYC (benchmarks/README.md, "Where a pix2pix step spends its time"), the three levels with
1024 input channels took 158 ms of an 826 ms training step at 256 px batch 1 for under 1 % of
its FLOPs.

Here the layer is one matrix product plus an overlap-add (col2im by output phase):

    taps[m, (ky, kx, o)] = sum_i x[m, i] * W[ky, kx, o, i]          (m = batch x positions)
    y[2 * iy + ky - 1, 2 * ix + kx - 1, o] += taps[(iy, ix), (ky, kx, o)]

which is the definition of a 4x4 stride-2 "same" transposed convolution (PyTorch's
ConvTranspose2d(4, 2, padding=1)); only the order of the float32 additions differs (relative
difference ~1e-6, tests/test_small_map_conv.py). The kernel keeps Keras's layout and is the
untransposed left operand of the product, so neither pass copies it: forward W @ x^T, and the
gradients dx = dT^T @ W and dW = dT @ x, where dT is the small gradient of the taps.

The matmul path is taken only in training (`training=True`: the kernel re-layout it avoids is
a training cost, and at inference kerasgan.inference_graph batches small maps its own way while
exporters such as tf2onnx need a graph without run-time branches), and only when the layer's rows (batch x input positions) are at most
`max_rows`; above that oneDNN's convolution is faster and is used (the crossover, measured at
1024 -> 512 channels, lies between 128 rows (1.9x faster) and 256 rows (1.0-1.1x)). Other
kernel sizes, strides, paddings or layouts always take Keras's own path.
"""

import keras
from keras import ops

DEFAULT_MAX_ROWS = 128


@keras.saving.register_keras_serializable(package="kerasgan")
class SmallMapConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` with a matmul path for small maps (see the module doc).

    Takes every argument of Conv2DTranspose plus `max_rows`; the weights (`kernel` of shape
    (kh, kw, filters, channels), `bias`) and their paths are the parent's, so weight files
    load into either class.
    """

    def __init__(self, *args, max_rows=DEFAULT_MAX_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        max_rows = int(max_rows)
        if max_rows < 0:
            raise ValueError(f"max_rows must be >= 0, got {max_rows}")
        self.max_rows = max_rows

    def get_config(self):
        return {**super().get_config(), "max_rows": self.max_rows}

    def _matmul_applies(self, inputs):
        """True/False when the batch is static; None when only the run time can decide."""
        if (tuple(self.kernel_size) != (4, 4) or tuple(self.strides) != (2, 2)
                or self.padding != "same" or tuple(self.dilation_rate) != (1, 1)
                or self.data_format != "channels_last" or self.output_padding is not None
                or keras.backend.backend() != "tensorflow"):
            return False
        height, width = inputs.shape[1], inputs.shape[2]
        if height is None or width is None or height * width > self.max_rows:
            return False
        batch = inputs.shape[0]
        return None if batch is None else batch * height * width <= self.max_rows

    def call(self, inputs, training=None):
        applies = self._matmul_applies(inputs) if training else False
        if applies is False:
            return super().call(inputs)
        if applies:
            outputs = self._matmul_transpose(inputs)
        else:
            import tensorflow as tf

            rows = tf.shape(inputs)[0] * inputs.shape[1] * inputs.shape[2]
            outputs = tf.cond(rows <= self.max_rows, lambda: self._matmul_transpose(inputs),
                              lambda: self._convolution_transpose(inputs))
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs) if self.activation is not None else outputs

    def _convolution_transpose(self, inputs):
        return ops.conv_transpose(inputs, ops.cast(self.kernel, inputs.dtype), strides=2,
                                  padding="same", data_format="channels_last")

    def _matmul_transpose(self, inputs):
        import tensorflow as tf

        batch = tf.shape(inputs)[0]
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        filters = self.filters
        kernel = tf.cast(self.kernel, inputs.dtype)
        # (16 * filters, channels) @ (channels, rows): the kernel is read in place.
        taps = tf.matmul(tf.reshape(kernel, (16 * filters, channels)),
                         tf.reshape(inputs, (-1, channels)), transpose_b=True)
        # ky = 2a + r, kx = 2b + c: tap (ky, kx) of input (iy, ix) lands on padded output row
        # 2 (iy + a) + r, column 2 (ix + b) + c.
        taps = tf.reshape(tf.transpose(taps), (batch, height, width, 2, 2, 2, 2, filters))
        phases = None
        for a in (0, 1):
            for b in (0, 1):
                shifted = tf.pad(taps[:, :, :, a, :, b, :, :],
                                 [[0, 0], [a, 1 - a], [b, 1 - b], [0, 0], [0, 0], [0, 0]])
                phases = shifted if phases is None else phases + shifted
        # (batch, H + 1, W + 1, r, c, filters) -> interleave rows and columns, drop the padding.
        phases = tf.transpose(phases, (0, 1, 3, 2, 4, 5))
        full = tf.reshape(phases, (batch, 2 * height + 2, 2 * width + 2, filters))
        return full[:, 1:2 * height + 1, 1:2 * width + 1, :]
