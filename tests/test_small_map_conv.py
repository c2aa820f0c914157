"""SmallMapConv2DTranspose computes keras.layers.Conv2DTranspose(4, 2, "same") exactly (up to
float32 summation order), forward and backward, on the paths it takes (matmul on small maps,
oneDNN's convolution above `max_rows`, run-time choice for an unknown batch), and its weights
and config are the parent's.

Expected values come from two places that are not the code under test: Keras's own
Conv2DTranspose with the same kernel, and a direct NumPy loop over the definition
y[2 iy + ky - 1, 2 ix + kx - 1, o] += x[iy, ix, i] W[ky, kx, o, i].
Tolerance: 2e-5 relative to the largest output magnitude (float32 sums of <= 4096 terms).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasgan.networks.small_map_conv import SmallMapConv2DTranspose
from kerasgan.networks.unet import unet_generator

TOLERANCE = 2e-5


def _definition(x, kernel, bias):
    """The transposed convolution by its definition, in float64 NumPy."""
    batch, height, width, _ = x.shape
    kh, kw, filters, _ = kernel.shape
    full = np.zeros((batch, 2 * height + 2, 2 * width + 2, filters))
    for iy in range(height):
        for ix in range(width):
            for ky in range(kh):
                for kx in range(kw):
                    # padded row 2 iy + ky  <->  output row 2 iy + ky - 1
                    full[:, 2 * iy + ky, 2 * ix + kx, :] += x[:, iy, ix, :] @ kernel[ky, kx].T
    return full[:, 1:2 * height + 1, 1:2 * width + 1, :] + bias


def _pair(channels, filters, max_rows=128, seed=0):
    """(ours, keras's) with the same random kernel and bias."""
    ours = SmallMapConv2DTranspose(filters, 4, strides=2, padding="same", max_rows=max_rows)
    theirs = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same")
    ours.build((None, None, None, channels))
    theirs.build((None, None, None, channels))
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(4, 4, filters, channels)).astype(np.float32)
    bias = rng.normal(size=(filters,)).astype(np.float32)
    for layer in (ours, theirs):
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
    return ours, theirs, kernel, bias


def _close(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    assert float(np.abs(actual - expected).max()) <= TOLERANCE * scale, float(np.abs(actual - expected).max())


def _forward_and_gradients(layer, x, upstream):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * upstream)
    dx, dkernel, dbias = tape.gradient(loss, [x, layer.kernel, layer.bias])
    return y.numpy(), dx.numpy(), dkernel.numpy(), dbias.numpy()


@pytest.mark.parametrize("batch,size,channels,filters", [(1, 1, 8, 4), (2, 2, 6, 5), (1, 4, 16, 8),
                                                         (3, 3, 4, 3), (2, 8, 4, 2)])
def test_matmul_path_matches_the_definition_and_keras(batch, size, channels, filters):
    ours, theirs, kernel, bias = _pair(channels, filters)
    assert ours._matmul_applies(keras.KerasTensor((batch, size, size, channels))) is True
    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, size, size, channels)).astype(np.float32)
    upstream = rng.normal(size=(batch, 2 * size, 2 * size, filters)).astype(np.float32)
    _close(ours(x, training=True), _definition(x.astype(np.float64), kernel.astype(np.float64), bias))
    for got, want in zip(_forward_and_gradients(ours, x, upstream), _forward_and_gradients(theirs, x, upstream)):
        _close(got, want)


def test_gradient_of_the_kernel_matches_the_definition():
    # dL/dW[ky, kx, o, i] = sum over (b, iy, ix) of x[b, iy, ix, i] * g[b, 2 iy + ky - 1, 2 ix + kx - 1, o]
    ours, _, _, _ = _pair(3, 2)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 3, 3)).astype(np.float32)
    upstream = rng.normal(size=(2, 6, 6, 2)).astype(np.float32)
    _, _, dkernel, dbias = _forward_and_gradients(ours, x, upstream)
    padded = np.pad(upstream.astype(np.float64), [[0, 0], [1, 1], [1, 1], [0, 0]])
    want = np.zeros((4, 4, 2, 3))
    for ky in range(4):
        for kx in range(4):
            window = padded[:, ky:ky + 6:2, kx:kx + 6:2, :]  # g at (2 iy + ky - 1, 2 ix + kx - 1)
            want[ky, kx] = np.einsum("byxo,byxi->oi", window, x.astype(np.float64))
    _close(dkernel, want)
    _close(dbias, upstream.astype(np.float64).sum(axis=(0, 1, 2)))


def test_large_maps_take_keras_path_and_unknown_batch_decides_at_run_time():
    ours, theirs, _, _ = _pair(4, 3, max_rows=16)
    assert ours._matmul_applies(keras.KerasTensor((2, 4, 4, 4))) is False   # 32 rows > 16
    assert ours._matmul_applies(keras.KerasTensor((1, 4, 4, 4))) is True    # 16 rows
    assert ours._matmul_applies(keras.KerasTensor((None, 4, 4, 4))) is None
    assert ours._matmul_applies(keras.KerasTensor((None, 8, 8, 4))) is False  # 64 > 16 at any batch
    rng = np.random.default_rng(3)

    @tf.function(input_signature=[tf.TensorSpec((None, 4, 4, 4), tf.float32)])
    def unknown_batch(x):
        return ours(x, training=True)

    for batch in (1, 2, 3):  # 16 rows: matmul; 32 and 48: convolution
        x = rng.normal(size=(batch, 4, 4, 4)).astype(np.float32)
        _close(unknown_batch(x), theirs(x))
        _close(ours(x, training=True), theirs(x))


def test_other_configurations_are_keras_own():
    layer = SmallMapConv2DTranspose(3, 3, strides=2, padding="same")
    assert layer._matmul_applies(keras.KerasTensor((1, 2, 2, 4))) is False
    layer = SmallMapConv2DTranspose(3, 4, strides=1, padding="same")
    assert layer._matmul_applies(keras.KerasTensor((1, 2, 2, 4))) is False
    layer = SmallMapConv2DTranspose(3, 4, strides=2, padding="valid")
    assert layer._matmul_applies(keras.KerasTensor((1, 2, 2, 4))) is False
    with pytest.raises(ValueError, match="max_rows"):
        SmallMapConv2DTranspose(3, 4, strides=2, padding="same", max_rows=-1)


def test_activation_and_no_bias():
    ours = SmallMapConv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, activation="relu")
    theirs = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, activation="relu")
    x = np.random.default_rng(4).normal(size=(1, 2, 2, 5)).astype(np.float32)
    ours(x), theirs(x)
    theirs.kernel.assign(ours.kernel)
    got = ours(x, training=True).numpy()
    _close(got, theirs(x))
    assert got.min() == 0.0 and got.max() > 0.0  # relu applied, not skipped


def test_config_round_trip_and_weights_load_across_classes(tmp_path):
    ours, theirs, _, _ = _pair(4, 3, max_rows=64)
    config = ours.get_config()
    assert config["max_rows"] == 64
    again = SmallMapConv2DTranspose.from_config(config)
    assert again.max_rows == 64 and again.filters == 3 and tuple(again.kernel_size) == (4, 4)
    # The U-Net built with our class and a copy with Keras's class share the weight file.
    generator = unet_generator((16, 16, 1), output_channels=1, filters=4)
    assert any(type(layer) is SmallMapConv2DTranspose for layer in generator.layers)
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(5).normal(size=(2, 16, 16, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), generator(x, training=False).numpy())
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in generator.layers]


def test_unet_training_step_matches_keras_conv_transpose():
    """One SGD step of a U-Net whose innermost up-sampling runs through the matmul path gives
    the weights of the same U-Net with keras.layers.Conv2DTranspose in every up-sampling."""
    def build(cls):
        original = keras.layers.Conv2DTranspose
        import kerasgan.networks.unet as unet

        unet.SmallMapConv2DTranspose, saved = cls, unet.SmallMapConv2DTranspose
        try:
            keras.utils.set_random_seed(7)
            return unet.unet_generator((32, 32, 1), output_channels=1, filters=4, norm="batch")
        finally:
            unet.SmallMapConv2DTranspose = saved
            assert keras.layers.Conv2DTranspose is original

    ours, reference = build(SmallMapConv2DTranspose), build(keras.layers.Conv2DTranspose)
    assert sum(type(layer) is SmallMapConv2DTranspose for layer in ours.layers) >= 4
    assert not any(type(layer) is SmallMapConv2DTranspose for layer in reference.layers)
    reference.set_weights(ours.get_weights())
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 32, 32, 1)).astype(np.float32)
    target = rng.normal(size=(2, 32, 32, 1)).astype(np.float32)
    for model in (ours, reference):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(x, training=True) - target))
        gradients = tape.gradient(loss, model.trainable_variables)
        for variable, gradient in zip(model.trainable_variables, gradients):
            variable.assign_sub(0.1 * gradient)
    for got, want in zip(ours.get_weights(), reference.get_weights()):
        _close(got, want)


def _graph_ops(function, spec):
    graph = tf.function(function).get_concrete_function(spec).graph
    return {op.type for op in graph.get_operations()}


def test_matmul_path_is_taken_in_training_only():
    # Guards the path choice itself: without it every comparison above could pass on Keras's path.
    ours, _, _, _ = _pair(8, 4)
    spec = tf.TensorSpec((2, 2, 2, 8), tf.float32)
    training_ops = _graph_ops(lambda x: ours(x, training=True), spec)
    assert "MatMul" in training_ops and "Conv2DBackpropInput" not in training_ops
    for inference in (lambda x: ours(x, training=False), lambda x: ours(x)):
        inference_ops = _graph_ops(inference, spec)  # no run-time branch for exporters
        assert "Conv2DBackpropInput" in inference_ops and "MatMul" not in inference_ops
        assert not inference_ops & {"If", "StatelessIf"}
    unknown = _graph_ops(lambda x: ours(x, training=True), tf.TensorSpec((None, 2, 2, 8), tf.float32))
    assert unknown & {"If", "StatelessIf"}


def test_a_saved_unet_loads_in_a_fresh_process(tmp_path):
    # Keras finds SmallMapConv2DTranspose only once its module is imported: what every
    # kerasgan loader (`generate RUN`, export, resume) goes through must import it.
    import subprocess
    import sys

    path = tmp_path / "generator.keras"
    unet_generator((16, 16, 1), output_channels=1, filters=4).save(path)
    code = ("import sys; from kerasgan.serialization import load_keras_model; "
            "model = load_keras_model(sys.argv[1], compile=False); print(type(model.layers[-2]).__name__)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1500:]
