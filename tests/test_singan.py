"""SinGAN / MediSinGAN: networks, pyramid, training, generation, save/load, bad input.

Tiny settings (8 filters, max_size 32, a few iterations) so one training run serves the module.
"""

import json

import numpy as np
import pytest

import kerasgan  # noqa: F401  (oneDNN before TensorFlow)
from kerasgan.models.singan import SinGAN, SinGANScale, dilate_mask, prepare_image, pyramid_shapes
from kerasgan.networks.singan_blocks import receptive_field, scale_filters, singan_critic, singan_generator

TINY = dict(max_size=32, min_size=25, filters=8, seed=0)


def _histology(size=48):
    from skimage import data, transform

    image = data.immunohistochemistry()  # real IHC histology (scikit-image, ships offline)
    return (transform.resize(image, (size, size), anti_aliasing=True) * 2 - 1).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    """A 4-channel (histology RGB + derived mask) SinGAN trained for a few iterations."""
    image = _histology()
    mask = (image[..., 2] < np.median(image[..., 2])).astype(np.float32) * 2 - 1
    stacked = np.concatenate([image, mask[..., None]], axis=-1)
    model = SinGAN(**TINY)
    model.fit(stacked, iterations_per_scale=4, channel_layout={"image": 3, "mask": 1}, verbose=0)
    return model


# ------------------------------------------------------------------ networks
def test_generator_is_residual_and_keeps_size():
    generator = singan_generator(4, filters=8)
    noise = np.zeros((2, 27, 35, 4), np.float32)
    previous = np.random.default_rng(0).uniform(-1, 1, (2, 27, 35, 4)).astype(np.float32)
    output = np.asarray(generator([noise, previous]))
    assert output.shape == (2, 27, 35, 4)
    # the tail is tanh: output - previous stays within (-1, 1)
    assert np.all(np.abs(output - previous) < 1.0)
    assert sum(isinstance(l, __import__("keras").layers.BatchNormalization) for l in generator.layers) == 4


def test_critic_patch_map_and_receptive_field():
    critic = singan_critic(3, filters=8)
    scores = critic(np.zeros((1, 25, 33, 3), np.float32))
    assert receptive_field() == 11
    assert tuple(scores.shape) == (1, 25 - 10, 33 - 10, 1)


def test_filters_double_every_four_scales_up_to_128():
    assert [scale_filters(s) for s in range(12)] == [32] * 4 + [64] * 4 + [128] * 4
    assert scale_filters(20, 32, 128) == 128


def test_pyramid_matches_reference_rule():
    shapes, factor = pyramid_shapes(188, 250)
    assert shapes[0] == (25, 34) and shapes[-1] == (188, 250)
    assert len(shapes) == 10 and 0.75 <= factor < 0.8
    # large images are shrunk to max_size first
    shapes, _ = pyramid_shapes(512, 512, max_size=250)
    assert shapes[-1] == (250, 250) and min(shapes[0]) == 25
    assert all(a[0] <= b[0] for a, b in zip(shapes, shapes[1:]))


def test_scale_model_config_round_trip():
    model = SinGANScale(singan_generator(2, 8), singan_critic(2, 8), reconstruction_weight=7.0)
    clone = SinGANScale.from_config(model.get_config())
    assert clone.reconstruction_weight == 7.0 and clone.critic_steps == 3
    assert clone.generator.count_params() == model.generator.count_params()


def test_moving_statistics_see_only_the_reference_generator_passes():
    """Sampling and the reconstruction chain use the BatchNorm moving averages. Per iteration they
    must fold in what the official code runs in train mode: one random fake per critic step, one
    reconstruction input per generator step; extra random fakes pulled them away from the
    reconstruction input's statistics (finest-scale reconstruction RMSE 0.0585 instead of < 0.05)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    shape = (1, 26, 26, 3)
    generator, critic = singan_generator(3, 8), singan_critic(3, 8)
    replay = singan_generator(3, 8)
    replay.set_weights(generator.get_weights())
    trainer = SinGANScale(generator, critic, critic_steps=2, generator_steps=3)
    # generator learning rate 0: its weights stay, so the replay below runs the same network
    trainer.compile(generator_optimizer=keras.optimizers.SGD(0.0),
                    critic_optimizer=keras.optimizers.SGD(1e-3))
    data = {name: rng.uniform(-1, 1, shape).astype(np.float32)
            for name in ("real", "noise", "fixed_noise", "previous_reconstruction")}
    data["previous"] = rng.uniform(-1, 1, (2, *shape[1:])).astype(np.float32)
    start = [np.array(v) for v in generator.non_trainable_variables]
    trainer.fit(tf.data.Dataset.from_tensors(data), epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)

    for step in range(2):  # the critic steps' fakes
        replay([data["noise"], data["previous"][step:step + 1]], training=True)
    for _ in range(3):  # the generator steps' reconstruction passes
        replay([data["fixed_noise"], data["previous_reconstruction"]], training=True)
    trained_statistics = [np.array(v) for v in generator.non_trainable_variables]
    assert not np.allclose(trained_statistics[0], start[0])  # the averages did move
    for got, expected in zip(trained_statistics, replay.non_trainable_variables):
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-5, atol=1e-6)


def _copy(network, builder):
    clone = builder(network.inputs[0].shape[-1], 8)
    clone.set_weights(network.get_weights())
    return clone


@pytest.mark.parametrize("builder", [singan_generator, singan_critic])
def test_per_sample_forward_equals_separate_train_mode_calls(builder):
    """A batch through per_sample_forward = each sample through its own batch-1 Keras call:
    outputs, summed gradients and the moving averages (updated sample after sample)."""
    import tensorflow as tf

    from kerasgan.networks.singan_blocks import per_sample_forward, supports_per_sample_forward

    rng = np.random.default_rng(1)
    network = builder(3, 8)
    reference = _copy(network, builder)
    inputs = [rng.uniform(-1, 1, (3, 24, 29, 3)).astype(np.float32)
              for _ in range(len(network.inputs))]
    assert supports_per_sample_forward(network)
    with tf.GradientTape() as tape:
        batched = per_sample_forward(network, inputs)
        loss = tf.reduce_sum(tf.square(batched))
    gradients = tape.gradient(loss, network.trainable_variables)
    separate, reference_gradients = [], None
    for index in range(3):
        with tf.GradientTape() as tape:
            sample = [x[index:index + 1] for x in inputs]
            output = reference(sample if len(sample) > 1 else sample[0], training=True)
            sample_loss = tf.reduce_sum(tf.square(output))
        sample_gradients = tape.gradient(sample_loss, reference.trainable_variables)
        reference_gradients = sample_gradients if reference_gradients is None else [
            a + b for a, b in zip(reference_gradients, sample_gradients)]
        separate.append(np.asarray(output))
    np.testing.assert_allclose(np.asarray(batched), np.concatenate(separate), atol=2e-5)
    # float32 sums in another order: compare at 1e-4 of the largest gradient (the gradients of
    # the conv biases before BatchNorm are zero in exact arithmetic, rounding noise here)
    scale = max(float(np.abs(np.asarray(g)).max()) for g in reference_gradients)
    for got, expected in zip(gradients, reference_gradients):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-3, atol=1e-4 * scale)
    for got, expected in zip(network.non_trainable_variables, reference.non_trainable_variables):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-6)

    # only the listed samples update the averages; () updates none (like stateless_call)
    before = [np.array(v) for v in network.non_trainable_variables]
    per_sample_forward(network, inputs, update_samples=())
    for got, expected in zip(network.non_trainable_variables, before):
        np.testing.assert_array_equal(np.asarray(got), expected)
    per_sample_forward(network, inputs, update_samples=[1])
    sample = [x[1:2] for x in inputs]
    reference(sample if len(sample) > 1 else sample[0], training=True)
    for got, expected in zip(network.non_trainable_variables, reference.non_trainable_variables):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_per_sample_forward_refuses_other_networks():
    import keras

    from kerasgan.networks.singan_blocks import per_sample_forward, supports_per_sample_forward

    inputs = keras.Input((None, None, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(3, 3, activation="relu")(inputs))
    assert not supports_per_sample_forward(other)
    dilated = keras.Model(inputs, keras.layers.Conv2D(3, 3, dilation_rate=2)(inputs))
    assert not supports_per_sample_forward(dilated)
    channels_first = keras.Input((3, 8, 8))
    transposed = keras.Model(channels_first, keras.layers.Conv2D(3, 3, data_format="channels_first")(channels_first))
    assert not supports_per_sample_forward(transposed)
    with pytest.raises(TypeError, match="singan_generator/singan_critic"):
        per_sample_forward(other, np.zeros((1, 8, 8, 3), np.float32))
    # SinGANScale then trains through the Keras calls
    assert not SinGANScale(singan_generator(3, 8), other)._batched
    assert SinGANScale(singan_generator(3, 8), singan_critic(3, 8))._batched


def test_batched_iteration_equals_one_call_per_image():
    """The batched training iteration (what SinGAN runs) and the one-Keras-call-per-image
    iteration (the reference's sequence) give the same weights and moving averages. SGD, not
    Adam: Adam turns the rounding noise in the gradients of the conv biases before BatchNorm
    (zero in exact arithmetic) into full-size steps, so it would compare noise."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(2)
    shape = (1, 26, 30, 3)
    data = {name: rng.uniform(-1, 1, shape).astype(np.float32)
            for name in ("real", "noise", "fixed_noise", "previous_reconstruction")}
    data["previous"] = rng.uniform(-1, 1, (3, *shape[1:])).astype(np.float32)
    data["penalty_mix"] = rng.uniform(0, 1, (3,)).astype(np.float32)
    generator, critic = singan_generator(3, 8), singan_critic(3, 8)
    trained = []
    for batched in (True, False):
        # No penalty: the one-call path's Keras BatchNormalization takes the penalty's second
        # derivatives through tf.nn.moments, exact for first derivatives only; the batched
        # path's penalty is compared with the reference in test_reference_equivalence.py.
        trainer = SinGANScale(_copy(generator, singan_generator), _copy(critic, singan_critic),
                              gradient_penalty_weight=0.0)
        trainer._batched = batched
        trainer.compile(generator_optimizer=keras.optimizers.SGD(1e-2),
                        critic_optimizer=keras.optimizers.SGD(1e-2))
        history = trainer.fit(tf.data.Dataset.from_tensors(data).repeat(), epochs=1, steps_per_epoch=2,
                              shuffle=False, verbose=0)
        trained.append((trainer, history.history))
    (batched, batched_history), (layered, layered_history) = trained
    for name, values in layered_history.items():
        np.testing.assert_allclose(batched_history[name], values, rtol=1e-4, atol=1e-6)
    pairs = zip(batched.generator.variables + batched.critic.variables,
                layered.generator.variables + layered.critic.variables)
    for got, expected in pairs:
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-4, atol=2e-6)
    moved = np.abs(np.asarray(batched.critic.variables[0]) - np.asarray(critic.variables[0])).max()
    assert moved > 1e-4  # the steps did train


def test_gradient_penalty_of_a_linear_critic():
    """critic(x) = sum(x * w): its input gradient is w at every position, whatever the mix."""
    import tensorflow as tf

    from kerasgan import losses

    weights = tf.constant([[[[0.6, 0.8, 2.0]]]])  # (1, 1, 1, 3): channel norm sqrt(5)
    critic = lambda images: tf.reduce_sum(images * weights, axis=-1, keepdims=True)  # noqa: E731
    real = np.random.default_rng(0).uniform(-1, 1, (2, 5, 6, 3)).astype(np.float32)
    fake = -real
    per_position = losses.gradient_penalty(critic, real, fake, norm_over="position",
                                           alpha=tf.constant([[[[0.3]]], [[[0.9]]]]))
    np.testing.assert_allclose(np.asarray(per_position), [(np.sqrt(5.0) - 1) ** 2] * 2, rtol=1e-5)
    per_image = losses.gradient_penalty(critic, real, fake, norm_over="image")
    np.testing.assert_allclose(np.asarray(per_image), [(np.sqrt(5.0 * 30) - 1) ** 2] * 2, rtol=1e-5)
    with pytest.raises(ValueError, match="norm_over"):
        losses.gradient_penalty(critic, real, fake, norm_over="pixel")


def test_one_thread_per_op_only_for_small_pyramids():
    from kerasgan.models.singan import preferred_intra_op_threads

    assert preferred_intra_op_threads(512, 512, max_size=56) == 1   # the zoo entry's pyramid
    assert preferred_intra_op_threads(59, 79, max_size=79) == 1     # measured: 1/op faster
    assert preferred_intra_op_threads(105, 140, max_size=140) is None  # 64 filters: all cores
    assert preferred_intra_op_threads(188, 250) is None


def test_intra_op_threads_apply_only_before_tensorflow_runs():
    import os
    import subprocess
    import sys

    code = (
        "import kerasgan, tensorflow as tf\n"
        "from kerasgan import set_intra_op_threads\n"
        "applied = set_intra_op_threads(1)\n"
        "tf.constant(1.0) + 1.0\n"  # TensorFlow has started: too late to change
        "print(applied, tf.config.threading.get_intra_op_parallelism_threads(), set_intra_op_threads(2))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TF_NUM_INTRAOP_THREADS"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert result.stdout.split() == ["True", "1", "False"], result.stderr[-2000:]
    # an explicit environment setting is the user's choice
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(environment, TF_NUM_INTRAOP_THREADS="2"))
    assert result.stdout.split() == ["False", "0", "False"], result.stderr[-2000:]


# ------------------------------------------------------------------ trained model
def test_fit_builds_all_scales_and_channels(trained):
    assert trained.num_scales == len(trained.shapes) >= 2
    assert trained.channels == 4
    assert trained.noise_amplitudes[0] == 1.0
    assert all(0 < a < 1 for a in trained.noise_amplitudes[1:])
    assert set(trained.history[0]) >= {"critic_loss", "reconstruction_loss", "seconds"}


def test_sample_shapes_range_and_seed(trained):
    samples = trained.sample(3, start_scale=1, seed=5)
    assert samples.shape == (3, *trained.shapes[-1], 4)
    assert samples.min() >= -1 and samples.max() <= 1
    np.testing.assert_array_equal(samples, trained.sample(3, start_scale=1, seed=5))
    assert not np.allclose(samples[0], samples[1])


def test_sample_arbitrary_size(trained):
    wide = trained.sample(2, size=(30, 57), seed=0)
    assert wide.shape == (2, 30, 57, 4)


def test_split_channels_gives_image_and_mask(trained):
    parts = trained.split_channels(trained.sample(2, seed=0))
    assert parts["image"].shape[-1] == 3 and parts["mask"].shape[-1] == 1


def test_harmonize_changes_only_near_the_mask(trained):
    height, width = trained.shapes[-1]
    composite = trained.image.copy()
    mask = np.zeros((height, width), bool)
    mask[12:18, 12:18] = True
    composite[mask] = 0.9
    out = trained.harmonize(composite, mask, start_scale=1, dilation_radius=2, blur_sigma=1.0, seed=0)
    assert out.shape == (1, height, width, 4)
    soft = dilate_mask(mask, (height, width), 2, 1.0)[..., 0]
    far = soft < 1e-6
    assert far.any()
    np.testing.assert_allclose(out[0][far], composite[far], atol=1e-5)
    injected = trained.inject(composite, start_scale=1, count=2, seed=0)
    assert injected.shape == (2, height, width, 4)


def test_save_load_round_trip_folder_and_keras(trained, tmp_path):
    for path in (tmp_path / "model", tmp_path / "model.keras"):
        trained.save(path)
        loaded = SinGAN.load(path)
        assert loaded.shapes == trained.shapes and loaded.channel_layout == {"image": 3, "mask": 1}
        np.testing.assert_array_equal(loaded.sample(2, seed=3), trained.sample(2, seed=3))
        np.testing.assert_allclose(loaded.reconstruct(), trained.reconstruct(), atol=1e-6)


def test_float16_save_is_close(trained, tmp_path):
    trained.save(tmp_path / "half", dtype="float16")
    loaded = SinGAN.load(tmp_path / "half")
    assert np.abs(loaded.sample(1, seed=1) - trained.sample(1, seed=1)).max() < 0.05


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("image, message", [
    (np.zeros((20, 40, 3), np.float32), "min_size"),
    (np.full((40, 40, 3), np.nan, np.float32), "NaN"),
    (np.zeros((40, 40, 0), np.float32), "0 channels"),
    (np.full((40, 40, 3), 3.0, np.float32), r"\[-1, 1\]"),
    (np.zeros((40, 40, 3, 2), np.float32), "shape"),
])
def test_fit_rejects_bad_images(image, message):
    with pytest.raises(ValueError, match=message):
        SinGAN(**TINY).fit(image, iterations_per_scale=1, verbose=0)


def test_prepare_image_scales_integer_dtypes():
    assert prepare_image(np.array([[0, 65535]], np.uint16)).tolist() == [[[-1.0], [1.0]]]
    with pytest.raises(TypeError, match="numeric"):
        prepare_image(np.array([["a"]]))


def test_generation_rejects_bad_arguments(trained):
    with pytest.raises(ValueError, match="start_scale"):
        trained.sample(1, start_scale=trained.num_scales)
    with pytest.raises(ValueError, match="start_scale"):
        trained.sample(1, start_scale=-1)
    with pytest.raises(ValueError, match="start_scale"):
        trained.inject(trained.image, start_scale=0)
    with pytest.raises(ValueError, match="size"):
        trained.sample(1, size=(0, 10))
    with pytest.raises(ValueError, match="must match"):
        trained.harmonize(trained.image, np.ones((5, 5), bool), start_scale=1)
    with pytest.raises(ValueError, match="empty"):
        trained.harmonize(trained.image, np.zeros(trained.shapes[-1], bool), start_scale=1)
    with pytest.raises(ValueError, match="channels"):
        trained.inject(trained.image[..., :3], start_scale=1)


def test_untrained_model_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="not trained"):
        SinGAN().sample(1)
    with pytest.raises(FileNotFoundError):
        SinGAN.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="singan.json"):
        SinGAN.load(tmp_path / "empty")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="zip"):
        SinGAN.load(tmp_path / "bad.keras")


def test_checkpoint_of_other_image_is_refused(trained, tmp_path):
    trained.save(tmp_path / "run", include_critic=True)
    state = json.loads((tmp_path / "run" / "singan.json").read_text())
    assert state["completed_scales"] == trained.num_scales
    with pytest.raises(ValueError, match="different image"):
        SinGAN(**TINY).fit(-trained.image, iterations_per_scale=4, checkpoint_dir=tmp_path / "run", verbose=0)
