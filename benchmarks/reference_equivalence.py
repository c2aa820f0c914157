"""Reference equivalence: one kerasgan training step against a PyTorch re-implementation of
the reference code, from the same initial weights and the same batch.

1. pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix, `Pix2PixModel.optimize_parameters`):
   U-Net generator + 70 px PatchGAN on concat(condition, image), vanilla GAN loss
   (BCEWithLogits) + 100 * L1, D loss * 0.5, Adam(2e-4, betas (0.5, 0.999)); the order G
   forward -> D update on the detached fake (fake scored first, then real) -> G update
   against the updated D.
2. SinGAN (tamarott/SinGAN, `train_single_scale`): one iteration of a scale above the
   coarsest: 3 critic steps (-D(real).mean(), D(fake).mean() on a fresh draw of the coarser
   scales each step, WGAN-GP with the norm over channels per position, weight 0.1), then 3
   generator steps (-D(fake).mean() + 10 * MSE(G(z_rec, up(rec)), real)), Adam(5e-4,
   betas (0.5, 0.999)) for both.

The PyTorch side is our own code written from the reference's description (modules, losses,
step order); nothing is copied. Weights are copied Keras -> PyTorch: conv kernels HWIO ->
OIHW, transposed-conv kernels (kh, kw, out, in) -> (in, out, kh, kw), the U-Net's skip
concatenation [up, skip] (Keras) -> [skip, up] (reference) by permuting the input channels of
the up-convolutions, BatchNorm momentum 0.9 (Keras: moving = 0.9 moving + 0.1 batch) ==
PyTorch momentum 0.1, epsilon 1e-5 on both sides.

Conventions that differ and how the comparison handles them:
- Adam's epsilon: Keras adds it to sqrt(v) before the bias correction, PyTorch after. Keras
  gets epsilon * sqrt(1 - beta_2^t) for the compared step t (exact there).
- PyTorch's running variance uses the unbiased batch variance (n / (n - 1)), Keras the
  biased one: moving variances are compared after that factor is applied to the update.
- Dropout: the 32 px U-Net has depth 5, where the reference has no dropout blocks either
  (num_downs - 5 = 0), so both run without dropout.
- SinGAN's generator steps: the reference scores the last critic step's fake (a graph made
  before the generator's first update; current PyTorch refuses to back-propagate through it
  after the update); kerasgan re-generates it at the current weights, and so does this
  re-implementation, without letting that pass move the BatchNorm running statistics (as the
  reference, which runs no extra pass).
- SinGAN's conv biases before BatchNorm have an exact gradient of zero (the norm removes any
  shift), and so has the critic's output bias (it cancels in E[D(fake)] - E[D(real)] and in
  the penalty); both frameworks give them float32 rounding noise, which Adam scales to
  lr-sized steps. They are excluded from the weight comparison; the pre-norm biases change no
  output (checked: largest eval-mode output difference of the updated networks), the critic's
  output bias shifts every score, so scores and the generator's adversarial loss are compared
  without it.
- Second derivatives through BatchNorm (the gradient penalty): tf.nn.moments stops the
  gradient of the mean inside the variance, exact for first derivatives only. With it the
  penalty's gradients differed from the reference by up to 2.6e-3 (SGD, lr 1, one critic
  step); `per_sample_forward` now computes the variance directly and agrees to 3e-7.

Tolerance: 1e-4 absolute on losses and weights. float32 convolutions in the two frameworks
round differently (~1e-6 relative); Adam's first steps move each weight by ~lr * sign(g), so
a difference appears only where a gradient is within rounding of zero; the measured
differences are printed.

    python benchmarks/reference_equivalence.py      # table + benchmarks/results/reference_equivalence.json

Needs torch (`pip install torch==2.13.0`, CPU wheel); `tests/test_reference_equivalence.py`
imports this module and skips when torch is absent.
"""

import json
import pathlib
import time

import numpy as np

import kerasgan  # noqa: F401  (oneDNN setting before TensorFlow)

TOLERANCE = 1e-4
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "reference_equivalence.json"


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


# ------------------------------------------------------------------ weight copying
def _conv_weight(kernel):
    """Keras Conv2D kernel (kh, kw, in, out) -> PyTorch (out, in, kh, kw)."""
    return np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))


def _transpose_conv_weight(kernel):
    """Keras Conv2DTranspose kernel (kh, kw, out, in) -> PyTorch ConvTranspose2d (in, out, kh, kw)."""
    return np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))


def _set(parameter, value):
    torch = _torch()
    with torch.no_grad():
        parameter.copy_(torch.from_numpy(np.asarray(value, np.float32)))


def _copy_batch_norm(keras_layer, module):
    gamma, beta, mean, variance = keras_layer.get_weights()
    _set(module.weight, gamma), _set(module.bias, beta)
    _set(module.running_mean, mean), _set(module.running_var, variance)


def _batch_norm(channels):
    torch = _torch()
    return torch.nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)


# ------------------------------------------------------------------ pix2pix, reference side
def _torch_unet(keras_generator):
    """The reference U-Net (nested skip blocks, unrolled to levels), weights from Keras."""
    torch = _torch()
    nn = torch.nn
    layers = {layer.name: layer for layer in keras_generator.layers}
    depth = sum(1 for name in layers if name.startswith("down") and name.endswith("_conv"))
    modules = nn.ModuleDict()
    for level in range(depth):
        kernel = layers[f"down{level}_conv"].get_weights()[0]
        conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], 4, 2, 1, bias=False)
        _set(conv.weight, _conv_weight(kernel))
        modules[f"down{level}"] = conv
        if 0 < level < depth - 1:
            modules[f"down{level}_norm"] = _batch_norm(kernel.shape[3])
            _copy_batch_norm(layers[f"down{level}_norm"], modules[f"down{level}_norm"])
    for level in range(depth):
        weights = layers[f"up{level}_conv_transpose"].get_weights()
        kernel = weights[0]  # (kh, kw, out, in), in = [up, skip] in Keras
        if level < depth - 1:  # the reference concatenates [skip, up]: swap the two halves
            half = kernel.shape[3] // 2
            kernel = np.concatenate([kernel[..., half:], kernel[..., :half]], axis=3)
        conv = nn.ConvTranspose2d(kernel.shape[3], kernel.shape[2], 4, 2, 1, bias=level == 0)
        _set(conv.weight, _transpose_conv_weight(kernel))
        if level == 0:
            _set(conv.bias, weights[1])
        modules[f"up{level}"] = conv
        if level > 0:
            modules[f"up{level}_norm"] = _batch_norm(kernel.shape[2])
            _copy_batch_norm(layers[f"up{level}_norm"], modules[f"up{level}_norm"])

    class UnetReference(nn.Module):
        def __init__(self):
            super().__init__()
            self.levels = modules
            self.depth = depth

        def forward(self, x):
            m = self.levels
            skips = []  # the input of each level's block: cat([input, block(input)]) below
            for level in range(self.depth):
                skips.append(x)
                if level > 0:
                    x = nn.functional.leaky_relu(x, 0.2)
                x = m[f"down{level}"](x)
                if 0 < level < self.depth - 1:
                    x = m[f"down{level}_norm"](x)
            for level in reversed(range(self.depth)):
                x = m[f"up{level}"](torch.relu(x))
                if level == 0:
                    return torch.tanh(x)
                x = m[f"up{level}_norm"](x)
                x = torch.cat([skips[level], x], dim=1)

    return UnetReference()


def _torch_patchgan(keras_discriminator):
    """The reference NLayerDiscriminator (70 px PatchGAN), weights from Keras."""
    torch = _torch()
    nn = torch.nn
    layers = {layer.name: layer for layer in keras_discriminator.layers}
    convs = sorted(name for name in layers if name.startswith("conv") and name[4:].isdigit())
    sequence = []
    for index, name in enumerate(convs):
        weights = layers[name].get_weights()
        last = index == len(convs) - 1
        conv = nn.Conv2d(weights[0].shape[2], weights[0].shape[3], 4, 1 if last else 2, 1,
                         bias=len(weights) == 2)
        _set(conv.weight, _conv_weight(weights[0]))
        if len(weights) == 2:
            _set(conv.bias, weights[1])
        sequence.append(conv)
        if f"{name}_norm" in layers:
            norm = _batch_norm(weights[0].shape[3])
            _copy_batch_norm(layers[f"{name}_norm"], norm)
            sequence.append(norm)
        sequence.append(nn.LeakyReLU(0.2))
    kernel, bias = layers["logits"].get_weights()
    conv = nn.Conv2d(kernel.shape[2], 1, 4, 1, 1)
    _set(conv.weight, _conv_weight(kernel)), _set(conv.bias, bias)
    sequence.append(conv)
    return nn.Sequential(*sequence)


def _nchw(array):
    return np.ascontiguousarray(np.transpose(array, (0, 3, 1, 2)))


def _adam_keras(torch_epsilon, step, learning_rate, beta_2=0.999):
    """Keras Adam with PyTorch's epsilon convention at optimizer step `step` (see module doc)."""
    import keras

    return keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=beta_2,
                                 epsilon=torch_epsilon * np.sqrt(1.0 - beta_2 ** step))


def pix2pix_step(size=32, filters=4, batch=2, seed=0):
    """One pix2pix train_step in kerasgan and in the PyTorch reference re-implementation.

    Returns {"losses": {name: (kerasgan, reference)}, "max_weight_difference": float,
    "max_moving_statistic_difference": float, ...}.
    """
    import keras

    from kerasgan.models import Pix2Pix
    from kerasgan.networks import patch_discriminator, unet_generator

    torch = _torch()
    keras.utils.set_random_seed(seed)
    generator = unet_generator((size, size, 1), 1, filters=filters)
    discriminator = patch_discriminator((size, size, 2), filters=filters)
    assert not any(type(layer).__name__ == "Dropout" for layer in generator.layers)
    torch_g, torch_d = _torch_unet(generator), _torch_patchgan(discriminator)
    rng = np.random.default_rng(seed)
    condition = rng.uniform(-1, 1, (batch, size, size, 1)).astype(np.float32)
    target = np.tanh(2.0 * condition + 0.3 * rng.standard_normal(condition.shape)).astype(np.float32)

    # forward outputs agree before any update (weights and layouts copied correctly); inference
    # mode, so neither side's running statistics move before the step
    with torch.no_grad():
        forward_difference = float(np.abs(
            np.transpose(torch_g.eval()(torch.from_numpy(_nchw(condition))).numpy(), (0, 2, 3, 1))
            - np.asarray(generator(condition, training=False))).max())

    model = Pix2Pix(generator, discriminator)
    model.compile(_adam_keras(1e-8, 1, 2e-4), _adam_keras(1e-8, 1, 2e-4))
    logs = {k: float(v) for k, v in model.train_on_batch(condition, target, return_dict=True).items()}

    # ---- the reference step (Pix2PixModel.optimize_parameters)
    optimizer_g = torch.optim.Adam(torch_g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    optimizer_d = torch.optim.Adam(torch_d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = torch.nn.BCEWithLogitsLoss()
    real_a, real_b = torch.from_numpy(_nchw(condition)), torch.from_numpy(_nchw(target))
    torch_g.train(), torch_d.train()
    fake_b = torch_g(real_a)                                           # forward()
    for parameter in torch_d.parameters():
        parameter.requires_grad_(True)
    optimizer_d.zero_grad()                                            # backward_D()
    pred_fake = torch_d(torch.cat([real_a, fake_b], 1).detach())
    loss_d_fake = bce(pred_fake, torch.zeros_like(pred_fake))
    pred_real = torch_d(torch.cat([real_a, real_b], 1))
    loss_d_real = bce(pred_real, torch.ones_like(pred_real))
    loss_d = (loss_d_fake + loss_d_real) * 0.5
    loss_d.backward()
    optimizer_d.step()
    for parameter in torch_d.parameters():
        parameter.requires_grad_(False)
    optimizer_g.zero_grad()                                            # backward_G()
    pred_fake = torch_d(torch.cat([real_a, fake_b], 1))
    loss_g_gan = bce(pred_fake, torch.ones_like(pred_fake))
    loss_g_l1 = torch.nn.functional.l1_loss(fake_b, real_b)
    (loss_g_gan + 100.0 * loss_g_l1).backward()
    optimizer_g.step()

    reference = _torch_unet(generator), _torch_patchgan(discriminator)  # kerasgan's updated weights
    weight_difference, statistic_difference = _compare_modules(
        (torch_g, torch_d), reference, batch_counts=_pix2pix_batch_counts(torch_g, torch_d, condition),
        statistics_of=(torch_g,))
    losses = {"d_loss": (logs["d_loss"], float(loss_d)), "g_gan": (logs["g_gan"], float(loss_g_gan)),
              "g_l1": (logs["g_l1"], float(loss_g_l1))}
    return {"forward_difference": forward_difference, "losses": losses,
            "max_loss_difference": max(abs(a - b) for a, b in losses.values()),
            "max_weight_difference": weight_difference,
            "max_moving_statistic_difference": statistic_difference,
            "moving_statistics_note": "generator's (one train-mode pass on both sides); the "
            "discriminator's depend on the order of its passes (the reference scores the fake "
            "first, kerasgan the real pair) and are not compared"}


def _pix2pix_batch_counts(torch_g, torch_d, condition):
    """Elements per channel that each BatchNorm normalised over (for the unbiased-variance factor)."""
    torch = _torch()
    counts = {}

    def hook(module, inputs, output):
        counts.setdefault(id(module), inputs[0].numel() // inputs[0].shape[1])

    handles = [m.register_forward_hook(hook) for net in (torch_g, torch_d)
               for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        saved = [(m, m.momentum) for net in (torch_g, torch_d) for m in net.modules()
                 if isinstance(m, torch.nn.BatchNorm2d)]
        for m, _ in saved:
            m.momentum = 0.0
        image = torch_g(torch.from_numpy(_nchw(condition)))
        torch_d(torch.cat([torch.from_numpy(_nchw(condition)), image], 1))
        for m, momentum in saved:
            m.momentum = momentum
    for handle in handles:
        handle.remove()
    return counts


def _compare_modules(trained, from_keras, batch_counts=None, skip=(), statistics_of=()):
    """Largest |difference| of trainable parameters and of the running statistics of `statistics_of`.

    Keras updates the moving variance with the biased batch variance, PyTorch with the unbiased
    one; with count n per channel and momentum 0.1 over k updates starting from v0 = 1 the two
    agree after rescaling the PyTorch update by (n - 1) / n, which is what is compared.
    """
    torch = _torch()
    weights, statistics = 0.0, 0.0
    for ours, theirs in zip(trained, from_keras):
        for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            if any(part in name for part in skip):
                continue
            weights = max(weights, float((a.detach() - b.detach()).abs().max()))
        for a, b in zip(ours.modules(), theirs.modules()):
            if isinstance(a, torch.nn.BatchNorm2d) and any(ours is net for net in statistics_of):
                statistics = max(statistics, float((a.running_mean - b.running_mean).abs().max()))
                if batch_counts and id(a) in batch_counts:
                    n = batch_counts[id(a)]
                    # one update from 1: torch 0.9 + 0.1 * v_unbiased, keras 0.9 + 0.1 * v_biased
                    torch_variance = 0.9 + (a.running_var - 0.9) * (n - 1) / n
                    statistics = max(statistics, float((torch_variance - b.running_var).abs().max()))
    return weights, statistics


# ------------------------------------------------------------------ SinGAN, reference side
def _torch_singan(keras_network, generator):
    """tamarott's GeneratorConcatSkip2CleanAdd / WDiscriminator structure, weights from Keras."""
    torch = _torch()
    nn = torch.nn
    layers = {layer.name: layer for layer in keras_network.layers}
    blocks = ["head"] + sorted(name[:-5] for name in layers if name.startswith("body_") and name.endswith("_conv"))
    sequence = []
    for block in blocks:
        kernel, bias = layers[f"{block}_conv"].get_weights()
        conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[0], 1, 0)
        _set(conv.weight, _conv_weight(kernel)), _set(conv.bias, bias)
        norm = _batch_norm(kernel.shape[3])
        _copy_batch_norm(layers[f"{block}_norm"], norm)
        sequence += [conv, norm, nn.LeakyReLU(0.2)]
    kernel, bias = layers["tail_conv"].get_weights()
    tail = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[0], 1, 0)
    _set(tail.weight, _conv_weight(kernel)), _set(tail.bias, bias)
    sequence.append(tail)
    if generator:
        sequence.append(nn.Tanh())
    pad = (kernel.shape[0] // 2) * len(blocks + ["tail"])
    body = nn.Sequential(*sequence)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.pad = body, nn.ZeroPad2d(pad)

        def forward(self, noise, previous):  # noise already amplitude-scaled
            return self.body(self.pad(noise) + self.pad(previous)) + previous

    return Generator() if generator else body


def singan_iteration(size=(26, 30), channels=3, filters=8, seed=0, critic_steps=3, generator_steps=3,
                     sgd_learning_rate=None, penalty_weight=0.1, batched=None):
    """One SinGAN iteration (3 critic + 3 generator steps) of a scale above the coarsest.

    `sgd_learning_rate` replaces Adam by SGD on both sides (with lr 1 the update is the
    gradient itself), `penalty_weight` sets lambda on both sides, `batched` forces kerasgan's
    step path (None: the default, batched for these networks).
    """
    import keras
    import tensorflow as tf

    from kerasgan.models.singan import SinGANScale, singan_optimizer
    from kerasgan.networks.singan_blocks import singan_critic, singan_generator

    torch = _torch()
    keras.utils.set_random_seed(seed)
    generator, critic = singan_generator(channels, filters), singan_critic(channels, filters)
    torch_g, torch_d = _torch_singan(generator, True), _torch_singan(critic, False)
    rng = np.random.default_rng(seed)
    shape = (1, *size, channels)
    amplitude = 0.1 * 0.35  # sigma_n = 0.1 * RMSE, a typical RMSE
    data = {"real": rng.uniform(-1, 1, shape), "noise": amplitude * rng.standard_normal(shape),
            "fixed_noise": np.zeros(shape),  # z*_n = 0 above the coarsest scale
            "previous_reconstruction": rng.uniform(-1, 1, shape),
            "previous": rng.uniform(-1, 1, (critic_steps, *size, channels)),
            "penalty_mix": rng.uniform(0, 1, critic_steps)}
    data = {k: v.astype(np.float32) for k, v in data.items()}

    trainer = SinGANScale(generator, critic, critic_steps=critic_steps, generator_steps=generator_steps,
                          gradient_penalty_weight=penalty_weight)
    if batched is not None:
        trainer._batched = batched
    if sgd_learning_rate:
        trainer.compile(generator_optimizer=keras.optimizers.SGD(sgd_learning_rate),
                        critic_optimizer=keras.optimizers.SGD(sgd_learning_rate))
    else:
        trainer.compile(generator_optimizer=singan_optimizer(), critic_optimizer=singan_optimizer())
    eps = 1e-8  # singan_optimizer's (Keras convention); per step, PyTorch's is eps / sqrt(1 - b2^t)
    history = trainer.fit(tf.data.Dataset.from_tensors(data), epochs=1, steps_per_epoch=1, verbose=0)
    logs = {k: float(v[-1]) for k, v in history.history.items()}

    # ---- the reference iteration (train_single_scale, one epoch at a scale n > 0)
    optimizer_d = _KerasEpsilonAdam(torch_d.parameters(), lr=5e-4, eps=eps, sgd=sgd_learning_rate)
    optimizer_g = _KerasEpsilonAdam(torch_g.parameters(), lr=5e-4, eps=eps, sgd=sgd_learning_rate)
    t = {k: torch.from_numpy(_nchw(v) if v.ndim == 4 else v) for k, v in data.items()}
    real = t["real"]
    torch_g.train(), torch_d.train()
    for step in range(critic_steps):
        optimizer_d.zero_grad()
        error_real = -torch_d(real).mean()
        error_real.backward()
        previous = t["previous"][step:step + 1]                    # fresh draw of the coarser scales
        fake = torch_g(t["noise"], previous)
        error_fake = torch_d(fake.detach()).mean()
        error_fake.backward()
        mix = t["penalty_mix"][step]
        interpolates = (mix * real + (1 - mix) * fake.detach()).requires_grad_(True)
        scores = torch_d(interpolates)
        gradients = torch.autograd.grad(scores, interpolates, torch.ones_like(scores), create_graph=True)[0]
        penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
        (penalty_weight * penalty).backward()
        optimizer_d.step()
        critic_loss = float(error_real + error_fake + penalty_weight * penalty)
    generator_norms = [m for m in torch_g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    error_g = reconstruction_loss = torch.zeros(())
    for step in range(generator_steps):
        optimizer_g.zero_grad()
        for norm in generator_norms:  # the reference's fake comes from the critic step: no new statistics
            norm.momentum = 0.0
        fake = torch_g(t["noise"], t["previous"][critic_steps - 1:critic_steps])
        for norm in generator_norms:
            norm.momentum = 0.1
        error_g = -torch_d(fake).mean()
        error_g.backward(retain_graph=True)
        reconstruction = torch_g(t["fixed_noise"], t["previous_reconstruction"])
        reconstruction_loss = torch.nn.functional.mse_loss(reconstruction, real)
        (10.0 * reconstruction_loss).backward()
        optimizer_g.step()

    from_keras = _torch_singan(trainer.generator, True), _torch_singan(trainer.critic, False)
    # conv biases before BatchNorm: exact gradient 0, excluded (see the module docstring)
    pre_norm_biases = _pre_norm_bias_names(torch_g) | _pre_norm_bias_names(torch_d)
    # the critic's output bias cancels in E[D(fake)] - E[D(real)] and the penalty: gradient 0 too
    last_conv = [name for name, m in torch_d.named_modules() if isinstance(m, torch.nn.Conv2d)][-1]
    pre_norm_biases.add((id(torch_d), f"{last_conv}.bias"))
    critic_bias = (float(dict(torch_d.named_parameters())[f"{last_conv}.bias"]),
                   float(trainer.critic.get_layer("tail_conv").bias.numpy()[0]))
    weight_difference, worst, outliers = 0.0, None, 0
    for ours, theirs in zip((torch_g, torch_d), from_keras):
        for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
            if (id(ours), name) in pre_norm_biases:
                continue
            gaps = (a.detach() - b.detach()).abs()
            difference = float(gaps.max())
            outliers += int((gaps > TOLERANCE).sum())
            if difference > weight_difference:
                weight_difference, worst = difference, name
    with torch.no_grad():
        for net in (torch_g, torch_d) + from_keras:
            net.eval()
        output_difference = max(
            float((torch_g(t["noise"], t["previous"][:1]) - from_keras[0](t["noise"], t["previous"][:1])).abs().max()),
            float((torch_d(real) - critic_bias[0] - from_keras[1](real) + critic_bias[1]).abs().max()))
    statistic_difference = _moving_mean_difference(torch_g, from_keras[0])
    losses = {"critic_loss": (logs["critic_loss"], critic_loss),
              "gradient_penalty": (logs["gradient_penalty"], float(penalty)),
              # -E[D(fake)] without the critic's output bias (see above)
              "generator_loss": (logs["generator_loss"] + critic_bias[1], float(error_g) + critic_bias[0]),
              "reconstruction_loss": (logs["reconstruction_loss"], float(reconstruction_loss))}
    return {"losses": losses, "max_loss_difference": max(abs(a - b) for a, b in losses.values()),
            "max_weight_difference": weight_difference, "worst_weight": worst, "weights_beyond_tolerance": outliers,
            "max_output_difference_eval_mode": output_difference,
            "max_moving_mean_difference": statistic_difference}


def _moving_mean_difference(ours, theirs):
    """Largest |difference| of BatchNorm running means (the variances: see _compare_modules)."""
    torch = _torch()
    difference = 0.0
    for a, b in zip(ours.modules(), theirs.modules()):
        if isinstance(a, torch.nn.BatchNorm2d):
            difference = max(difference, float((a.running_mean - b.running_mean).abs().max()))
    return difference


def _pre_norm_bias_names(network):
    torch = _torch()
    names, previous = set(), None
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d) and previous is not None:
            names.add((id(network), previous))
        previous = f"{name}.bias" if isinstance(module, torch.nn.Conv2d) else None
    return names


class _KerasEpsilonAdam:
    """torch.optim.Adam(betas (0.5, 0.999)) whose epsilon is Keras's convention (added to
    sqrt(v) before the bias correction), i.e. PyTorch eps = eps / sqrt(1 - beta_2^t) at step t."""

    def __init__(self, parameters, lr, eps, sgd=None):
        torch = _torch()
        self.parameters = list(parameters)
        self.step_count, self.eps, self.sgd = 0, eps, sgd
        if sgd:
            self.optimizer = torch.optim.SGD(self.parameters, lr=sgd)
        else:
            self.optimizer = torch.optim.Adam(self.parameters, lr=lr, betas=(0.5, 0.999), eps=eps)

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.step_count += 1
        for group in self.optimizer.param_groups:
            if not self.sgd:
                group["eps"] = self.eps / np.sqrt(1.0 - 0.999 ** self.step_count)
        self.optimizer.step()


def main():
    rows = []
    started = time.time()
    pix2pix = pix2pix_step()
    rows.append(("pix2pix step (U-Net 32 px, 4 filters, batch 2)", pix2pix))
    singan = singan_iteration()
    rows.append(("SinGAN iteration (26x30x3, 8 filters, 3+3 steps)", singan))
    print(f"{'case':52s} {'max |loss diff|':>16s} {'max |weight diff|':>18s}  within {TOLERANCE:g}")
    for name, result in rows:
        ok = result["max_loss_difference"] <= TOLERANCE and result["max_weight_difference"] <= TOLERANCE
        print(f"{name:52s} {result['max_loss_difference']:16.2e} {result['max_weight_difference']:18.2e}  {ok}")
        for term, (ours, theirs) in result["losses"].items():
            print(f"    {term:22s} kerasgan {ours: .7f}   reference {theirs: .7f}")
        for key, value in result.items():
            shown = key.startswith("max_") or key == "forward_difference"
            if shown and key not in ("max_loss_difference", "max_weight_difference"):
                print(f"    {key:40s} {value:.2e}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"tolerance": TOLERANCE, "seconds": time.time() - started,
                                   "cases": {name: result for name, result in rows}}, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
