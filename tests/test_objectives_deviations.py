"""Deviations from the papers found in review, each fixed (issue 12): tests that fail on the old
behaviour. Mode-seeking normalisation (deviation 2) is in test_objectives_pix2pix.py, label
flipping per iteration (deviation 4) in test_objectives_mask_gan.py."""

import argparse

import keras
import numpy as np
import pytest

import kerasgan  # noqa: F401
from kerasgan.models import ModeSeekingPix2Pix
from kerasgan.networks.appendix_generator import appendix_generator, layer_parameter_counts


# ------------------------------------------------------------------ deviation 5: appendix generator
def test_appendix_generator_layers_by_hand():
    """5x5 convs with bias; batch norm (scale + shift) on all but the first and the output."""
    model = appendix_generator((32, 32, 2), 3, filters=2)
    # encoder filters 2, 4, 8, 16, 16; decoder inputs are [up, skip] concatenations
    expected = [25 * 2 * 2 + 2, 25 * 2 * 4 + 3 * 4, 25 * 4 * 8 + 3 * 8, 25 * 8 * 16 + 3 * 16,
                25 * 16 * 16 + 3 * 16,
                25 * 16 * 16 + 3 * 16, 25 * 32 * 8 + 3 * 8, 25 * 16 * 4 + 3 * 4, 25 * 8 * 2 + 3 * 2,
                25 * 4 * 3 + 3]
    assert layer_parameter_counts(model) == expected
    kernels = {layer.kernel_size for layer in model.layers if hasattr(layer, "kernel_size")}
    assert kernels == {(5, 5)}
    dropouts = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == ["up3_dropout", "up2_dropout", "up1_dropout"]  # the three innermost
    assert model.output_shape == (None, 32, 32, 3)
    out = np.asarray(model(np.zeros((1, 32, 32, 2), np.float32)))
    assert np.all(np.abs(out) <= 1.0)



def test_appendix_generator_activations_by_hand():
    """Encoder LeakyReLU 0.2 (ReLU after the innermost), decoder ReLU, output tanh of the last
    transposed conv."""
    model = appendix_generator((32, 32, 2), 3, filters=2)  # depth 5: levels 0-4
    slopes = [float(layer.negative_slope) for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert slopes == [pytest.approx(0.2)] * 4
    relus = [layer.name for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert relus == ["down4_relu", "up3_relu", "up2_relu", "up1_relu", "up0_relu"]
    pre_activation = keras.Model(model.input, model.get_layer("output_conv_transpose").output)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 2)).astype(np.float32)
    conv = model.get_layer("output_conv_transpose")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, bias + np.array([3.0, -3.0, 0.0], np.float32)])  # pre-activations outside [-1, 1]
    logits = np.asarray(pre_activation(x, training=False), np.float64)
    assert np.abs(logits).max() > 2.0
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.tanh(logits), atol=1e-5)

# Allender et al., appendix table 1, "Number of parameters" per conv/deconv row (256 px, 64
# filters, a one-channel input as the first row implies; "655513" printed for the innermost).
TABLE_1 = [1664, 205184, 819968, 3278336, 6555136, 6555136, 6555136, 6555136,
           6555136, 13108736, 13108736, 13108736, 6554368, 1638784, 409792, 9603]


@pytest.mark.slow
def test_appendix_generator_parameter_counts_equal_table_1():
    model = appendix_generator((256, 256, 1), 3, filters=64)
    assert layer_parameter_counts(model) == TABLE_1
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    assert shapes[7] == (1, 1, 512) and shapes[-1] == (256, 256, 3)


def test_mode_seeking_model_builds_the_appendix_networks_by_default_discriminator():
    model = ModeSeekingPix2Pix(generator="appendix", image_size=32, filters=2)
    assert any(layer.name == "up3_dropout" for layer in model.generator.layers)
    assert model.discriminator.output_shape == (None, 1)  # appendix table 2 (whole image)
    assert ModeSeekingPix2Pix(image_size=32, filters=2).discriminator.output_shape == (None, 1)
    with pytest.raises(ValueError, match="generator must be"):
        ModeSeekingPix2Pix(generator="resnet", image_size=32, filters=2)


def test_glomeruli_cli_and_ablation_offer_the_appendix_generator():
    from kerasgan.glomeruli import ablation, commands

    parser = argparse.ArgumentParser()
    commands._add_data_arguments(parser)
    args = parser.parse_args(["--generator", "appendix"])
    assert args.generator == "appendix" and args.discriminator == "global"
    assert parser.parse_args([]).generator == "unet"
    settings = ablation.AblationSettings(image_size=32, filters=2, generator="appendix")
    model = ablation.build_variant("full", settings)
    assert {layer.kernel_size for layer in model.generator.layers if hasattr(layer, "kernel_size")} == {(5, 5)}
    assert model.discriminator.output_shape == (None, 1)


# ------------------------------------------------------------------ deviation 4: SynCGAN validation
SYNCGAN_TINY = dict(image_size=32, filters=2, noise_channels=1, depth=2, n_layers=1)


def _cytology(count_per_class, seed):
    from kerasgan.syncgan.renderer import render_cytology

    return render_cytology(count_per_class=count_per_class, image_size=32, seed=seed)


def test_syncgan_picks_the_cgan_epoch_on_the_given_validation_split_and_trains_on_all(monkeypatch):
    from kerasgan.syncgan import pipeline as pipeline_module

    seen = {}
    original_pairs, original_best = pipeline_module._pair_dataset, pipeline_module.BestGeneratorByValidationLoss

    def pair_dataset(conditions, targets, *args, **kwargs):
        seen["train"] = len(conditions)
        return original_pairs(conditions, targets, *args, **kwargs)

    class Best(original_best):
        def __init__(self, conditions, targets, batch_size=8):
            seen["validation_targets"] = np.array(targets)
            super().__init__(conditions, targets, batch_size)

    monkeypatch.setattr(pipeline_module, "_pair_dataset", pair_dataset)
    monkeypatch.setattr(pipeline_module, "BestGeneratorByValidationLoss", Best)
    images, masks, labels = _cytology(3, seed=2)
    val_images, val_masks, val_labels = _cytology(1, seed=5)
    model = pipeline_module.SynCGAN(**SYNCGAN_TINY)
    history = model.fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=1, batch_size=2,
                        verbose=0, validation=(val_images, val_labels, val_masks))
    assert seen["train"] == len(images)  # no carve-out from the training images
    expected = val_images.astype(np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(seen["validation_targets"], expected, atol=1e-6)
    assert history["cgan_best_epoch"] == 0


def test_study_passes_its_own_validation_split_to_syncgan(monkeypatch):
    from kerasgan.syncgan import study
    from kerasgan.syncgan.pipeline import SynCGAN

    class Stop(Exception):
        pass

    calls = {}

    def fit(self, images, labels, **kwargs):
        calls.update(images=np.array(images), validation=kwargs.get("validation"))
        raise Stop

    monkeypatch.setattr(SynCGAN, "fit", fit)
    images, _, labels = _cytology(5, seed=1)
    with pytest.raises(Stop):
        study.run_study(images, labels, ["benign", "malignant"], seeds=(0,), image_size=32,
                        syncgan_options={k: v for k, v in SYNCGAN_TINY.items() if k != "image_size"},
                        verbose=0)
    train, validation, _ = study.split_3_1_1(labels, 0)
    np.testing.assert_array_equal(calls["images"], images[train])
    assert calls["validation"] is not None
    np.testing.assert_array_equal(calls["validation"][0], images[validation])
    np.testing.assert_array_equal(calls["validation"][1], labels[validation])


# ------------------------------------------------------------------ deviation 1: inference protocol
def _unet_with_dropout(dropout=0.5):
    from kerasgan.networks import unet_generator

    keras.utils.set_random_seed(3)
    generator = unet_generator((64, 64, 1), 1, filters=2, dropout=dropout)  # depth 6: one dropout level
    # moving statistics away from (0, 1), so inference mode and batch statistics differ clearly
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, np.float32))
    return generator


def _moving_statistics(generator):
    return [np.array(v) for v in generator.non_trainable_variables if "seed_generator" not in v.path]


def test_reference_inference_uses_batch_statistics_and_never_writes_them():
    from kerasgan.models.pix2pix import run_generator

    generator = _unet_with_dropout(dropout=0.0)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)
    before = _moving_statistics(generator)
    reference = np.asarray(run_generator(generator, x, "reference"))
    for got, expected in zip(_moving_statistics(generator), before):
        np.testing.assert_array_equal(got, expected)
    # batch statistics of each example alone (test.py's batch 1): what a train-mode call on
    # that example computes (those calls do write the statistics; compared after)
    train_mode = np.concatenate([np.asarray(generator(x[i:i + 1], training=True)) for i in range(3)])
    np.testing.assert_allclose(reference, train_mode, atol=1e-6)
    assert np.abs(np.asarray(generator(x, training=True)) - reference).max() > 1e-4  # not batch-3 statistics
    assert any(not np.allclose(got, expected) for got, expected in zip(_moving_statistics(generator), before))
    deterministic = np.asarray(run_generator(generator, x, "deterministic"))
    np.testing.assert_allclose(deterministic, np.asarray(generator(x, training=False)), atol=1e-7)
    assert np.abs(reference - deterministic).max() > 1e-3
    with pytest.raises(ValueError, match="inference"):
        run_generator(generator, x, "eval")


def test_reference_inference_draws_fresh_dropout_masks():
    from kerasgan.models import Pix2Pix
    from kerasgan.networks import patch_discriminator

    generator = _unet_with_dropout()
    model = Pix2Pix(generator, patch_discriminator((64, 64, 2), filters=2), inference="reference")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    first, second = model.generate(x), model.generate(x)
    assert np.abs(first - second).max() > 1e-4  # dropout is the test-time noise z
    deterministic = model.generate(x, inference="deterministic")
    np.testing.assert_array_equal(deterministic, model.generate(x, inference="deterministic"))
    assert model.get_config()["inference"] == "reference"
    np.testing.assert_allclose(model.predict(x, verbose=0).shape, x.shape)


def test_glomeruli_ablation_reports_the_reference_protocol_and_the_other():
    from kerasgan.glomeruli import ablation
    from kerasgan.models.pix2pix import run_generator

    assert ablation.AblationSettings().inference == "reference"
    generator = _unet_with_dropout(dropout=0.0)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(ablation.generate(generator, x, batch_size=4, inference="reference"),
                               np.asarray(run_generator(generator, x, "reference")), atol=1e-6)


class _EpochGenerator:
    """Stands in for a generator whose output is fixed per "epoch" (its weights = the epoch);
    condition i (filled with the value i) gives that epoch's image i."""

    def __init__(self, outputs):
        self.outputs, self.epoch = outputs, 0

    def __call__(self, conditions, training=False):
        return self.outputs[self.epoch][np.asarray(conditions)[:, 0, 0, 0].astype(int)]

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.epoch = int(weights[0])


def test_patch_frechet_selection_keeps_the_epoch_closest_to_the_validation_images():
    from types import SimpleNamespace

    from kerasgan.syncgan.pipeline import BestGeneratorByPatchFrechet

    rng = np.random.default_rng(0)
    targets = rng.uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32)  # textured validation images
    flat = np.zeros_like(targets)                                    # a smooth generator
    shifted = np.clip(targets + 0.5, -1, 1)                          # right texture, wrong colour
    # Epoch 2 reproduces the validation images: distance 0, the lowest possible.
    outputs = [flat, shifted, targets.copy(), flat]
    generator = _EpochGenerator(outputs)
    conditions = np.broadcast_to(np.arange(4, dtype=np.float32)[:, None, None, None], (4, 16, 16, 1))
    callback = BestGeneratorByPatchFrechet(conditions, targets, batch_size=3)  # batches of 3 + 1
    callback.set_model(SimpleNamespace(generator=generator))
    logged = []
    for epoch in range(4):
        generator.epoch = epoch
        logs = {}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs["val_patch_frechet"])
    callback.on_train_end()
    assert callback.best_epoch == 2 and generator.epoch == 2  # restored
    assert logged[2] == pytest.approx(0.0, abs=1e-9)
    assert min(logged[0], logged[1], logged[3]) > 1e-3


def test_syncgan_cgan_selection_rules():
    from kerasgan.syncgan.pipeline import SynCGAN

    images, masks, labels = _cytology(2, seed=2)
    model = SynCGAN(**SYNCGAN_TINY)
    history = model.fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=3, batch_size=2, verbose=0,
                        validation_fraction=0.5, cgan_selection="patch_frechet")
    scores = history["cgan"]["val_patch_frechet"]
    assert len(scores) == 3 and "val_g_loss" not in history["cgan"]
    assert history["cgan_selection"] == "patch_frechet"
    assert history["cgan_best_epoch"] == int(np.argmin(scores))
    assert history["cgan_best_val_patch_frechet"] == pytest.approx(min(scores))
    last = SynCGAN(**SYNCGAN_TINY).fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=1, batch_size=2,
                                       verbose=0, cgan_selection="last")
    assert last["cgan_selection"] == "last" and "cgan_best_epoch" not in last
    default = SynCGAN(**SYNCGAN_TINY).fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=1,
                                          batch_size=2, verbose=0)
    assert default["cgan_selection"] == "generator_loss" and "val_g_loss" in default["cgan"]
    with pytest.raises(ValueError, match="cgan_selection must be one of"):
        SynCGAN(**SYNCGAN_TINY).fit(images, labels, masks=masks, cgan_selection="best")
    with pytest.raises(ValueError, match="needs validation pairs"):
        SynCGAN(**SYNCGAN_TINY).fit(images, labels, masks=masks, mask_epochs=0, cgan_epochs=1,
                                    validation_fraction=0.0, cgan_selection="patch_frechet")
