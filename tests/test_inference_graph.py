"""The batched small-map inference twin computes the same function as the generator."""

import numpy as np
import pytest

import kerasgan  # noqa: F401  (sets oneDNN before TensorFlow is imported)
import keras

from kerasgan.networks.small_map_conv import SmallMapConv2DTranspose

from kerasgan.export import export_onnx, onnx_available
from kerasgan.inference_graph import (
    BatchedConv2D,
    BatchedConv2DTranspose,
    batch_small_convolutions,
)
from kerasgan.networks import unet_generator

LAYER_CASES = [
    # (layer class, kernel, stride, padding, map height)
    (keras.layers.Conv2D, 4, 2, "same", 4),
    (keras.layers.Conv2D, 4, 2, "same", 2),
    (keras.layers.Conv2D, 4, 2, "same", 1),
    (keras.layers.Conv2D, 3, 1, "same", 3),
    (keras.layers.Conv2D, 3, 2, "same", 5),
    (keras.layers.Conv2D, 3, 2, "valid", 5),
    (keras.layers.Conv2D, 1, 1, "same", 2),
    (keras.layers.Conv2DTranspose, 4, 2, "same", 1),
    (keras.layers.Conv2DTranspose, 4, 2, "same", 4),
    (keras.layers.Conv2DTranspose, 3, 2, "same", 3),
    (keras.layers.Conv2DTranspose, 3, 2, "valid", 2),
    (keras.layers.Conv2DTranspose, 4, 2, "valid", 3),
    (keras.layers.Conv2DTranspose, 2, 3, "same", 2),  # stride wider than the kernel
    (keras.layers.Conv2DTranspose, 3, 1, "same", 2),
]


def _random_weights(model, seed):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))


@pytest.mark.parametrize("kind, kernel, stride, padding, height", LAYER_CASES)
def test_batched_layer_equals_the_keras_layer(kind, kernel, stride, padding, height):
    width = height + 1  # a non-square map catches swapped axes
    inputs = keras.Input((height, width, 3))
    outputs = kind(5, kernel, strides=stride, padding=padding, activation="relu")(inputs)
    model = keras.Model(inputs, outputs)
    _random_weights(model, seed=kernel * 10 + height)
    twin = batch_small_convolutions(model, max_pixels=height * width)
    replaced = [layer for layer in twin.layers if isinstance(layer, (BatchedConv2D, BatchedConv2DTranspose))]
    assert len(replaced) == 1
    x = np.random.default_rng(1).normal(size=(3, height, width, 3)).astype("float32")
    expected = model(x).numpy()
    got = twin(x).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-5)


def test_unet_twin_replaces_only_small_maps_and_matches_in_inference_mode():
    keras.utils.set_random_seed(0)
    generator = unet_generator((32, 32, 2), output_channels=1, filters=8)
    for layer in generator.layers:  # inference-mode batch norm with non-trivial statistics
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.2, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 1.5, np.float32))
    twin = batch_small_convolutions(generator, max_pixels=16)
    assert twin is not generator
    batched = {layer.name: layer for layer in twin.layers
               if isinstance(layer, (BatchedConv2D, BatchedConv2DTranspose))}
    assert batched, "the 4x4 / 2x2 / 1x1 levels of a 32 px U-Net should be batched"
    for layer in generator.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            small = layer.input.shape[1] * layer.input.shape[2] <= 16
            assert (layer.name in batched) == small, layer.name
            assert type(layer) in (keras.layers.Conv2D, keras.layers.Conv2DTranspose,
                                   SmallMapConv2DTranspose)  # untouched
    for batch in (1, 5):
        x = np.random.default_rng(batch).uniform(-1, 1, (batch, 32, 32, 2)).astype("float32")
        np.testing.assert_allclose(twin(x, training=False).numpy(),
                                   generator(x, training=False).numpy(), atol=1e-5)


def test_batched_layer_config_round_trip():
    inputs = keras.Input((2, 2, 4))
    model = keras.Model(inputs, keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")(inputs))
    _random_weights(model, seed=7)
    twin = batch_small_convolutions(model, max_pixels=4)
    layer = next(layer for layer in twin.layers if isinstance(layer, BatchedConv2DTranspose))
    copy = BatchedConv2DTranspose.from_config(layer.get_config())
    copy.build((None, 2, 2, 4))
    copy.set_weights(layer.get_weights())
    x = np.random.default_rng(2).normal(size=(2, 2, 2, 4)).astype("float32")
    np.testing.assert_allclose(copy(x).numpy(), layer(x).numpy(), atol=1e-6)


def test_models_without_small_or_known_maps_come_back_unchanged():
    inputs = keras.Input((None, None, 3))
    dynamic = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    assert batch_small_convolutions(dynamic) is dynamic
    inputs = keras.Input((64, 64, 3))
    large = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    assert batch_small_convolutions(large, max_pixels=16) is large
    assert batch_small_convolutions(large, max_pixels=0) is large


@pytest.mark.skipif(not onnx_available(), reason="tf2onnx/onnxruntime not installed")
def test_onnx_export_batches_the_bottleneck_and_keeps_the_outputs(tmp_path):
    import onnx
    import onnxruntime

    keras.utils.set_random_seed(1)
    generator = unet_generator((32, 32, 1), output_channels=1, filters=8)
    x = np.random.default_rng(3).uniform(-1, 1, (4, 32, 32, 1)).astype("float32")
    expected = generator(x, training=False).numpy()
    counts = {}
    for pixels in (0, 16):
        path = export_onnx(generator, tmp_path / f"g{pixels}.onnx", batch_small_maps=pixels)
        graph = onnx.load(str(path)).graph
        counts[pixels] = sum(node.op_type in ("MatMul", "Gemm") for node in graph.node)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4)
    assert counts[0] == 0 and counts[16] > 0
    with pytest.raises(ValueError, match="batch_small_maps"):
        export_onnx(generator, tmp_path / "bad.onnx", batch_small_maps=-1)
