"""Objective-pinning tests for SynCGAN's mask GAN (Dey et al., eqs. 4-6, section 3.4).

The discriminator's targets are read from the step itself (`last_labels`, written by an eager
`train_step` from the tensors its loss used) and one whole step of linear networks is checked
against an SGD update derived here by hand from those targets: eq. 5 for D (no 0.5 factor),
eq. 6 with the hard target 1 for G.
"""

import keras
import numpy as np
import pytest

from kerasgan.models.mask_gan import MaskGAN

SIZE, BATCH, LEARNING_RATE = 4, 8, 0.5


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv_1x1(kernel, bias, name):
    inputs = keras.Input((SIZE, SIZE, 1))
    layer = keras.layers.Conv2D(1, 1, name="conv")
    outputs = layer(inputs)
    layer.set_weights([np.full((1, 1, 1, 1), kernel, np.float32), np.full((1,), bias, np.float32)])
    return keras.Model(inputs, outputs, name=name)


def linear_gan(noises=None, **kwargs):
    """G(z) = 0.8 z - 0.1, D(m) = 0.6 m + 0.2 (per pixel); `noises` replaces the model's draws."""
    gan = MaskGAN(conv_1x1(0.8, -0.1, "g"), conv_1x1(0.6, 0.2, "d"), seed=0, **kwargs)
    if noises is not None:
        queue = list(noises)
        gan.sample_noise = lambda batch: queue.pop(0)
    gan.compile(keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE), run_eagerly=True)
    return gan


def masks(seed=0):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((BATCH, SIZE, SIZE, 1)) > 0.6, 1.0, -1.0).astype(np.float32)


def test_one_step_equals_eq5_and_eq6_by_hand_with_the_labels_it_used():
    rng = np.random.default_rng(1)
    noise_d, noise_g = (rng.standard_normal((BATCH, SIZE, SIZE, 1)).astype(np.float32) for _ in range(2))
    gan = linear_gan([noise_d, noise_g], flip_probability=0.0)
    real = masks()
    logs = gan.train_on_batch(real, return_dict=True)
    t_real = gan.last_labels["real"].astype(np.float64)
    t_fake = gan.last_labels["fake"].astype(np.float64)
    assert np.all((t_real >= 0.9) & (t_real <= 1.0)) and np.all((t_fake >= 0.0) & (t_fake <= 0.1))

    n = real.size
    g_w, g_b, d_w, d_b = 0.8, -0.1, 0.6, 0.2
    fake = g_w * noise_d + g_b
    l_real, l_fake = d_w * real + d_b, d_w * fake + d_b
    # eq. 5: BCE(D(x), t_real) + BCE(D(G(z)), t_fake); BCE(l, t) = softplus(l) - t l
    d_loss = np.mean(softplus(l_real) - t_real * l_real) + np.mean(softplus(l_fake) - t_fake * l_fake)
    grad_real, grad_fake = (sigmoid(l_real) - t_real) / n, (sigmoid(l_fake) - t_fake) / n
    d_w_new = d_w - LEARNING_RATE * (np.sum(grad_real * real) + np.sum(grad_fake * fake))
    d_b_new = d_b - LEARNING_RATE * (np.sum(grad_real) + np.sum(grad_fake))
    # eq. 6 against the updated D: BCE(D(G(z')), 1)
    fake_g = g_w * noise_g + g_b
    logits = d_w_new * fake_g + d_b_new
    g_loss = np.mean(softplus(-logits))
    grad_fake_g = (sigmoid(logits) - 1.0) / n * d_w_new
    g_w_new = g_w - LEARNING_RATE * np.sum(grad_fake_g * noise_g)
    g_b_new = g_b - LEARNING_RATE * np.sum(grad_fake_g)

    assert float(logs["d_loss"]) == pytest.approx(d_loss, rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(g_loss, rel=1e-5)
    np.testing.assert_allclose([w.item() for w in gan.discriminator.get_weights()], [d_w_new, d_b_new], atol=1e-6)
    np.testing.assert_allclose([w.item() for w in gan.generator.get_weights()], [g_w_new, g_b_new], atol=1e-6)


def test_generator_step_raises_d_of_fakes_towards_the_hard_target():
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((BATCH, SIZE, SIZE, 1)).astype(np.float32)
    gan = linear_gan([noise, noise], flip_probability=0.0)
    gan.train_on_batch(masks(), return_dict=True)
    after = gan.discriminator(gan.generator(noise))
    # with D fixed at its updated weights, G's step must raise D's logits on its own fakes
    d_w, d_b = (w.item() for w in gan.discriminator.get_weights())
    before = d_w * (0.8 * noise - 0.1) + d_b
    assert np.mean(after) > np.mean(before) + 1e-4


def _labels_over_steps(steps, **kwargs):
    gan = linear_gan(**kwargs)
    keras.utils.set_random_seed(3)
    records = []
    for _ in range(steps):
        gan.train_on_batch(masks(), return_dict=True)
        records.append({k: np.array(v) for k, v in gan.last_labels.items()})
    return gan, records


def test_flip_half_flips_some_whole_iterations_and_not_all():
    """Dey et al. 3.4: "at some random iterations real samples are labeled as fake and vice
    versa": a flip swaps every target of its iteration, real and fake together."""
    _, records = _labels_over_steps(24, flip_probability=0.5)
    flipped_steps = 0
    for record in records:
        real, fake, flipped = record["real"][:, 0, 0, 0], record["fake"][:, 0, 0, 0], record["flipped"]
        assert np.all(flipped == flipped[0])  # all examples of the step together
        if flipped[0]:
            flipped_steps += 1
            assert np.all(real <= 0.1) and np.all(fake >= 0.9)
        else:
            assert np.all(real >= 0.9) and np.all(fake <= 0.1)
    assert 0 < flipped_steps < len(records)


def test_flip_per_example_mixes_within_a_step():
    _, records = _labels_over_steps(4, flip_probability=0.5, flip_per="example")
    mixed = [0 < record["flipped"].sum() < BATCH for record in records]
    assert any(mixed)
    for record in records:  # the recorded indicator is the swap the targets show
        np.testing.assert_array_equal(record["real"][:, 0, 0, 0] <= 0.1, record["flipped"] == 1.0)


def test_flip_zero_never_flips_and_the_metric_says_so():
    gan, records = _labels_over_steps(6, flip_probability=0.0)
    assert all(record["flipped"].sum() == 0 for record in records)
    assert float(gan.flipped_tracker.result()) == 0.0


def test_defaults_are_the_papers():
    gan = MaskGAN(conv_1x1(1.0, 0.0, "g"), conv_1x1(1.0, 0.0, "d"))
    assert gan.label_smoothing and gan.real_label_range == (0.9, 1.0) and gan.fake_label_range == (0.0, 0.1)
    assert gan.flip_per == "iteration" and gan.flip_probability == 0.05
    with pytest.raises(ValueError, match="flip_per"):
        MaskGAN(conv_1x1(1.0, 0.0, "g"), conv_1x1(1.0, 0.0, "d"), flip_per="batch")


def test_smoothed_targets_are_one_value_per_example_over_its_patch_logits():
    """Each example draws one smoothed target, broadcast over all its patch logits (4x4 here)."""
    _, records = _labels_over_steps(2, flip_probability=0.0)
    for record in records:
        for key, (low, high) in (("real", (0.9, 1.0)), ("fake", (0.0, 0.1))):
            labels = record[key].reshape(BATCH, -1)
            assert labels.shape[1] == SIZE * SIZE
            np.testing.assert_array_equal(labels, np.repeat(labels[:, :1], SIZE * SIZE, axis=1))
            assert np.all((labels >= low) & (labels <= high))
            assert len(np.unique(labels[:, 0])) == BATCH  # a draw per example, not one per step


def test_syncgan_builds_its_mask_gans_with_the_papers_label_tricks():
    """Dey et al. 3.4 through SynCGAN itself: smoothing U(0.9, 1) / U(0, 0.1) and whole-iteration
    flipping (0.05) on every class's mask GAN, not only on a MaskGAN built by hand."""
    from kerasgan.syncgan import SynCGAN

    model = SynCGAN(image_size=16, filters=2, depth=2, n_layers=1, noise_channels=1)
    assert (model.config["flip_probability"], model.config["label_smoothing"]) == (0.05, True)
    assert len(model.mask_gans) == 2
    for gan in model.mask_gans.values():
        assert gan.label_smoothing is True
        assert (gan.real_label_range, gan.fake_label_range) == ((0.9, 1.0), (0.0, 0.1))
        assert (gan.flip_probability, gan.flip_per) == (0.05, "iteration")
