"""Exported generators (SavedModel, ONNX) and BulkGenerator reproduce the Keras generator."""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kerasgan  # noqa: F401  (sets oneDNN before TensorFlow is imported)
import keras

from kerasgan.export import BulkGenerator, export_onnx, export_saved_model, onnx_available
from kerasgan.networks import patch_discriminator, unet_generator

SIZE = 32


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(3)
    model = unet_generator((SIZE, SIZE, 1), output_channels=1, filters=8)
    # Move batch-norm statistics away from (0, 1) so inference mode is really exercised.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.1, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 1.7, np.float32))
    return model


@pytest.fixture(scope="module")
def conditions():
    return np.random.default_rng(0).uniform(-1, 1, (5, SIZE, SIZE, 1)).astype("float32")


@pytest.fixture(scope="module")
def expected(generator, conditions):
    return generator(conditions, training=False).numpy()


@pytest.fixture(scope="module")
def saved_model_path(generator, tmp_path_factory):
    return export_saved_model(generator, tmp_path_factory.mktemp("export") / "generator")


def test_saved_model_reloads_in_a_fresh_process(saved_model_path, conditions, expected, tmp_path):
    np.save(tmp_path / "conditions.npy", conditions)
    script = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(saved_model_path)!r})
        conditions = np.load({str(tmp_path / "conditions.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, loaded.serve(conditions).numpy())
        """
    )
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", script], env=environment,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    reloaded = np.load(tmp_path / "out.npy")
    assert reloaded.shape == expected.shape
    np.testing.assert_allclose(reloaded, expected, atol=1e-5)


def test_saved_model_export_is_atomic_and_overwrites(generator, saved_model_path):
    again = export_saved_model(generator, saved_model_path)
    assert again == saved_model_path
    assert (saved_model_path / "saved_model.pb").is_file()
    leftovers = [p.name for p in saved_model_path.parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []
    with pytest.raises(FileExistsError, match="overwrite"):
        export_saved_model(generator, saved_model_path, overwrite=False)


def test_export_of_a_gan_wrapper_exports_its_generator(generator, conditions, expected, tmp_path):
    from kerasgan.models import Pix2Pix

    wrapper = Pix2Pix(generator, patch_discriminator((SIZE, SIZE, 2), filters=8))
    path = export_saved_model(wrapper, tmp_path / "from_wrapper")
    runner = BulkGenerator(path, batch_size=8)
    np.testing.assert_allclose(runner(conditions), expected, atol=1e-5)


@pytest.mark.parametrize("backend", ["keras", "saved_model"])
def test_bulk_generator_matches_keras_across_batches(generator, conditions, expected, backend):
    bulk = BulkGenerator(generator, backend=backend, batch_size=2)  # 5 images: 2 + 2 + 1
    assert bulk.backend == backend
    output = bulk(conditions)
    assert output.dtype == np.float32 and output.shape == expected.shape
    np.testing.assert_allclose(output, expected, atol=1e-4)
    single = bulk(conditions[3])
    assert single.shape == expected.shape[1:]
    np.testing.assert_allclose(single, expected[3], atol=1e-4)


def test_bulk_generator_from_saved_model_folder_and_keras_file(
    generator, saved_model_path, conditions, expected, tmp_path
):
    from_folder = BulkGenerator(saved_model_path, batch_size=4)
    assert from_folder.backend == "saved_model"
    assert from_folder.input_shape[1:] == (SIZE, SIZE, 1)
    np.testing.assert_allclose(from_folder(conditions), expected, atol=1e-4)
    keras_file = tmp_path / "generator.keras"
    generator.save(keras_file)
    from_file = BulkGenerator(keras_file, backend="keras")
    np.testing.assert_allclose(from_file(conditions), expected, atol=1e-4)


@pytest.mark.skipif(not onnx_available(), reason="tf2onnx/onnxruntime not installed")
def test_onnx_export_and_backend_match_keras(generator, conditions, expected, tmp_path):
    path = export_onnx(generator, tmp_path / "generator.onnx")
    assert path.is_file() and path.stat().st_size > 0
    from_file = BulkGenerator(path, batch_size=3)
    assert from_file.backend == "onnx"
    np.testing.assert_allclose(from_file(conditions), expected, atol=1e-4)
    from_model = BulkGenerator(generator, backend="auto", batch_size=8)
    assert from_model.backend == "onnx"
    np.testing.assert_allclose(from_model(conditions), expected, atol=1e-4)


def test_onnx_missing_dependency_gives_a_clear_error(generator, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_tf2onnx(name, *args, **kwargs):
        if name == "tf2onnx":
            raise ImportError("No module named 'tf2onnx'", name="tf2onnx")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_tf2onnx)
    with pytest.raises(ImportError, match=r"kerasgan\[onnx\]"):
        export_onnx(generator, tmp_path / "g.onnx")
    assert not onnx_available()
    assert BulkGenerator(generator, backend="auto").backend == "keras"


@pytest.fixture(scope="module")
def bulk(generator):
    return BulkGenerator(generator, backend="keras", batch_size=4)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.zeros((2, SIZE, SIZE, 3), np.float32), ValueError, "channels"),
        (np.zeros((2, SIZE + 8, SIZE, 1), np.float32), ValueError, "height"),
        (np.zeros((2, SIZE, SIZE), np.float32), ValueError, "shape"),
        (np.zeros((1, 2, SIZE, SIZE, 1), np.float32), ValueError, "shape"),
        (np.zeros((2, SIZE, SIZE, 1), np.uint8), TypeError, "dtype uint8"),
    ],
)
def test_bulk_generator_rejects_bad_conditions(bulk, bad, error, message):
    with pytest.raises(error, match=message):
        bulk(bad)


def test_bulk_generator_rejects_nan_and_names_the_image(bulk, conditions):
    bad = conditions.copy()
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite.*\[3\]"):
        bulk(bad)
    bad[3, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        bulk(bad)


def test_bulk_generator_empty_batch_and_bad_arguments(bulk, generator, tmp_path):
    empty = bulk(np.zeros((0, SIZE, SIZE, 1), np.float32))
    assert empty.shape == (0, SIZE, SIZE, 1)
    with pytest.raises(ValueError, match="backend"):
        BulkGenerator(generator, backend="tensorrt")
    with pytest.raises(ValueError, match="batch_size"):
        BulkGenerator(generator, batch_size=0)
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        BulkGenerator(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="keras.Model"):
        BulkGenerator(42)
    not_a_model = tmp_path / "folder"
    not_a_model.mkdir()
    with pytest.raises(ValueError, match="saved_model.pb"):
        BulkGenerator(not_a_model)


def test_bulk_generator_rejects_multi_input_models():
    first, second = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    model = keras.Model([first, second], keras.layers.Add()([first, second]))
    with pytest.raises(ValueError, match="one image input"):
        BulkGenerator(model, backend="keras")


def test_export_module_is_reachable_from_the_package():
    assert kerasgan.export.BulkGenerator is BulkGenerator
    assert pathlib.Path(kerasgan.export.__file__).name == "export.py"


@pytest.mark.skipif(not onnx_available(), reason="tf2onnx/onnxruntime not installed")
@pytest.mark.parametrize("threads, batch_size", [(1, 5), (2, 1), (2, 5), (3, 4)])
def test_onnx_batches_split_across_cores_give_the_same_images(generator, conditions, expected,
                                                                threads, batch_size):
    bulk = BulkGenerator(generator, backend="onnx", threads=threads, batch_size=batch_size)
    np.testing.assert_allclose(bulk(conditions), expected, atol=1e-4)
    np.testing.assert_allclose(bulk(conditions[2]), expected[2], atol=1e-4)  # one image


def test_bulk_generator_rejects_a_bad_thread_count(generator):
    for threads in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            BulkGenerator(generator, backend="keras", threads=threads)
