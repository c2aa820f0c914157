import numpy as np
import pytest

import kerasgan  # noqa: F401  (sets oneDNN before TensorFlow loads)
from kerasgan.networks import patch_discriminator, patch_receptive_field, unet_generator


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.parametrize(
    "size, channels, expected",
    [(256, 1, 54_407_809), (256, 3, 54_413_955), (128, 1, 41_822_849)],
)
def test_unet_parameter_count_equals_reference(size, channels, expected):
    model = unet_generator((size, size, channels), channels)
    assert trainable_count(model) == expected


@pytest.mark.parametrize("channels, expected", [(2, 2_764_609), (6, 2_768_705)])
def test_patchgan_parameter_count_equals_reference(channels, expected):
    assert trainable_count(patch_discriminator((256, 256, channels))) == expected


def test_patchgan_has_70px_receptive_field_and_30x30_logits():
    assert patch_receptive_field(3) == 70
    assert patch_discriminator((256, 256, 2)).output_shape == (None, 30, 30, 1)


def test_unet_depth_and_dropout_follow_input_size():
    def dropout_layers(model):
        return [layer for layer in model.layers if "dropout" in layer.name]

    big = unet_generator((256, 256, 1), 1, filters=4)
    small = unet_generator((128, 128, 1), 1, filters=4)
    assert sum("down" in l.name and l.name.endswith("_conv") for l in big.layers) == 8
    assert sum("down" in l.name and l.name.endswith("_conv") for l in small.layers) == 7
    assert len(dropout_layers(big)) == 3 and len(dropout_layers(small)) == 2


def test_unet_output_shape_range_and_channels():
    model = unet_generator((64, 32, 2), 3, filters=4)
    output = model(np.random.uniform(-1, 1, (2, 64, 32, 2)).astype("float32")).numpy()
    assert output.shape == (2, 64, 32, 3)
    assert np.all(np.abs(output) <= 1.0)


def test_unet_rejects_invalid_size_naming_nearest_valid():
    with pytest.raises(ValueError, match=r"multiple of 32.*\[64, 96\]"):
        unet_generator((70, 64, 1), 1, depth=5)


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("upsampling", ["transpose", "bilinear"])
def test_unet_options_build_and_serialize(norm, upsampling):
    import keras

    model = unet_generator((32, 32, 1), 1, filters=4, norm=norm, upsampling=upsampling)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(model(x).numpy(), clone(x).numpy())
    if upsampling == "bilinear":
        assert not any("conv_transpose" in l.name for l in model.layers)
    if norm == "instance":
        assert any(type(l).__name__ == "GroupNormalization" for l in model.layers)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="norm"):
        unet_generator((32, 32, 1), norm="layer")
    with pytest.raises(ValueError, match="upsampling"):
        unet_generator((32, 32, 1), upsampling="nearest")
    with pytest.raises(ValueError, match="input_shape"):
        patch_discriminator((32, 32))


def test_conv_initialisation_is_normal_002():
    model = unet_generator((256, 256, 1), 1)
    kernel = model.get_layer("down3_conv").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.001
    assert abs(kernel.mean()) < 0.001
