"""The augmentation study's classifiers: the small CNN and the keras.applications backbones."""

import numpy as np
import pytest

import kerasgan  # noqa: F401  (sets oneDNN before TensorFlow is imported)
import keras

from kerasgan.syncgan.study import APPLICATIONS, CLASSIFIERS, build_classifier, train_classifier


def _images(count, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3)).astype("float32")


def test_small_cnn_gives_class_logits():
    model = build_classifier("small_cnn", image_size=32, num_classes=3)
    logits = model(_images(4, 32)).numpy()
    assert logits.shape == (4, 3) and np.isfinite(logits).all()


@pytest.mark.parametrize("name", [
    "densenet121",
    pytest.param("densenet169", marks=pytest.mark.slow),
    pytest.param("densenet201", marks=pytest.mark.slow),
    pytest.param("resnet152", marks=pytest.mark.slow),
    pytest.param("inceptionv3", marks=pytest.mark.slow),
])
def test_every_application_backbone_builds_offline_and_classifies(name):
    model = build_classifier(name, image_size=32, num_classes=2)  # weights=None: no download
    logits = model(_images(2, 32)).numpy()
    assert logits.shape == (2, 2) and np.isfinite(logits).all()
    assert model.input_shape == (None, 32, 32, 3)  # InceptionV3 resizes to its 75 px inside


def test_local_weights_file_is_loaded_into_the_backbone(tmp_path):
    keras.utils.set_random_seed(0)
    application, _, _ = APPLICATIONS["densenet121"]
    source = getattr(keras.applications, application)(
        include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    path = tmp_path / "densenet121_notop.weights.h5"
    source.save_weights(path)
    keras.utils.set_random_seed(1)  # a different initialisation, overwritten by the file
    model = build_classifier("densenet121", image_size=32, weights=path)
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    for loaded, saved in zip(backbone.weights, source.weights):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


def test_classifier_choices_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown classifier 'vgg16'"):
        build_classifier("vgg16")
    with pytest.raises(ValueError, match="would download"):
        build_classifier("resnet152", weights="imagenet")
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        build_classifier("densenet121", weights=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="no pretrained weights"):
        build_classifier("small_cnn", weights=tmp_path / "w.h5")
    assert "resnet152" in CLASSIFIERS and "inceptionv3" in CLASSIFIERS


@pytest.mark.slow
def test_an_application_backbone_trains_in_the_study_loop():
    labels = np.repeat([0, 1], 8)
    images = _images(16, 32)
    images[labels == 1] *= 0.3  # dark class vs bright class: learnable in a few steps
    split = (images, labels)
    accuracy, best_validation = train_classifier(
        "densenet121", split, split, split, image_size=32, num_classes=2, epochs=2, batch_size=8)
    # Validation and test are the same images: the restored best epoch scores the same on both.
    assert accuracy == pytest.approx(best_validation)
    assert best_validation >= 0.5
