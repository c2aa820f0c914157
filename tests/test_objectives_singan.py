"""Objective-pinning tests for SinGAN (Rott Shaham et al. 2019; MediSinGAN, Jethi et al.).

One `SinGANScale` iteration of linear networks (a 1x1-conv residual generator and a 1x1-conv
critic) is checked against an SGD update derived here by hand: 3 critic steps on
E[D(fake)] - E[D(real)] + 0.1 * (||grad D|| - 1)^2 (for a linear critic the input gradient is
its kernel w at every position), then 3 generator steps on -E[D(fake)] + 10 * MSE(rec, real).
A tiny two-scale `SinGAN.fit` then pins the pyramid settings: sigma_n = 0.1 * RMSE(x_n,
up(rec_{n-1})) (1 at the coarsest), reconstruction noise zero above the coarsest scale, the
x0.1 learning-rate drop after 80 % of the iterations, 3 + 3 updates per iteration and the
initialisation of a scale from the previous one.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgan  # noqa: F401  (oneDNN before TensorFlow)
from kerasgan.models import singan as singan_module
from kerasgan.models.singan import SinGAN, SinGANScale, singan_optimizer

H, W, C = 5, 6, 2
LEARNING_RATE = 0.05


def linear_generator(kernel, bias, keras_layer_path=False):
    """G(n, p) = p + (n + p) K + c (the SinGAN residual form with a 1x1 conv as psi)."""
    noise, previous = keras.Input((None, None, C)), keras.Input((None, None, C))
    total = keras.layers.Add()([noise, previous])
    if keras_layer_path:  # a layer per_sample_forward does not run: the one-call-per-image path
        total = keras.layers.Activation("linear")(total)
    conv = keras.layers.Conv2D(C, 1, name="psi")
    out = keras.layers.Add()([previous, conv(total)])
    conv.set_weights([np.asarray(kernel, np.float32).reshape(1, 1, C, C), np.asarray(bias, np.float32)])
    return keras.Model([noise, previous], out)


def linear_critic(kernel, bias):
    image = keras.Input((None, None, C))
    conv = keras.layers.Conv2D(1, 1, name="score")
    scores = conv(image)
    conv.set_weights([np.asarray(kernel, np.float32).reshape(1, 1, C, 1), np.asarray(bias, np.float32)])
    return keras.Model(image, scores)


G_KERNEL = np.array([[0.5, -0.2], [0.1, 0.3]])
G_BIAS = np.array([0.05, -0.1])
D_KERNEL = np.array([0.4, 0.7])  # ||w|| = 0.806: the penalty is active
D_BIAS = np.array([0.2])


def iteration_data(seed=0):
    rng = np.random.default_rng(seed)
    data = {name: rng.uniform(-1, 1, (1, H, W, C)).astype(np.float32)
            for name in ("real", "noise", "fixed_noise", "previous_reconstruction")}
    data["previous"] = rng.uniform(-1, 1, (3, H, W, C)).astype(np.float32)
    data["penalty_mix"] = rng.uniform(0, 1, (3,)).astype(np.float32)
    return data


def hand_iteration(data, alpha=10.0, penalty_weight=0.1, critic_steps=3, generator_steps=3,
                   lr=LEARNING_RATE):
    """The iteration derived by hand (float64), returning final weights and last losses."""
    d = {k: v.astype(np.float64)[..., :] for k, v in data.items()}
    K, c, w, b = G_KERNEL.copy(), G_BIAS.copy(), D_KERNEL.copy(), D_BIAS.copy()

    def generate(noise, previous):
        return previous + (noise + previous) @ K + c

    real_mean = d["real"].reshape(-1, C).mean(0)
    for step in range(critic_steps):
        fake = generate(d["noise"][0], d["previous"][step])
        fake_mean = fake.reshape(-1, C).mean(0)
        norm = np.linalg.norm(w)
        penalty = (norm - 1.0) ** 2
        critic_loss = fake_mean @ w - real_mean @ w + penalty_weight * penalty
        w = w - lr * (fake_mean - real_mean + penalty_weight * 2.0 * (norm - 1.0) * w / norm)
        # the bias cancels in E[D(fake)] - E[D(real)]: no gradient
    positions = H * W
    for step in range(generator_steps):
        n_fake, p_fake = d["noise"][0].reshape(-1, C), d["previous"][-1].reshape(-1, C)
        n_rec, p_rec = d["fixed_noise"][0].reshape(-1, C), d["previous_reconstruction"][0].reshape(-1, C)
        fake = p_fake + (n_fake + p_fake) @ K + c
        rec = p_rec + (n_rec + p_rec) @ K + c
        real = d["real"][0].reshape(-1, C)
        adversarial = -(fake @ w + b).mean()
        reconstruction = np.mean((rec - real) ** 2)
        grad_fake = np.tile(-w / positions, (positions, 1))
        grad_rec = alpha * 2.0 * (rec - real) / rec.size
        K = K - lr * ((n_fake + p_fake).T @ grad_fake + (n_rec + p_rec).T @ grad_rec)
        c = c - lr * (grad_fake.sum(0) + grad_rec.sum(0))
    return dict(K=K, c=c, w=w, b=b, critic_loss=critic_loss, penalty=penalty,
                adversarial=adversarial, reconstruction=reconstruction)


def run_iteration(data, keras_layer_path=False, **kwargs):
    trainer = SinGANScale(linear_generator(G_KERNEL, G_BIAS, keras_layer_path), linear_critic(D_KERNEL, D_BIAS),
                          **kwargs)
    assert trainer._batched is (not keras_layer_path)
    trainer.compile(generator_optimizer=keras.optimizers.SGD(LEARNING_RATE),
                    critic_optimizer=keras.optimizers.SGD(LEARNING_RATE))
    history = trainer.fit(tf.data.Dataset.from_tensors(data), epochs=1, steps_per_epoch=1, verbose=0)
    return trainer, {k: float(v[-1]) for k, v in history.history.items()}


@pytest.mark.parametrize("keras_layer_path", [False, True], ids=["batched", "one_call_per_image"])
def test_one_iteration_equals_the_hand_derived_update(keras_layer_path):
    data = iteration_data()
    trainer, logs = run_iteration(data, keras_layer_path)
    expected = hand_iteration(data)
    kernel, bias = trainer.generator.get_layer("psi").get_weights()
    np.testing.assert_allclose(kernel[0, 0], expected["K"], atol=2e-6)
    np.testing.assert_allclose(bias, expected["c"], atol=2e-6)
    w, b = trainer.critic.get_layer("score").get_weights()
    np.testing.assert_allclose(w[0, 0, :, 0], expected["w"], atol=2e-6)
    np.testing.assert_allclose(b, expected["b"], atol=2e-6)
    assert logs["critic_loss"] == pytest.approx(expected["critic_loss"], rel=1e-5, abs=1e-6)
    assert logs["gradient_penalty"] == pytest.approx(expected["penalty"], rel=1e-5)
    assert logs["generator_loss"] == pytest.approx(expected["adversarial"], rel=1e-5, abs=1e-6)
    assert logs["reconstruction_loss"] == pytest.approx(expected["reconstruction"], rel=1e-5)


def test_scale_defaults_are_the_papers():
    trainer = SinGANScale(linear_generator(G_KERNEL, G_BIAS), linear_critic(D_KERNEL, D_BIAS))
    assert (trainer.reconstruction_weight, trainer.gradient_penalty_weight) == (10.0, 0.1)
    assert (trainer.critic_steps, trainer.generator_steps, trainer.gradient_penalty) == (3, 3, "per_position")


def test_penalty_pushes_the_critic_gradient_norm_towards_1():
    data = iteration_data(1)
    # zero noise and previous: every fake is G's bias c; a real image equal to it leaves the
    # critic no adversarial gradient, so only the penalty moves w
    data["noise"] = np.zeros((1, H, W, C), np.float32)
    data["previous"] = np.zeros((3, H, W, C), np.float32)
    data["real"] = np.broadcast_to(G_BIAS, (1, H, W, C)).astype(np.float32)
    without, _ = run_iteration(data, gradient_penalty_weight=0.0)
    with_penalty, _ = run_iteration(data)
    norm = lambda t: np.linalg.norm(t.critic.get_layer("score").get_weights()[0])  # noqa: E731
    assert norm(without) == pytest.approx(np.linalg.norm(D_KERNEL), abs=1e-7)
    assert norm(with_penalty) > np.linalg.norm(D_KERNEL) + 1e-4  # 0.806 -> towards 1


def test_reconstruction_term_moves_the_reconstruction_towards_the_image():
    data = iteration_data(2)

    def rec_error(trainer):
        rec = trainer.generator([data["fixed_noise"], data["previous_reconstruction"]])
        return float(np.mean((np.asarray(rec) - data["real"]) ** 2))

    without, _ = run_iteration(data, reconstruction_weight=0.0)
    with_rec, _ = run_iteration(data)
    assert rec_error(with_rec) < rec_error(without) - 1e-3


# ------------------------------------------------------------------ the pyramid
TINY = dict(max_size=34, min_size=25, filters=4, max_filters=4, num_blocks=2, seed=0)


@pytest.fixture(scope="module")
def recorded_fit():
    """A two-scale SinGAN fit with what each scale was given and started from recorded."""
    records = []
    original_dataset, original_train = SinGANScale.dataset, SinGAN._train_scale

    def dataset(real, noise_amplitude, fixed_noise, previous_reconstruction, *args, **kwargs):
        records.append({"amplitude": noise_amplitude, "fixed": np.array(fixed_noise),
                        "previous_reconstruction": np.array(previous_reconstruction)})
        return original_dataset(real, noise_amplitude, fixed_noise, previous_reconstruction, *args, **kwargs)

    starts = []

    def train_scale(self, scale, trainer, real, iterations, verbose, *args, **kwargs):
        starts.append({"generator": [np.array(w) for w in trainer.generator.get_weights()],
                       "critic": [np.array(w) for w in trainer.critic.get_weights()],
                       "steps": [int(trainer.generator_optimizer.iterations),
                                 int(trainer.critic_optimizer.iterations)]})
        out = original_train(self, scale, trainer, real, iterations, verbose, *args, **kwargs)
        starts[-1]["critic_end"] = [np.array(w) for w in trainer.critic.get_weights()]
        starts[-1]["steps_end"] = [int(trainer.generator_optimizer.iterations),
                                   int(trainer.critic_optimizer.iterations)]
        return out

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0, 0.4, (34, 34, 2)), -1, 1).astype(np.float32)
    mp = pytest.MonkeyPatch()
    mp.setattr(SinGANScale, "dataset", staticmethod(dataset))
    mp.setattr(SinGAN, "_train_scale", train_scale)
    try:
        model = SinGAN(**TINY).fit(image, iterations_per_scale=5, verbose=0)
    finally:
        mp.undo()
    assert model.num_scales >= 2
    return model, records, starts


def test_noise_amplitude_is_one_tenth_of_the_reconstruction_rmse(recorded_fit):
    model, records, _ = recorded_fit
    reals = model.reals()
    assert records[0]["amplitude"] == 1.0 and model.noise_amplitudes[0] == 1.0
    # up(rec_0): bicubic (antialiased) resize of the coarsest reconstruction to scale 1
    up = tf.image.resize(model._reconstructions[0], model.shapes[1], method="bicubic", antialias=True)
    rmse = np.sqrt(np.mean((reals[1][None] - np.asarray(up)) ** 2))
    assert records[1]["amplitude"] == pytest.approx(0.1 * rmse, rel=1e-4)
    assert model.noise_amplitudes[1] == pytest.approx(0.1 * rmse, rel=1e-4)
    np.testing.assert_allclose(records[1]["previous_reconstruction"], np.asarray(up), atol=1e-5)


def test_reconstruction_noise_is_fixed_at_the_coarsest_and_zero_above(recorded_fit):
    model, records, _ = recorded_fit
    np.testing.assert_array_equal(np.broadcast_to(records[0]["fixed"], model.fixed_noise.shape), model.fixed_noise)
    assert np.abs(model.fixed_noise).max() > 0.1
    assert np.all(records[1]["fixed"] == 0.0)


def test_three_critic_and_three_generator_updates_per_iteration(recorded_fit):
    _, _, starts = recorded_fit
    for start in starts:
        assert start["steps"] == [0, 0]  # each scale starts with fresh optimizers
        assert start["steps_end"] == [3 * 5, 3 * 5]


def test_a_scale_starts_from_the_previous_scales_weights(recorded_fit):
    model, _, starts = recorded_fit
    for got, expected in zip(starts[1]["generator"], model.generators[0].get_weights()):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(starts[1]["critic"], starts[0]["critic_end"]):
        np.testing.assert_array_equal(got, expected)
    moved = max(np.abs(a - b).max() for a, b in zip(starts[0]["generator"], starts[1]["generator"]))
    assert moved > 0  # scale 0 did train: the copy is not the fresh initialisation


def test_learning_rate_drops_tenfold_after_80_percent_of_the_iterations(recorded_fit):
    model, _, _ = recorded_fit
    trainer = model._trainer(0, None, 10)  # as SinGAN builds it, for 10 iterations
    for optimizer in (trainer.generator_optimizer, trainer.critic_optimizer):
        rates = []
        for step in range(30):  # 3 updates per iteration
            optimizer.iterations.assign(step)
            rates.append(float(optimizer.learning_rate))
        np.testing.assert_allclose(rates[:24], 5e-4, rtol=1e-6)  # iterations 1-8
        np.testing.assert_allclose(rates[24:], 5e-5, rtol=1e-6)  # iterations 9-10
        assert (float(optimizer.beta_1), float(optimizer.beta_2)) == (0.5, 0.999)
    assert (trainer.reconstruction_weight, trainer.gradient_penalty_weight) == (10.0, 0.1)
    assert (trainer.critic_steps, trainer.generator_steps) == (3, 3)


def test_singan_defaults_are_the_papers():
    settings = SinGAN().settings
    expected = dict(scale_factor=0.75, min_size=25, max_size=250, noise_amplitude=0.1, reconstruction_weight=10.0,
                    gradient_penalty_weight=0.1, learning_rate=5e-4, drop_fraction=0.8, drop_factor=0.1,
                    critic_steps=3, generator_steps=3, filters=32, max_filters=128, double_every=4)
    assert {k: settings[k] for k in expected} == expected
    assert singan_module.singan_optimizer is singan_optimizer


def test_penalty_gradient_of_a_pre_norm_conv_bias_is_zero():
    """BatchNorm removes any shift of the conv before it, so the critic's input gradient, and
    with it the penalty, does not depend on that conv's bias: its gradient is exactly 0 (the
    reference's is ~1e-16). Needs exact second derivatives through the batch statistics."""
    from kerasgan import losses
    from kerasgan.networks.singan_blocks import per_sample_forward, singan_critic

    keras.utils.set_random_seed(0)
    critic = singan_critic(3, 8)
    rng = np.random.default_rng(0)
    real, fake = (rng.uniform(-1, 1, (1, 26, 30, 3)).astype(np.float32) for _ in range(2))
    bias = critic.get_layer("body_2_conv").bias
    kernel = critic.get_layer("body_2_conv").kernel
    with tf.GradientTape() as tape:
        penalty = tf.reduce_mean(losses.gradient_penalty(
            lambda images: per_sample_forward(critic, images), real, fake, norm_over="position",
            alpha=tf.constant(0.3, shape=(1, 1, 1, 1))))
    bias_gradient, kernel_gradient = tape.gradient(penalty, [bias, kernel])
    assert float(tf.reduce_max(tf.abs(kernel_gradient))) > 1e-2  # the penalty does train the critic
    assert float(tf.reduce_max(tf.abs(bias_gradient))) < 1e-5


def test_gradient_penalty_is_taken_at_the_interpolate_by_hand():
    """A quadratic critic D(x) = ||x||^2 over channels at each position: its input gradient is
    2 x^ at x^ = a real + (1 - a) fake, so (unlike for a linear critic) the penalty depends on
    where it is taken. Per position: mean over positions of (2 ||x^_p|| - 1)^2; per image:
    (2 ||x^|| - 1)^2."""
    from kerasgan import losses

    rng = np.random.default_rng(4)
    real, fake = (rng.uniform(-1, 1, (2, 3, 4, C)) for _ in range(2))
    alpha = np.array([0.25, 0.7]).reshape(2, 1, 1, 1)
    mixed = alpha * real + (1.0 - alpha) * fake
    by_position = np.mean((2.0 * np.linalg.norm(mixed, axis=-1) - 1.0) ** 2, axis=(1, 2))
    by_image = (2.0 * np.linalg.norm(mixed.reshape(2, -1), axis=1) - 1.0) ** 2

    def critic(images):
        return tf.reduce_sum(tf.square(images), axis=-1, keepdims=True)

    args = [tf.constant(real, tf.float32), tf.constant(fake, tf.float32)]
    for norm_over, expected in (("position", by_position), ("image", by_image)):
        got = losses.gradient_penalty(critic, *args, norm_over=norm_over, alpha=tf.constant(alpha, tf.float32))
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5)


def test_singan_trains_with_the_official_per_position_penalty(recorded_fit):
    model, _, _ = recorded_fit
    assert SinGAN().settings["gradient_penalty"] == "per_position"
    assert model.settings["gradient_penalty"] == "per_position"
    assert model._trainer(0, None, 10).gradient_penalty == "per_position"


def test_reconstruction_chain_has_zero_noise_above_the_coarsest(recorded_fit):
    """rec_0 = G_0(sigma_0 z*_0, 0) with sigma_0 = 1 and z*_0 one channel broadcast; rec_n =
    G_n(0, up(rec_{n-1})) above: the saved reconstructions follow that chain."""
    model, _, _ = recorded_fit
    zeros = np.zeros((1, *model.shapes[0], C), np.float32)
    noise = np.broadcast_to(model.fixed_noise, zeros.shape).astype(np.float32)
    expected = model.generators[0]([tf.constant(noise), tf.constant(zeros)], training=False)
    np.testing.assert_allclose(model._reconstructions[0], np.asarray(expected), atol=1e-6)
    up = np.asarray(tf.image.resize(model._reconstructions[0], model.shapes[1], method="bicubic", antialias=True))
    expected = model.generators[1]([tf.constant(np.zeros_like(up)), tf.constant(up)], training=False)
    np.testing.assert_allclose(model._reconstructions[1], np.asarray(expected), atol=1e-5)


@pytest.mark.parametrize("coarsest", [True, False])
def test_training_noise_is_one_channel_broadcast_at_the_coarsest_scale_only(coarsest):
    """The reference draws the coarsest scale's noise with one channel, broadcast to all; finer
    scales draw every channel. The dataset's first element, from its seeded numpy stream."""
    amplitude = 0.5
    dataset = SinGANScale.dataset(np.zeros((H, W, C), np.float32), amplitude, np.zeros((1, 1, 1, 1), np.float32),
                                  np.zeros((1, H, W, C), np.float32), None, seed=7, coarsest=coarsest)
    noise = np.asarray(next(iter(dataset))["noise"])
    draw = np.random.default_rng(7).standard_normal((1, H, W, 1 if coarsest else C))
    np.testing.assert_allclose(noise, np.broadcast_to(amplitude * draw, (1, H, W, C)), rtol=1e-6)
    assert np.array_equal(noise[..., 0], noise[..., 1]) is coarsest
