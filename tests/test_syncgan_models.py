"""SynCGAN mask generator and MaskGAN: label smoothing/flipping on the labels train_step uses."""

import keras
import numpy as np
import pytest

from kerasgan.models.mask_gan import MaskGAN
from kerasgan.networks.mask_generator import mask_generator
from kerasgan.networks.patchgan import patch_discriminator

SIZE = 32


def _gan(**kwargs):
    keras.utils.set_random_seed(0)
    generator = mask_generator(SIZE, noise_channels=2, filters=8)
    discriminator = patch_discriminator((SIZE, SIZE, 1), filters=8, conditional=False)
    return MaskGAN(generator, discriminator, seed=0, **kwargs)


def _masks(count=8):
    rng = np.random.default_rng(0)
    return np.where(rng.random((count, SIZE, SIZE, 1)) > 0.8, 1.0, -1.0).astype(np.float32)


def test_mask_generator_noise_to_mask_with_bilinear_upsampling():
    generator = mask_generator(SIZE, noise_channels=3, filters=8)
    assert generator.input_shape == (None, SIZE, SIZE, 3)
    assert generator.output_shape == (None, SIZE, SIZE, 1)
    kinds = {type(layer).__name__ for layer in generator.layers}
    assert "Conv2DTranspose" not in kinds and "UpSampling2D" in kinds
    upsampling_convs = [l for l in generator.layers if l.name.startswith("up") and l.name.endswith("_conv")]
    assert upsampling_convs and all(l.kernel_size == (3, 3) for l in upsampling_convs)
    out = generator(np.random.default_rng(0).standard_normal((2, SIZE, SIZE, 3)).astype("float32"))
    assert np.all(np.abs(np.asarray(out)) <= 1.0)


def _train_one_step_eagerly(gan):
    gan.compile(run_eagerly=True)
    gan.fit(_masks(), batch_size=8, epochs=1, verbose=0)
    return gan.last_labels


def test_smoothed_labels_used_by_train_step():
    labels = _train_one_step_eagerly(_gan(flip_probability=0.0))
    real, fake = labels["real"], labels["fake"]
    assert real.shape == fake.shape == (8,) + (labels["generator"].shape[1:])
    assert np.all((real >= 0.9) & (real <= 1.0)) and np.all((fake >= 0.0) & (fake <= 0.1))
    # One target per example, shared by all its patch logits; different across examples.
    assert np.all(real == real[:, :1, :1, :1])
    assert len(np.unique(real[:, 0, 0, 0])) > 1
    # The generator keeps the hard target 1.
    assert np.all(labels["generator"] == 1.0)


def test_flip_probability_one_swaps_every_target():
    labels = _train_one_step_eagerly(_gan(flip_probability=1.0))
    assert np.all(labels["real"] <= 0.1) and np.all(labels["fake"] >= 0.9)


def test_flip_probability_half_flips_some_examples():
    labels = _train_one_step_eagerly(_gan(flip_probability=0.5, label_smoothing=False))
    real = labels["real"][:, 0, 0, 0]
    assert set(np.unique(real)) <= {0.0, 1.0}


def test_no_smoothing_no_flip_gives_hard_targets():
    labels = _train_one_step_eagerly(_gan(flip_probability=0.0, label_smoothing=False))
    assert np.all(labels["real"] == 1.0) and np.all(labels["fake"] == 0.0)


def test_graph_mode_fit_reports_label_means_and_finite_losses():
    gan = _gan(flip_probability=0.0)
    gan.compile()
    history = gan.fit(_masks(16), batch_size=8, epochs=1, verbose=0).history
    assert 0.9 <= history["real_label"][-1] <= 1.0
    assert 0.0 <= history["fake_label"][-1] <= 0.1
    assert np.isfinite(history["d_loss"][-1]) and np.isfinite(history["g_loss"][-1])


def test_generate_binary_and_varies_with_noise():
    gan = _gan()
    masks = gan.generate(4, seed=0, threshold=np.median(
        gan.generator.predict(np.random.default_rng(0).standard_normal((4,) + gan.noise_shape)
                              .astype("float32"), verbose=0)))
    assert masks.dtype == np.uint8 and set(np.unique(masks)) <= {0, 1}
    assert not np.array_equal(masks[0], masks[1])
    assert np.array_equal(gan.generate(3, seed=7), gan.generate(3, seed=7))


def test_save_load_round_trip(tmp_path):
    gan = _gan()
    gan.compile()
    gan.fit(_masks(), batch_size=8, epochs=1, verbose=0)
    gan.save(tmp_path / "mask_gan.keras")
    restored = keras.saving.load_model(tmp_path / "mask_gan.keras")
    assert isinstance(restored, MaskGAN) and restored.flip_probability == gan.flip_probability
    noise = np.random.default_rng(1).standard_normal((2,) + gan.noise_shape).astype("float32")
    np.testing.assert_array_equal(restored.generator.predict(noise, verbose=0), gan.generator.predict(noise, verbose=0))


def test_bad_construction():
    generator = mask_generator(SIZE, filters=8)
    with pytest.raises(ValueError, match="discriminator"):
        MaskGAN(generator, patch_discriminator((SIZE, SIZE, 3), filters=8, conditional=False))
    discriminator = patch_discriminator((SIZE, SIZE, 1), filters=8, conditional=False)
    with pytest.raises(ValueError, match="flip_probability"):
        MaskGAN(generator, discriminator, flip_probability=1.5)
    with pytest.raises(ValueError, match="real_label_range"):
        MaskGAN(generator, discriminator, real_label_range=(1.0, 0.9))
    with pytest.raises(TypeError, match="keras.Model"):
        MaskGAN("generator", discriminator)
    with pytest.raises(RuntimeError, match="compile"):
        MaskGAN(generator, discriminator).train_step(_masks(2))
