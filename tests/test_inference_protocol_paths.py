"""Issue 12, deviation 1: inference="reference" | "deterministic" on every generation path.

Expected values are computed by hand with numpy from the layer weights: a BatchNorm under the
reference protocol normalises each example by its own mean/variance over height and width
(pix2pix's test.py runs train-mode BatchNorm at batch 1); deterministic uses the moving
statistics. Dropout under reference stays on (outputs differ call to call, each value is 0 or
x / keep); deterministic is the identity and repeatable.
"""

import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasgan.export import BulkGenerator, export_onnx, export_saved_model, onnx_available

EPSILON = 1e-5
GAMMA = np.array([1.5, -0.5], np.float32)
BETA = np.array([0.25, -1.0], np.float32)
MOVING_MEAN = np.array([3.0, -2.0], np.float32)
MOVING_VARIANCE = np.array([4.0, 0.25], np.float32)


def _norm_model():
    inputs = keras.Input((4, 4, 2))
    outputs = keras.layers.BatchNormalization(epsilon=EPSILON, name="norm")(inputs)
    model = keras.Model(inputs, outputs)
    model.get_layer("norm").set_weights([GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE])
    return model


def _dropout_model():
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dropout(0.5, name="drop")(inputs)
    return keras.Model(inputs, outputs)


def _conditions(count=3, shape=(4, 4, 2), seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype(np.float32)


def _by_hand_reference(x):
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[-1]):
            values = x[n, :, :, c].astype(np.float64)
            mean = values.sum() / values.size
            variance = ((values - mean) ** 2).sum() / values.size  # biased, as BatchNorm
            out[n, :, :, c] = (values - mean) / np.sqrt(variance + EPSILON) * GAMMA[c] + BETA[c]
    return out


def _by_hand_deterministic(x):
    return (x - MOVING_MEAN) / np.sqrt(MOVING_VARIANCE + EPSILON) * GAMMA + BETA


def _moving_statistics(model):
    layer = model.get_layer("norm")
    return layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()


BACKENDS = ["keras", "saved_model"] + (["onnx"] if onnx_available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_bulk_generator_reference_uses_per_example_batch_statistics(backend):
    model = _norm_model()
    x = _conditions()
    before = _moving_statistics(model)
    reference = BulkGenerator(model, backend=backend, inference="reference", progress=False)(x)
    deterministic = BulkGenerator(model, backend=backend, progress=False)(x)
    np.testing.assert_allclose(reference, _by_hand_reference(x), atol=1e-5)
    np.testing.assert_allclose(deterministic, _by_hand_deterministic(x), atol=1e-5)
    after = _moving_statistics(model)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_reference_batch_statistics_are_per_example_not_per_batch():
    # One example alone and inside a batch give the same output (test.py normalises at batch 1).
    model = _norm_model()
    x = _conditions(4)
    bulk = BulkGenerator(model, backend="keras", inference="reference", progress=False)
    np.testing.assert_allclose(bulk(x)[2], bulk(x[2]), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reference_dropout_is_on_and_deterministic_is_repeatable(backend):
    model = _dropout_model()
    x = np.full((2, 8, 8, 1), 0.5, np.float32)
    reference = BulkGenerator(model, backend=backend, inference="reference", progress=False)
    first, second = reference(x), reference(x)
    assert not np.array_equal(first, second), "reference dropout drew the same mask twice"
    # Inverted dropout at rate 0.5: every value is 0 or 0.5 / 0.5 = 1, some of each.
    assert set(np.unique(first).tolist()) == {0.0, 1.0}
    deterministic = BulkGenerator(model, backend=backend, progress=False)
    np.testing.assert_array_equal(deterministic(x), x)
    np.testing.assert_array_equal(deterministic(x), deterministic(x))


def test_saved_model_reference_never_writes_batch_norm_state(tmp_path):
    import tensorflow as tf

    model = _norm_model()
    path = export_saved_model(model, tmp_path / "reference", inference="reference")
    loaded = tf.saved_model.load(str(path))
    stored = {v.name: v.numpy().copy() for v in loaded.variables}
    assert any("moving_mean" in name for name in stored), sorted(stored)
    x = _conditions(5, seed=3)
    for _ in range(3):
        out = loaded.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(out, _by_hand_reference(x), atol=1e-5)
    for variable in loaded.variables:
        np.testing.assert_array_equal(variable.numpy(), stored[variable.name])
    # The moving statistics kept in the graph are the model's own (weights copied across).
    means = [v.numpy() for v in loaded.variables if "moving_mean" in v.name]
    np.testing.assert_array_equal(means[0], MOVING_MEAN)


def test_saved_model_default_is_deterministic(tmp_path):
    import tensorflow as tf

    path = export_saved_model(_norm_model(), tmp_path / "default")
    x = _conditions(2, seed=4)
    loaded = tf.saved_model.load(str(path))  # kept: the signature refers to its variables
    out = loaded.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(out, _by_hand_deterministic(x), atol=1e-5)


@pytest.mark.skipif(not onnx_available(), reason="needs the [onnx] extra")
def test_onnx_reference_export(tmp_path):
    x = _conditions(3, seed=5)
    path = export_onnx(_norm_model(), tmp_path / "g.onnx", inference="reference")
    np.testing.assert_allclose(BulkGenerator(path, progress=False)(x), _by_hand_reference(x), atol=1e-5)


def test_bad_protocol_and_exported_file_with_protocol_are_refused(tmp_path):
    with pytest.raises(ValueError, match="inference must be one of"):
        BulkGenerator(_norm_model(), backend="keras", inference="train")
    with pytest.raises(ValueError, match="inference must be one of"):
        export_saved_model(_norm_model(), tmp_path / "x", inference="stochastic")
    path = export_saved_model(_norm_model(), tmp_path / "det")
    with pytest.raises(ValueError, match="exported with"):
        BulkGenerator(path, inference="reference")


def test_cli_generate_pix2pix_inference_reference(tmp_path):
    from kerasgan.data.image_io import read_image, write_image

    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.BatchNormalization(epsilon=EPSILON, name="norm")(inputs)
    model = keras.Model(inputs, keras.layers.Activation("tanh")(outputs))
    gamma, beta = np.array([0.5], np.float32), np.array([0.1], np.float32)
    model.get_layer("norm").set_weights([gamma, beta, np.array([0.9], np.float32),
                                         np.array([0.01], np.float32)])
    model.save(tmp_path / "g.keras")
    data = tmp_path / "data"
    data.mkdir()
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4, 1) * 16
    write_image(data / "a.png", pixels)
    x = pixels.astype(np.float64) / 255.0 * 2.0 - 1.0
    z = (x - x.mean()) / np.sqrt(x.var() + EPSILON)
    expected = (np.tanh(z * gamma[0] + beta[0]) + 1.0) / 2.0 * 255.0
    for protocol in ("reference", "deterministic"):
        out = tmp_path / protocol
        done = subprocess.run(
            [sys.executable, "-m", "kerasgan.cli", "generate", "pix2pix", str(tmp_path / "g.keras"),
             "--data", str(data), "--out", str(out), "--backend", "keras", "--inference", protocol],
            capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        image = read_image(out / "a.png", 1).astype(np.float64)
        if image.max() <= 1.0:
            image = image * 255.0
        if protocol == "reference":
            np.testing.assert_allclose(image[..., 0], expected[..., 0], atol=1.0)
        else:
            # Moving mean 0.9, variance 0.01: all but the brightest pixels saturate near 0.
            assert np.abs(image[..., 0] - expected[..., 0]).max() > 50
