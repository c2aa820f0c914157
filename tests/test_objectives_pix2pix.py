"""Objective-pinning tests for Pix2Pix, ModeSeekingPix2Pix and SynCGAN's conditional GAN.

Each loss is checked on fixed logits/images against numbers computed here by hand, and one
whole `train_step` of networks small enough to differentiate by hand (1x1 convolutions: linear
G and D) is checked against an update derived here in numpy: the D targets, the 0.5 factor,
the L1/MSE weight, the mode-seeking term (Allender et al. eq. 4), the step order (D first, G
against the updated D) and which terms reach the generator's gradient. Plain SGD makes the
update -lr * gradient, so every term shows up in the weights.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasgan.models import ModeSeekingPix2Pix, Pix2Pix
from kerasgan.models.pix2pix import FusedAdam

LEARNING_RATE = 0.1


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def linear_network(input_channels, output_channels, kernel, bias, size=4, name=None):
    """A 1x1 convolution: out[..., o] = sum_i in[..., i] * kernel[i, o] + bias[o]."""
    inputs = keras.Input((size, size, input_channels))
    layer = keras.layers.Conv2D(output_channels, 1, name="conv")
    outputs = layer(inputs)
    layer.set_weights([np.asarray(kernel, np.float32).reshape(1, 1, input_channels, output_channels),
                       np.asarray(bias, np.float32)])
    return keras.Model(inputs, outputs, name=name)


def weights_of(network):
    kernel, bias = network.get_weights()
    return kernel[0, 0].astype(np.float64), bias.astype(np.float64)


def fixed_batch(batch=2, size=4, condition_channels=1, image_channels=1, seed=0):
    rng = np.random.default_rng(seed)
    condition = rng.uniform(-1, 1, (batch, size, size, condition_channels)).astype(np.float32)
    target = rng.uniform(-1, 1, (batch, size, size, image_channels)).astype(np.float32)
    return condition, target


def apply_1x1(inputs, kernel, bias):
    return np.einsum("bhwi,io->bhwo", inputs, kernel) + bias


# ------------------------------------------------------------------ hand-derived reference step
def reference_step(condition, target, g_kernel, g_bias, d_kernel, d_bias, gan="bce",
                   reconstruction="l1", l1_weight=100.0, mode_seeking_weight=0.0,
                   conditional=True, epsilon=1e-5, lr=LEARNING_RATE):
    """One pix2pix step with SGD, derived by hand (float64): returns losses and new weights.

    D loss: 0.5 * (mean l(D(x, y), 1) + mean l(D(x, G(x)), 0)); G loss against the updated D:
    mean l(D(x, G(x)), 1) + lambda * rec(G(x), y) [+ mu * L_ms]. For bce, dl/dlogit = sigmoid
    - t; for lsgan l = (logit - t)^2, dl/dlogit = 2 (logit - t).
    """
    x, y = condition.astype(np.float64), target.astype(np.float64)
    fake = apply_1x1(x, g_kernel, g_bias)
    n = fake[..., :1].size  # logits per batch (B*H*W, one channel)

    def d_in(image):
        return np.concatenate([x, image], -1) if conditional else image

    def loss_and_grad(logits, t):
        if gan == "bce":
            return np.mean(softplus(logits) - t * logits), (sigmoid(logits) - t) / n
        return np.mean((logits - t) ** 2), 2.0 * (logits - t) / n

    real_in, fake_in = d_in(y), d_in(fake)
    real_logits, fake_logits = apply_1x1(real_in, d_kernel, d_bias), apply_1x1(fake_in, d_kernel, d_bias)
    real_loss, real_grad = loss_and_grad(real_logits, 1.0)
    fake_loss, fake_grad = loss_and_grad(fake_logits, 0.0)
    d_loss = 0.5 * (real_loss + fake_loss)
    d_kernel_grad = 0.5 * (np.einsum("bhwi,bhwo->io", real_in, real_grad)
                           + np.einsum("bhwi,bhwo->io", fake_in, fake_grad))
    d_bias_grad = 0.5 * (real_grad.sum((0, 1, 2)) + fake_grad.sum((0, 1, 2)))
    new_d_kernel, new_d_bias = d_kernel - lr * d_kernel_grad, d_bias - lr * d_bias_grad

    logits = apply_1x1(d_in(fake), new_d_kernel, new_d_bias)
    g_gan, logit_grad = loss_and_grad(logits, 1.0)
    image_rows = slice(x.shape[-1], None) if conditional else slice(None)
    fake_grad = logit_grad @ new_d_kernel[image_rows].T  # d g_gan / d fake
    if reconstruction == "l1":
        g_rec = np.mean(np.abs(fake - y))
        fake_grad = fake_grad + l1_weight * np.sign(fake - y) / fake.size
    else:
        g_rec = np.mean((fake - y) ** 2)
        fake_grad = fake_grad + l1_weight * 2.0 * (fake - y) / fake.size
    g_ms = None
    if mode_seeking_weight:
        g_ms, ms_grad = mode_seeking_by_hand(x, fake, epsilon)
        fake_grad = fake_grad + mode_seeking_weight * ms_grad
    new_g_kernel = g_kernel - lr * np.einsum("bhwi,bhwo->io", x, fake_grad)
    new_g_bias = g_bias - lr * fake_grad.sum((0, 1, 2))
    return dict(d_loss=d_loss, g_gan=g_gan, g_l1=g_rec, g_ms=g_ms, d_kernel=new_d_kernel,
                d_bias=new_d_bias, g_kernel=new_g_kernel, g_bias=new_g_bias)


def mode_seeking_by_hand(x, fake, epsilon):
    """Mean over pairs (i, i+1 mod B) of eq. 4, ||x_i - x_j||_1 / (||G_i - G_j||_1 + eps), with
    both norms divided by the pixel count only (so the ratio is eq. 4 for any channel count),
    and its gradient with respect to `fake`."""
    batch, pixels = len(x), x.shape[1] * x.shape[2]
    values, grad = [], np.zeros_like(fake)
    for i in range(batch):
        j = (i + 1) % batch
        a = np.abs(x[i] - x[j]).sum() / pixels
        difference = fake[i] - fake[j]
        b = np.abs(difference).sum() / pixels
        values.append(a / (b + epsilon))
        # d/dfake of a / (b + eps), averaged over the batch of pairs
        db = np.sign(difference) / pixels
        coefficient = -a / (b + epsilon) ** 2 / batch
        grad[i] += coefficient * db
        grad[j] -= coefficient * db
    return np.mean(values), grad


G_KERNEL, G_BIAS = [[0.6]], [0.1]
D_KERNEL, D_BIAS = [[0.3], [-0.7]], [0.05]


def linear_pix2pix(lr=LEARNING_RATE, **kwargs):
    generator = linear_network(1, 1, G_KERNEL, G_BIAS, name="g")
    discriminator = linear_network(2, 1, D_KERNEL, D_BIAS, name="d")
    model = Pix2Pix(generator, discriminator, **kwargs)
    model.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
    return model


def run_step(model, condition, target):
    logs = model.train_on_batch(condition, target, return_dict=True)
    return {k: float(v) for k, v in logs.items()}


def assert_step_matches(model, logs, expected, terms=("d_loss", "g_gan", "g_l1")):
    for term in terms:
        assert logs[term] == pytest.approx(expected[term], rel=1e-5, abs=1e-6), term
    g_kernel, g_bias = weights_of(model.generator)
    d_kernel, d_bias = weights_of(model.discriminator)
    np.testing.assert_allclose(d_kernel, expected["d_kernel"], atol=2e-6)
    np.testing.assert_allclose(d_bias, expected["d_bias"], atol=2e-6)
    np.testing.assert_allclose(g_kernel, expected["g_kernel"], atol=2e-6)
    np.testing.assert_allclose(g_bias, expected["g_bias"], atol=2e-6)


# ------------------------------------------------------------------ loss terms on fixed logits
def test_discriminator_loss_terms_by_hand():
    model = linear_pix2pix()
    real_logits = np.array([[[[2.0]], [[-1.0]]]], np.float32).reshape(1, 2, 1, 1)
    fake_logits = np.array([0.5, -3.0], np.float32).reshape(1, 2, 1, 1)
    # 0.5 * (mean softplus(-real) + mean softplus(fake)) = 0.5 * (BCE(real, 1) + BCE(fake, 0))
    expected = 0.5 * (np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(1.0))])
                      + np.mean([np.log1p(np.exp(0.5)), np.log1p(np.exp(-3.0))]))
    value = float(np.asarray(model.discriminator_loss_terms(real_logits, fake_logits))[0])
    assert value == pytest.approx(expected, rel=1e-6)
    model.gan_loss = "lsgan"
    expected = 0.5 * (np.mean([(2.0 - 1) ** 2, (-1.0 - 1) ** 2]) + np.mean([0.5 ** 2, 3.0 ** 2]))
    value = float(np.asarray(model.discriminator_loss_terms(real_logits, fake_logits))[0])
    assert value == pytest.approx(expected, rel=1e-6)


def test_generator_loss_terms_by_hand():
    model = linear_pix2pix()
    fake = np.array([0.5, -0.5, 0.0, 1.0], np.float32).reshape(1, 2, 2, 1)
    target = np.array([0.0, 0.0, 0.5, 0.5], np.float32).reshape(1, 2, 2, 1)
    logits = np.array([1.0, -2.0], np.float32).reshape(1, 1, 2, 1)
    terms = {k: float(np.asarray(v)[0]) for k, v in
             model.generator_loss_terms(fake, target, fake, logits).items()}
    gan = np.mean([np.log1p(np.exp(-1.0)), np.log1p(np.exp(2.0))])
    l1 = np.mean([0.5, 0.5, 0.5, 0.5])
    assert terms["g_gan"] == pytest.approx(gan, rel=1e-6)
    assert terms["g_l1"] == pytest.approx(l1, rel=1e-6)
    assert terms["total"] == pytest.approx(gan + 100.0 * l1, rel=1e-6)


def test_defaults_are_the_papers():
    model = Pix2Pix(linear_network(1, 1, G_KERNEL, G_BIAS), linear_network(2, 1, D_KERNEL, D_BIAS))
    assert (model.gan_loss, model.l1_weight, model.reconstruction_loss) == ("bce", 100.0, "l1")
    model.compile()
    for optimizer in (model.generator_optimizer, model.discriminator_optimizer):
        assert isinstance(optimizer, FusedAdam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert (float(optimizer.beta_1), float(optimizer.beta_2)) == (0.5, 0.999)


# ------------------------------------------------------------------ one whole step
@pytest.mark.parametrize("gan_loss", ["bce", "lsgan"])
def test_one_train_step_equals_the_hand_derived_update(gan_loss):
    condition, target = fixed_batch()
    model = linear_pix2pix(gan_loss=gan_loss)
    logs = run_step(model, condition, target)
    expected = reference_step(condition, target, np.array(G_KERNEL), np.array(G_BIAS),
                              np.array(D_KERNEL), np.array(D_BIAS), gan=gan_loss)
    assert_step_matches(model, logs, expected)


def test_one_train_step_with_mse_reconstruction_and_its_weight():
    condition, target = fixed_batch(seed=3)
    model = linear_pix2pix(reconstruction_loss="mse", l1_weight=7.0)
    logs = run_step(model, condition, target)
    expected = reference_step(condition, target, np.array(G_KERNEL), np.array(G_BIAS),
                              np.array(D_KERNEL), np.array(D_BIAS), reconstruction="mse", l1_weight=7.0)
    assert_step_matches(model, logs, expected)


# ------------------------------------------------------------------ gradient directions
def test_discriminator_step_lowers_its_loss_with_real_as_1_and_fake_as_0():
    condition, target = fixed_batch(batch=4, seed=5)
    model = linear_pix2pix(lr=1.0)
    fake = np.asarray(model.generator(condition), np.float64)

    def d_loss_by_hand():  # 0.5 * (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) at D's current weights
        kernel, bias = weights_of(model.discriminator)
        real = apply_1x1(np.concatenate([condition, target], -1), kernel, bias)
        fake_logits = apply_1x1(np.concatenate([condition, fake], -1), kernel, bias)
        return 0.5 * (np.mean(softplus(-real)) + np.mean(softplus(fake_logits)))

    before = d_loss_by_hand()
    run_step(model, condition, target)
    assert d_loss_by_hand() < before - 1e-4


def _l1_after_one_step(l1_weight, condition, target):
    model = linear_pix2pix(lr=1e-2, l1_weight=l1_weight)
    run_step(model, condition, target)
    return float(np.mean(np.abs(model.generator(condition) - target)))


def test_l1_term_moves_the_generator_towards_the_target():
    condition, target = fixed_batch(batch=4, seed=6)
    start = float(np.mean(np.abs(linear_network(1, 1, G_KERNEL, G_BIAS)(condition) - target)))
    without, with_l1 = _l1_after_one_step(0.0, condition, target), _l1_after_one_step(100.0, condition, target)
    assert with_l1 < start - 3e-3 and with_l1 < without - 3e-3


# ------------------------------------------------------------------ mode seeking (eq. 4)
def linear_mode_seeking(condition_channels=2, **kwargs):
    rng = np.random.default_rng(11)
    g_kernel = rng.normal(0, 0.5, (condition_channels, 3))
    g_bias = np.array([0.1, -0.2, 0.05])
    d_kernel, d_bias = np.array([[0.3], [-0.2], [0.4]]), np.array([0.05])
    generator = linear_network(condition_channels, 3, g_kernel, g_bias, name="g")
    discriminator = linear_network(3, 1, d_kernel, d_bias, name="d")
    model = ModeSeekingPix2Pix(generator, discriminator, **kwargs)
    model.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE))
    return model, (g_kernel, g_bias, d_kernel, d_bias)


def test_mode_seeking_defaults_are_the_papers():
    model, _ = linear_mode_seeking()
    assert (model.l1_weight, model.mode_seeking_weight, model.mode_seeking_epsilon) == (10.0, 10.0, 1e-5)
    assert model.conditional_discriminator is False and model.gan_loss == "bce"


def test_mode_seeking_value_by_hand_is_eq4_for_any_channel_count():
    """||x1 - x2||_1 / ||G(x1) - G(x2)||_1: the channel counts of x and G(x) do not scale it."""
    model, _ = linear_mode_seeking()
    x = np.zeros((2, 2, 2, 2), np.float32)
    x[0] = 1.0  # ||x1 - x2||_1 = 2 * 2 * 2 = 8
    fake = np.zeros((2, 2, 2, 3), np.float32)
    fake[1] = 0.5  # ||G1 - G2||_1 = 2 * 2 * 3 * 0.5 = 6
    terms = model.generator_loss_terms(x, fake, fake, np.zeros((2, 1, 1, 1), np.float32))
    np.testing.assert_allclose(np.asarray(terms["g_ms"]), [8 / (6 + 4e-5)] * 2, rtol=1e-5)
    # mask-only condition (one channel): ||x1 - x2||_1 = 4, the ratio halves, as eq. 4 says
    mask_model, _ = linear_mode_seeking(condition_channels=1)
    terms = mask_model.generator_loss_terms(x[..., :1], fake, fake, np.zeros((2, 1, 1, 1), np.float32))
    np.testing.assert_allclose(np.asarray(terms["g_ms"]), [4 / (6 + 4e-5)] * 2, rtol=1e-5)


@pytest.mark.parametrize("condition_channels", [2, 1])
def test_mode_seeking_train_step_equals_the_hand_derived_update(condition_channels):
    condition, target = fixed_batch(batch=3, condition_channels=condition_channels, image_channels=3, seed=8)
    model, (g_kernel, g_bias, d_kernel, d_bias) = linear_mode_seeking(condition_channels)
    logs = run_step(model, condition, target)
    expected = reference_step(condition, target, g_kernel, g_bias, d_kernel, d_bias, l1_weight=10.0,
                              mode_seeking_weight=10.0, conditional=False)
    assert_step_matches(model, logs, expected, terms=("d_loss", "g_gan", "g_l1", "g_ms"))


def _output_spread_after_one_step(mode_seeking_weight, condition, target):
    model, _ = linear_mode_seeking(mode_seeking_weight=mode_seeking_weight)
    run_step(model, condition, target)
    fake = np.asarray(model.generator(condition))
    return float(np.mean(np.abs(fake - np.roll(fake, -1, axis=0))))


def test_mode_seeking_term_moves_two_outputs_apart():
    condition, target = fixed_batch(batch=2, condition_channels=2, image_channels=3, seed=9)
    without = _output_spread_after_one_step(0.0, condition, target)
    with_ms = _output_spread_after_one_step(10.0, condition, target)
    assert with_ms > without + 1e-3


# ------------------------------------------------------------------ SynCGAN's conditional GAN
def test_syncgan_cgan_objective_is_bce_plus_100_mse():
    from kerasgan.syncgan import SynCGAN

    cgan = SynCGAN(image_size=16, filters=2, depth=2, n_layers=1, noise_channels=1).cgan
    rng = np.random.default_rng(4)
    fake = rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    target = rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    logits = rng.normal(0, 1, (2, 3, 3, 1)).astype(np.float32)
    terms = cgan.generator_loss_terms(fake[..., :1], target, fake, logits)
    gan = np.mean(softplus(-logits.astype(np.float64)), axis=(1, 2, 3))
    mse = np.mean((fake.astype(np.float64) - target) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(np.asarray(terms["total"]), gan + 100.0 * mse, rtol=1e-5)
    # the discriminator of eq. 3 keeps the hard targets and the pix2pix 0.5
    real_logits = rng.normal(0, 1, (2, 3, 3, 1)).astype(np.float32)
    d = 0.5 * (np.mean(softplus(-real_logits.astype(np.float64)), axis=(1, 2, 3))
               + np.mean(softplus(logits.astype(np.float64)), axis=(1, 2, 3)))
    np.testing.assert_allclose(np.asarray(cgan.discriminator_loss_terms(real_logits, logits)), d, rtol=1e-5)


def test_train_step_runs_the_generator_in_train_mode():
    """pix2pix trains G in train mode (batch statistics, dropout on): one step moves a
    BatchNormalization's moving statistics by (1 - 0.99) towards the batch moments of G's
    pre-norm output, computed here (a generator run in inference mode leaves them at 0 / 1)."""
    condition, target = fixed_batch(batch=2, seed=13)
    inputs = keras.Input((4, 4, 1))
    conv, norm = keras.layers.Conv2D(1, 1, name="conv"), keras.layers.BatchNormalization(name="norm")
    generator = keras.Model(inputs, norm(conv(inputs)), name="g")
    conv.set_weights([np.full((1, 1, 1, 1), 0.6, np.float32), np.array([0.1], np.float32)])
    model = Pix2Pix(generator, linear_network(2, 1, D_KERNEL, D_BIAS, name="d"))
    model.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE))
    run_step(model, condition, target)
    pre_norm = 0.6 * condition.astype(np.float64) + 0.1
    assert float(norm.moving_mean[0]) == pytest.approx(0.01 * pre_norm.mean(), rel=1e-4)
    assert float(norm.moving_variance[0]) == pytest.approx(0.99 + 0.01 * pre_norm.var(), rel=1e-5)


def test_syncgan_keeps_the_generator_of_the_lowest_validation_generator_loss():
    """Dey et al. 4.1: the CGAN kept is the epoch of minimum generator loss (eq. 3, BCE + 100 MSE,
    inference mode) on the validation pairs."""
    from kerasgan.syncgan.pipeline import BestGeneratorByValidationLoss

    condition, target = fixed_batch(batch=3, seed=12)
    model = linear_pix2pix(reconstruction_loss="mse")
    best = BestGeneratorByValidationLoss(condition, target, batch_size=2)
    best.set_model(model)
    g_kernel, g_bias = weights_of(model.generator)
    d_kernel, d_bias = weights_of(model.discriminator)
    x = condition.astype(np.float64)
    fake = apply_1x1(x, g_kernel, g_bias)
    logits = apply_1x1(np.concatenate([x, fake], -1), d_kernel, d_bias)
    expected = np.mean(np.mean(softplus(-logits), axis=(1, 2, 3)) + 100.0 * np.mean((fake - target) ** 2, axis=(1, 2, 3)))
    assert best.validation_generator_loss() == pytest.approx(expected, rel=1e-5)

    by_epoch = [3.0, 1.0, 2.0]
    queue = list(by_epoch)
    best.validation_generator_loss = lambda: queue.pop(0)
    conv = model.generator.get_layer("conv")
    for epoch, bias in enumerate([0.1, 0.2, 0.3]):
        conv.set_weights([conv.get_weights()[0], np.array([bias], np.float32)])
        logs = {}
        best.on_epoch_end(epoch, logs)
        assert logs["val_g_loss"] == by_epoch[epoch]
    best.on_train_end()
    assert best.best_epoch == 1
    assert float(conv.get_weights()[1][0]) == pytest.approx(0.2)  # epoch 1's weights restored
