"""Mode-seeking pix2pix (Allender et al.): loss, model, global discriminator, structure maps,
diversity metrics, shipped data and the glomeruli commands. Tiny models (8 filters, 32 px)."""

import json
import pathlib

import kerasgan  # noqa: F401  (TensorFlow CPU options before TensorFlow is imported)
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasgan import losses
from kerasgan.glomeruli import data as glomeruli_data
from kerasgan.glomeruli.structure import structure_map
from kerasgan.metrics import diversity
from kerasgan.models.mode_seeking_pix2pix import ModeSeekingPix2Pix
from kerasgan.networks.global_discriminator import global_discriminator

SIZE = 32


def _tiny_model(**kwargs):
    keras.utils.set_random_seed(1)
    settings = dict(image_size=SIZE, condition_channels=2, image_channels=3, filters=8)
    settings.update(kwargs)
    return ModeSeekingPix2Pix(**settings)


def _batch(count=4, condition_channels=2, seed=0):
    rng = np.random.default_rng(seed)
    conditions = np.where(rng.random((count, SIZE, SIZE, condition_channels)) > 0.5, 1.0, -1.0)
    targets = rng.uniform(-1, 1, (count, SIZE, SIZE, 3))
    return conditions.astype("float32"), targets.astype("float32")


# ------------------------------------------------------------------ L_ms (eq. 4)
def _mode_seeking_reference(conditions, outputs, epsilon=1e-5):
    """Eq. 4 in float64 numpy: pairs (i, i+1 mod B), mean absolute values."""
    partner_conditions = np.roll(conditions, -1, axis=0)
    partner_outputs = np.roll(outputs, -1, axis=0)
    axes = tuple(range(1, conditions.ndim))
    # eq. 4: L1 norms over channels, divided by the pixel count only (cancels in the ratio)
    numerator = np.mean(np.abs(conditions - partner_conditions), axis=axes) * conditions.shape[-1]
    denominator = np.mean(np.abs(outputs - partner_outputs), axis=axes) * outputs.shape[-1] + epsilon
    return numerator / denominator


def test_mode_seeking_value_matches_equation_4():
    rng = np.random.default_rng(3)
    conditions = rng.normal(size=(3, 4, 4, 2))
    outputs = rng.normal(size=(3, 4, 4, 3))
    value = losses.mode_seeking_per_pair(tf.constant(conditions), tf.constant(outputs)).numpy()
    np.testing.assert_allclose(value, _mode_seeking_reference(conditions, outputs), rtol=1e-5)


def test_mode_seeking_gradient_matches_float64_finite_difference():
    # Outputs kept away from each other so |.| is differentiable at every element.
    rng = np.random.default_rng(7)
    conditions = rng.normal(size=(3, 3, 3, 2))
    outputs = rng.normal(size=(3, 3, 3, 1))
    outputs[1] += 3.0

    variable = tf.Variable(outputs)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(losses.mode_seeking_per_pair(tf.constant(conditions), variable))
    analytic = tape.gradient(total, variable).numpy()

    step = 1e-6
    numeric = np.zeros_like(outputs)
    for index in np.ndindex(outputs.shape):
        plus, minus = outputs.copy(), outputs.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (
            _mode_seeking_reference(conditions, plus).sum()
            - _mode_seeking_reference(conditions, minus).sum()
        ) / (2 * step)
    assert np.abs(numeric).max() > 1e-3  # a real gradient, not zeros compared with zeros
    # losses.l1_per_example computes in float32: allow float32 rounding, not a wrong formula.
    np.testing.assert_allclose(analytic, numeric, rtol=1e-3, atol=1e-5)


def test_mode_seeking_gradient_pushes_outputs_apart():
    conditions = tf.constant(np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))]), tf.float32)
    outputs = tf.Variable(np.stack([np.full((4, 4, 1), 0.1), np.full((4, 4, 1), 0.2)]), dtype=tf.float32)
    before = float(tf.reduce_mean(tf.abs(outputs[0] - outputs[1])))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(losses.mode_seeking_per_pair(conditions, outputs))
    outputs.assign_sub(0.001 * tape.gradient(loss, outputs))
    assert float(tf.reduce_mean(tf.abs(outputs[0] - outputs[1]))) > before


# ------------------------------------------------------------------ model
def test_builds_paper_networks_with_unconditional_discriminator():
    model = _tiny_model()
    assert model.generator.input_shape == (None, SIZE, SIZE, 2)
    assert model.generator.output_shape == (None, SIZE, SIZE, 3)
    assert model.discriminator.input_shape == (None, SIZE, SIZE, 3)  # y only (eq. 2)
    assert model.l1_weight == 10.0 and model.mode_seeking_weight == 10.0
    assert model.conditional_discriminator is False


def test_conditional_and_global_discriminator_options():
    conditional = _tiny_model(conditional_discriminator=True)
    assert conditional.discriminator.input_shape == (None, SIZE, SIZE, 5)
    global_model = _tiny_model(discriminator="global")
    assert global_model.discriminator.output_shape == (None, 1)
    with pytest.raises(ValueError, match="discriminator must be"):
        _tiny_model(discriminator="pixel")
    with pytest.raises(ValueError, match="image_size"):
        _tiny_model(image_size=0)


def test_default_optimizers_are_the_papers_adam():
    model = _tiny_model()
    model.compile()
    for optimizer in (model.generator_optimizer, model.discriminator_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.beta_1 == pytest.approx(0.5) and optimizer.beta_2 == pytest.approx(0.999)


def test_train_step_loss_is_gan_plus_weighted_l1_and_mode_seeking():
    model = _tiny_model()
    model.compile()
    conditions, targets = _batch()
    logs = model.train_on_batch(conditions, targets, return_dict=True)
    assert set(logs) >= {"d_loss", "g_gan", "g_l1", "g_ms", "g_loss"}
    expected = logs["g_gan"] + 10.0 * logs["g_l1"] + 10.0 * logs["g_ms"]
    assert logs["g_loss"] == pytest.approx(expected, rel=1e-4)
    assert logs["g_ms"] > 0.0
    assert model.extra_trackers["g_ms"] in model.metrics


@pytest.mark.parametrize("how", ["numpy", "dataset", "train_on_batch"])
def test_batch_of_one_raises_clear_value_error(how):
    model = _tiny_model()
    model.compile()
    conditions, targets = _batch(count=1)
    with pytest.raises(ValueError, match=">= 2"):
        if how == "numpy":
            model.fit(conditions, targets, batch_size=1, epochs=1, verbose=0)
        elif how == "dataset":
            model.fit(tf.data.Dataset.from_tensor_slices((conditions, targets)).batch(1), verbose=0)
        else:
            model.train_on_batch(conditions, targets)


def test_batch_of_one_is_fine_without_mode_seeking():
    model = _tiny_model(mode_seeking_weight=0.0)
    model.compile()
    conditions, targets = _batch(count=1)
    logs = model.train_on_batch(conditions, targets, return_dict=True)
    assert np.isfinite(logs["g_loss"])
    assert "g_ms" not in logs or logs["g_ms"] == 0.0


def test_get_config_round_trip_and_keras_file(tmp_path):
    model = _tiny_model(discriminator="global", mode_seeking_weight=3.0, conditional_discriminator=True)
    model.compile(mode_seeking_weight=4.0)
    config = model.get_config()
    clone = ModeSeekingPix2Pix.from_config(config)
    assert clone.get_config()["mode_seeking_weight"] == 4.0
    for key in ("image_size", "condition_channels", "image_channels", "filters", "l1_weight",
                "mode_seeking_epsilon", "conditional_discriminator"):
        assert clone.get_config()[key] == config[key]
    assert clone.discriminator.output_shape == (None, 1)

    conditions, targets = _batch()
    model.train_on_batch(conditions, targets)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ModeSeekingPix2Pix)
    assert loaded.mode_seeking_weight == 4.0
    np.testing.assert_array_equal(
        loaded.generator(conditions, training=False).numpy(),
        model.generator(conditions, training=False).numpy(),
    )


def test_given_networks_define_the_sizes():
    from kerasgan.networks.patchgan import patch_discriminator
    from kerasgan.networks.unet import unet_generator

    generator = unet_generator((SIZE, SIZE, 1), 3, filters=8)
    discriminator = patch_discriminator((SIZE, SIZE, 3), filters=8, conditional=False)
    model = ModeSeekingPix2Pix(generator, discriminator)
    config = model.get_config()
    assert (config["image_size"], config["condition_channels"], config["image_channels"]) == (SIZE, 1, 3)
    with pytest.raises(ValueError, match="channels"):
        ModeSeekingPix2Pix(generator, discriminator, conditional_discriminator=True)


# ------------------------------------------------------------------ global discriminator
def test_global_discriminator_matches_appendix_table():
    model = global_discriminator((256, 256, 3))
    assert model.output_shape == (None, 1)
    counts = {layer.name: sum(int(np.prod(w.shape)) for w in layer.trainable_weights) for layer in model.layers}
    # Appendix table 2 (conv + its batch norm's scale and shift); dense 32*32*512 + 1.
    assert counts["conv0"] == 4864
    assert counts["conv1"] + counts["conv1_norm"] == 205184
    assert counts["conv2"] + counts["conv2_norm"] == 819968
    assert counts["conv3"] + counts["conv3_norm"] == 3278336
    assert counts["logits"] == 32 * 32 * 512 + 1
    assert model.get_layer("conv3").output.shape[1:3] == (32, 32)


def test_global_discriminator_shapes_and_errors():
    model = global_discriminator((SIZE, SIZE, 5), filters=8, strides=(2, 2, 2, 2), conditional=True)
    logits = model(np.zeros((3, SIZE, SIZE, 5), "float32"))
    assert tuple(logits.shape) == (3, 1)
    with pytest.raises(ValueError, match="input_shape"):
        global_discriminator((None, None, 3))
    with pytest.raises(ValueError, match="smaller than the total stride"):
        global_discriminator((8, 8, 3), strides=(2, 2, 2, 2))
    with pytest.raises(ValueError, match="norm"):
        global_discriminator((SIZE, SIZE, 3), norm="layer")


# ------------------------------------------------------------------ structure maps
def test_structure_map_marks_dark_structures():
    image = np.full((16, 16, 3), 230, np.uint8)
    image[4:8, 4:8] = 40
    result = structure_map(image)
    assert result.shape == (16, 16, 1) and result.dtype == np.float32
    assert set(np.unique(result)) == {0.0, 1.0}
    assert result[4:8, 4:8].min() == 1.0 and result.sum() == 16
    bright = structure_map(image, polarity="bright")
    np.testing.assert_array_equal(bright, 1.0 - result)
    np.testing.assert_array_equal(structure_map(image[..., 0] / 255.0, threshold=0.5), result)
    assert structure_map(image, threshold=0.0).sum() == 0


@pytest.mark.parametrize(
    "image, threshold, error, message",
    [
        (np.full((8, 8), 0.5), "otsu", ValueError, "uniform"),
        (np.full((8, 8), np.nan), 0.5, ValueError, "NaN"),
        (np.zeros((2, 8, 8, 3)), 0.5, ValueError, "H x W"),
        (np.zeros((8, 8, 2)), 0.5, ValueError, "channels"),
        (np.zeros((0, 8)), 0.5, ValueError, "empty"),
        (np.eye(8), 1.5, ValueError, r"\[0, 1\]"),
        (np.eye(8), "median", ValueError, "otsu"),
        (np.eye(8), None, TypeError, "threshold"),
        (np.array([["a"]]), 0.5, TypeError, "numeric"),
    ],
)
def test_structure_map_rejects_bad_input(image, threshold, error, message):
    with pytest.raises(error, match=message):
        structure_map(image, threshold=threshold)


# ------------------------------------------------------------------ diversity metrics
def test_pairwise_l1_values():
    images = np.stack([np.zeros((8, 8, 3)), np.ones((8, 8, 3)), np.full((8, 8, 3), 0.5)])
    assert diversity.mean_pairwise_l1(images) == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert diversity.mean_pairwise_l1(np.repeat(images[:1], 5, axis=0)) == 0.0
    assert diversity.mean_pairwise_l1(images, max_pairs=1) in (pytest.approx(1.0), pytest.approx(0.5))
    with pytest.raises(ValueError, match="at least 2"):
        diversity.mean_pairwise_l1(images[:1])
    with pytest.raises(ValueError, match="N x H x W x C"):
        diversity.mean_pairwise_l1(images[0])
    with pytest.raises(ValueError, match="NaN"):
        diversity.mean_pairwise_l1(np.full((2, 4, 4, 1), np.nan))


@pytest.mark.parametrize("size", [7, 16, 40, 200])
def test_ms_ssim_distance_on_small_and_large_images(size):
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (3, size, size, 1)).astype("float32")
    same = np.repeat(noise[:1], 3, axis=0)
    assert diversity.mean_pairwise_ms_ssim_distance(same) == pytest.approx(0.0, abs=1e-5)
    distance = diversity.mean_pairwise_ms_ssim_distance(noise)
    assert 0.5 < distance <= 1.0


def test_ms_ssim_settings_fit_the_image():
    assert diversity.ms_ssim_settings(256, 256)[0] == 5
    scales, filter_size, weights = diversity.ms_ssim_settings(64, 64)
    assert scales == 3 and filter_size == 11
    assert sum(weights) == pytest.approx(1.0)
    assert diversity.ms_ssim_settings(8, 8)[:2] == (1, 7)


def test_explained_variance_share_separates_following_from_ignoring_the_input():
    rng = np.random.default_rng(0)
    conditions = np.where(rng.random((6, 16, 16, 2)) > 0.5, 1.0, -1.0)
    following = 0.5 * conditions[..., :1] - 0.25 * conditions[..., 1:] + 0.01 * rng.normal(size=(6, 16, 16, 1))
    texture = np.repeat(rng.normal(size=(1, 16, 16, 3)), 6, axis=0)  # same texture for every input
    assert diversity.explained_variance_share(conditions, following) > 0.95
    assert diversity.explained_variance_share(conditions, texture) < 0.2
    with pytest.raises(ValueError, match="same"):
        diversity.explained_variance_share(conditions, following[:5])
    with pytest.raises(ValueError, match="constant"):
        diversity.explained_variance_share(conditions, np.zeros_like(following))


def test_feature_distance_with_user_model():
    inputs = keras.Input((16, 16, 3))
    first = keras.layers.Conv2D(4, 3, padding="same", name="first")(inputs)
    second = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="second")(first)
    features = keras.Model(inputs, [first, second])
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    assert diversity.mean_pairwise_feature_distance(np.repeat(images[:1], 3, 0), features) == pytest.approx(0.0, abs=1e-9)
    distance = diversity.mean_pairwise_feature_distance(images, features)
    # Unit-normalised features: each layer's squared distance is at most 4.
    assert 0.0 < distance <= 8.0
    with pytest.raises(TypeError, match="callable"):
        diversity.mean_pairwise_feature_distance(images, "vgg")
    with pytest.raises(ValueError, match="one feature map per image"):
        diversity.mean_pairwise_feature_distance(images, lambda batch: np.zeros((1, 3)))


# ------------------------------------------------------------------ data
def test_shipped_patches_are_real_held_out_and_deterministic():
    train = glomeruli_data.ihc_patches(32, 16, "train", seed=0)
    test = glomeruli_data.ihc_patches(32, 8, "test", seed=0)
    assert train.images.shape == (16, 32, 32, 3) and train.masks.shape == (16, 32, 32, 1)
    assert train.conditions().shape == (16, 32, 32, 2) and train.conditions(False).shape[-1] == 1
    for array in (train.images, train.masks, train.structure_maps):
        assert array.dtype == np.float32 and array.min() >= -1.0 and array.max() <= 1.0
    assert set(np.unique(train.masks)) == {-1.0, 1.0}
    train_columns = [int(name.split("_c")[1][:3]) for name in train.names]
    test_columns = [int(name.split("_c")[1][:3]) for name in test.names]
    assert max(train_columns) + 32 <= 384 <= min(test_columns)  # disjoint pixels
    again = glomeruli_data.ihc_patches(32, 16, "train", seed=0)
    np.testing.assert_array_equal(again.images, train.images)
    with pytest.raises(ValueError, match="patch_size"):
        glomeruli_data.ihc_patches(256, 4, "test")
    with pytest.raises(ValueError, match="split"):
        glomeruli_data.ihc_patches(32, 4, "validation")
    assert "NOT glomeruli" in glomeruli_data.SHIPPED_DATA_DESCRIPTION


def test_paired_folder_round_trip_and_errors(tmp_path):
    patches = glomeruli_data.ihc_patches(32, 5, "train", seed=1)
    glomeruli_data.write_paired_folder(patches, tmp_path / "pairs")
    loaded = glomeruli_data.load_paired_folder(tmp_path / "pairs", progress=False)
    order = np.argsort(patches.names)
    np.testing.assert_allclose(loaded.images, patches.images[order], atol=1 / 127.5 + 1e-6)
    np.testing.assert_array_equal(loaded.masks, patches.masks[order])
    resized = glomeruli_data.load_paired_folder(tmp_path / "pairs", image_size=16, progress=False)
    assert resized.images.shape == (5, 16, 16, 3) and resized.structure_maps.shape == (5, 16, 16, 1)

    (tmp_path / "pairs" / "masks" / f"{patches.names[0]}.png").unlink()
    with pytest.raises(ValueError, match="without a mask"):
        glomeruli_data.load_paired_folder(tmp_path / "pairs", progress=False)
    with pytest.raises(FileNotFoundError, match="masks"):
        glomeruli_data.load_paired_folder(tmp_path / "pairs" / "images", progress=False)

    from kerasgan.data.image_io import write_image

    empty = tmp_path / "empty"
    write_image(empty / "images" / "a.png", np.full((8, 8, 3), 100, np.uint8))
    write_image(empty / "masks" / "a.png", np.zeros((8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        glomeruli_data.load_paired_folder(empty, progress=False)


def test_nucleus_mask_is_binary_and_rejects_grey():
    image = glomeruli_data.shipped_histology()[0]
    mask = glomeruli_data.nucleus_mask(image[:128, :128])
    assert mask.shape == (128, 128, 1) and set(np.unique(mask)) <= {0.0, 1.0}
    assert 0.05 < mask.mean() < 0.5
    with pytest.raises(ValueError, match="RGB"):
        glomeruli_data.nucleus_mask(image[..., 0])


def test_make_condition_from_mask_and_image():
    patches = glomeruli_data.ihc_patches(SIZE, 2, "test")
    image = (patches.images[0] + 1.0) / 2.0
    condition = glomeruli_data.make_condition(patches.masks[0] > 0, image)
    assert condition.shape == (1, SIZE, SIZE, 2) and condition.dtype == np.float32
    np.testing.assert_array_equal(condition[0, ..., :1], patches.masks[0])
    # default: the zoo model's stored training threshold; "otsu" only when asked (issue 14)
    stored = glomeruli_data.zoo_structure_threshold()
    np.testing.assert_array_equal(condition[0, ..., 1:], structure_map(image, stored) * 2 - 1)
    own = glomeruli_data.make_condition(patches.masks[0] > 0, image, threshold="otsu")
    np.testing.assert_array_equal(own[0, ..., 1:], structure_map(image, "otsu") * 2 - 1)
    mask_only = glomeruli_data.make_condition(patches.masks[0] > 0, use_structure_map=False)
    assert mask_only.shape == (1, SIZE, SIZE, 1)
    with pytest.raises(ValueError, match="tissue image"):
        glomeruli_data.make_condition(patches.masks[0] > 0)
    with pytest.raises(ValueError, match="differ in size"):
        glomeruli_data.make_condition(patches.masks[0] > 0, structure=np.zeros((8, 8)))


def test_training_dataset_drops_a_last_batch_of_one():
    conditions, targets = _batch(count=5)
    dataset = glomeruli_data.training_dataset(conditions, targets, batch_size=2, repeat=False)
    assert [int(c.shape[0]) for c, _ in dataset] == [2, 2]
    with pytest.raises(ValueError, match=">= 2"):
        glomeruli_data.training_dataset(conditions, targets, batch_size=1)


# ------------------------------------------------------------------ ablation and commands
def test_commands_register_and_reject_bad_arguments(tmp_path):
    from kerasgan.cli import CommandRegistry, build_parser
    from kerasgan.glomeruli import commands

    registry = CommandRegistry()
    commands.register(registry)
    assert "glomeruli" in registry.commands["train"] and "glomeruli" in registry.commands["ablation"]
    parser = build_parser(registry)
    args = parser.parse_args(["ablation", "glomeruli", "--batch-size", "1"])
    with pytest.raises(ValueError, match="at least 2"):
        args.run(args)
    args = parser.parse_args(["ablation", "glomeruli", "--variants", "full,bogus"])
    with pytest.raises(ValueError, match="bogus"):
        args.run(args)
    args = parser.parse_args(["train", "glomeruli", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    with pytest.raises(FileNotFoundError, match="missing"):
        args.run(args)


# ------------------------------------------------------------------ zoo entry
def test_zoo_glomeruli_loads_a_ready_generator():
    from kerasgan import zoo

    generator = zoo.load("glomeruli")
    card = zoo.metadata("glomeruli")
    size = card["architecture"]["image_size"]
    patches = glomeruli_data.ihc_patches(size, 4, "test")
    outputs = np.asarray(generator(patches.conditions(), training=False))
    assert outputs.shape == (4, size, size, 3)
    assert np.all(np.abs(outputs) <= 1.0)
    # Trained, not random: closer to the real patches than a grey image is.
    assert np.mean(np.abs(outputs - patches.images)) < np.mean(np.abs(patches.images))
