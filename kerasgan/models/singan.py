"""SinGAN (Rott Shaham, Dekel and Michaeli, ICCV 2019): a generative model of ONE image.

A pyramid of patch GANs, coarsest (scale 0) to finest (scale N). Scale n trains a generator
G_n and a critic D_n on the image x_n downsampled by r^(N-n) (r = 0.75, min side 25 px):

    x~_0 = G_0(z_0),   x~_n = up(x~_{n-1}) + psi_n(z_n + up(x~_{n-1}))
    min_G max_D  L_adv(G_n, D_n) + alpha * L_rec(G_n),                       alpha = 10
    L_adv: WGAN-GP, D loss = E[D(fake)] - E[D(real)] + lambda * (||grad D(x^)|| - 1)^2,  lambda = 0.1
    L_rec = || G_n(z*_n, up(x~rec_{n-1})) - x_n ||^2,  z*_0 fixed random, z*_n = 0 for n > 0
    z_n ~ sigma_n N(0, 1),  sigma_n = 0.1 * RMSE(x_n, up(x~rec_{n-1}))                (sigma_0 = 1)

Per iteration 3 critic steps then 3 generator steps; Adam(5e-4, beta=(0.5, 0.999)), learning
rate x0.1 after 80 % of the iterations; a scale starts from the previous scale's weights when
its width is unchanged (32 filters doubling every 4 scales up to 128).

`SinGANScale` is one scale (a keras.Model with a custom `train_step`, trained with `fit`). Its
step batches an iteration's independent single-image passes, each image normalised by its own
statistics (`networks.singan_blocks.per_sample_forward`): the arithmetic of one batch-1 call
per image with fewer, larger ops. On CPU, small pyramids train faster with one thread per op
(`preferred_intra_op_threads`).
`SinGAN` owns the pyramid: `fit(image)` (resumable, checkpointed per scale), `sample`,
`inject`, `harmonize`, `save` / `load`. Details follow the official code (tamarott/SinGAN):
the coarsest noise is one channel broadcast to all channels, previous scales run in inference
mode (BatchNorm moving statistics), the critic's gradient penalty is taken per position, and
those moving statistics see the same train-mode passes as there: each critic step's random
fake and each generator step's reconstruction input (the generator steps' adversarial pass
runs without updating them, as the reference reuses the critic step's fake).
"""

import functools
import hashlib
import json
import math
import pathlib
import sys
import tempfile
import time
import zipfile

import keras
import numpy as np
import tensorflow as tf

from kerasgan import losses
from kerasgan.networks.singan_blocks import (
    per_sample_forward, scale_filters, singan_critic, singan_generator, supports_per_sample_forward,
)

FORMAT_VERSION = 1
STATE_FILE = "singan.json"
ARRAYS_FILE = "arrays.npz"  # the training image and the fixed reconstruction noise
PENALTY_KINDS = ("per_position", "per_image")


# ------------------------------------------------------------------ resizing
_MATRIX_CACHE = {}


def _bicubic_matrix(in_size, out_size):
    """(out, in) matrix of TF's bicubic resize (Keys a=-0.5, antialiased when shrinking).

    Resizing is linear and separable, so up(x) = M_h x M_w^T: two small matmuls that XLA
    fuses, where tf.image.resize's bicubic kernels do not compile with XLA on CPU.
    """
    key = (int(in_size), int(out_size))
    if key not in _MATRIX_CACHE:
        with tf.init_scope():  # eager even when first needed inside a tf.function
            impulses = np.eye(in_size, dtype=np.float32)[None, :, None, :]  # (1, in, 1, in)
            response = tf.image.resize(impulses, (out_size, 1), method="bicubic", antialias=True)
            _MATRIX_CACHE[key] = np.asarray(response)[0, :, 0, :]  # (out, in)
    return _MATRIX_CACHE[key]


def resize_images(images, size):
    """Bicubic resize of (B, H, W, C) to size=(h, w) (antialiased when shrinking, as imresize)."""
    height, width = int(size[0]), int(size[1])
    in_height, in_width = images.shape[1], images.shape[2]
    if (in_height, in_width) == (height, width):
        return images
    rows = tf.constant(_bicubic_matrix(in_height, height))
    columns = tf.constant(_bicubic_matrix(in_width, width))
    images = tf.einsum("oh,bhwc->bowc", rows, images)
    return tf.einsum("pw,bowc->bopc", columns, images)


# ------------------------------------------------------------------ pyramid
def pyramid_shapes(height, width, max_size=250, min_size=25, scale_factor=0.75):
    """(shapes coarsest -> finest, adjusted scale factor) as the official adjust_scales2image.

    The image is first shrunk so its long side is <= max_size; the factor is then adjusted so
    that the short side of the coarsest scale is exactly min_size.
    """
    short, long = min(height, width), max(height, width)
    if short < min_size:
        raise ValueError(
            f"image is {height}x{width}: its short side must be at least min_size={min_size}"
        )
    num_scales = math.ceil(math.log(min_size / short, scale_factor)) + 1
    scale_to_stop = math.ceil(math.log(min(max_size, long) / long, scale_factor))
    stop_scale = num_scales - scale_to_stop
    shrink = min(max_size / long, 1.0)
    finest = (_scaled(height, shrink), _scaled(width, shrink))
    if stop_scale <= 0 or min(finest) <= min_size:
        return [finest], scale_factor
    factor = (min_size / min(finest)) ** (1.0 / stop_scale)
    shapes = []
    for index in range(stop_scale + 1):
        scale = factor ** (stop_scale - index)
        shapes.append((_scaled(finest[0], scale), _scaled(finest[1], scale)))
    return shapes, factor


def _scaled(size, scale):
    # MATLAB imresize rounds output sizes up; the rounding guards 25.0000001 -> 26.
    return max(1, int(math.ceil(round(size * scale, 6))))


# ------------------------------------------------------------------ threads
# Seconds per iteration with TensorFlow's default threads (all cores per op) and with one thread
# per op, measured by benchmarks/singan.py on a 2-core CPU, keyed by pixels x filters^2:
# 25x33 (32 filters), 59x79 (32), 105x140 (64), 188x250 (128). Small convs gain nothing from
# being split across cores, while independent ops then run side by side; large convs do gain.
MEASURED_ITERATION_SECONDS = (
    # (work, all cores per op, one thread per op)
    (25 * 33 * 32 ** 2, 0.055, 0.037),
    (59 * 79 * 32 ** 2, 0.181, 0.164),
    (105 * 140 * 64 ** 2, 1.394, 1.558),
    (188 * 250 * 128 ** 2, 15.60, 18.37),
)


def preferred_intra_op_threads(height, width, max_size=250, min_size=25, scale_factor=0.75,
                               filters=32, max_filters=128, double_every=4):
    """1 (one thread per op) when that trains this pyramid faster, else None (TensorFlow's default).

    The time of each scale under both settings is interpolated (log-log) from the measured
    table above and summed over the pyramid. Apply the answer with
    `kerasgan.set_intra_op_threads` before TensorFlow runs anything
    (`kerasgan train singan` does).
    """
    shapes, _ = pyramid_shapes(height, width, max_size, min_size, scale_factor)
    log_work, *log_seconds = np.log(np.array(MEASURED_ITERATION_SECONDS).T)
    totals = np.zeros(2)
    for scale, (h, w) in enumerate(shapes):
        work = np.log(h * w * scale_filters(scale, filters, max_filters, double_every) ** 2)
        for column in (0, 1):
            totals[column] += np.exp(_interpolate(work, log_work, log_seconds[column]))
    return 1 if totals[1] < totals[0] else None


def _interpolate(x, xs, ys):
    # piecewise linear, extended beyond the ends along the end segments
    index = int(np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2))
    return ys[index] + (ys[index + 1] - ys[index]) * (x - xs[index]) / (xs[index + 1] - xs[index])


# ------------------------------------------------------------------ losses
def singan_optimizer(iterations=2000, steps_per_iteration=3, learning_rate=5e-4,
                     drop_fraction=0.8, drop_factor=0.1):
    """Adam(5e-4, beta=(0.5, 0.999), eps=1e-8) whose rate drops x0.1 after 80 % of iterations.

    The optimizer counts its own steps (3 per iteration), so the boundary is in steps.
    """
    boundary = steps_per_iteration * int(round(drop_fraction * iterations)) - 1
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [max(boundary, 0)], [learning_rate, learning_rate * drop_factor]
    )
    return keras.optimizers.Adam(schedule, beta_1=0.5, beta_2=0.999, epsilon=1e-8)


# ------------------------------------------------------------------ one scale
@keras.saving.register_keras_serializable(package="kerasgan")
class SinGANScale(keras.Model):
    """One SinGAN scale: a generator and a critic trained on one image with a custom `train_step`.

    Args:
        generator, critic: from `networks.singan_generator` / `networks.singan_critic`.
        reconstruction_weight: alpha (10). gradient_penalty_weight: lambda (0.1).
        critic_steps, generator_steps: updates per iteration (3 and 3).
        gradient_penalty: "per_position" (official code: gradient norm over channels at each
            position, averaged) or "per_image" (`kerasgan.losses.gradient_penalty`).

    Data: `fit` takes one element per iteration (see `SinGANScale.dataset`), a dict of
        real (1, H, W, C)                  this scale's training image in [-1, 1]
        noise (1, H, W, C)                 sigma_n * z_n, shared by the iteration's steps
        previous (critic_steps, H, W, C)   up(x~_{n-1}) drawn afresh for each critic step
        fixed_noise (1, H, W, C)           sigma_n * z*_n (z*_0 fixed random, zeros above)
        previous_reconstruction (1, H, W, C)  up(x~rec_{n-1}) (zeros at the coarsest scale)
    One step = one SinGAN iteration. The image is data, not state, so one compiled step serves
    every scale of the same width: `SinGAN` keeps training the same SinGANScale from scale to
    scale (which is SinGAN's "initialise from the previous scale") and only resets the
    optimizers.
    """

    def __init__(self, generator, critic, reconstruction_weight=10.0, gradient_penalty_weight=0.1,
                 critic_steps=3, generator_steps=3, gradient_penalty="per_position", **kwargs):
        super().__init__(**kwargs)
        if gradient_penalty not in PENALTY_KINDS:
            raise ValueError(f"gradient_penalty must be one of {PENALTY_KINDS}, got {gradient_penalty!r}")
        if not isinstance(generator, keras.Model) or not isinstance(critic, keras.Model):
            raise TypeError("SinGANScale(generator, critic) takes two keras.Model instances, got "
                            f"{type(generator).__name__} and {type(critic).__name__}")
        self.generator = generator
        self.critic = critic
        self.reconstruction_weight = float(reconstruction_weight)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.critic_steps = int(critic_steps)
        self.generator_steps = int(generator_steps)
        self.gradient_penalty = gradient_penalty
        # Networks from the SinGAN builders train through `per_sample_forward` (batched passes);
        # others through their Keras calls, one pass per image.
        self._batched = supports_per_sample_forward(generator) and supports_per_sample_forward(critic)
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")

    def compile(self, generator_optimizer=None, critic_optimizer=None, reconstruction_weight=None,
                gradient_penalty_weight=None, **kwargs):
        """Set the two optimizers (default `singan_optimizer()`) and optionally the loss weights."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer or singan_optimizer()
        self.critic_optimizer = critic_optimizer or singan_optimizer()
        if reconstruction_weight is not None:
            self.reconstruction_weight = float(reconstruction_weight)
        if gradient_penalty_weight is not None:
            self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)

    def reset_optimizers(self):
        """Zero both optimizers' moments and step counters (a new scale starts afresh)."""
        for optimizer in (self.generator_optimizer, self.critic_optimizer):
            for variable in optimizer.variables:
                if not variable.path.endswith("learning_rate"):
                    variable.assign(tf.zeros_like(variable))

    @property
    def metrics(self):
        return [self.critic_loss_tracker, self.generator_loss_tracker,
                self.reconstruction_tracker, self.penalty_tracker]

    def call(self, inputs, training=False):
        """generator([noise, previous]): the scale's image from amplitude-scaled noise."""
        return self.generator(inputs, training=training)

    def _generate_keeping_statistics(self, inputs):
        """Train-mode generator pass (batch statistics, gradients) that leaves the moving averages.

        Sampling and the reconstruction chain use the BatchNorm moving statistics. The official
        code (tamarott/SinGAN, train_single_scale) runs the generator in train mode once per
        critic step (the random fake) and once per generator step (the reconstruction input):
        its generator steps reuse the last critic step's fake. Re-running the fake in each
        generator step gives the gradient at the current weights (newer PyTorch refuses the
        reference's stale one), but a regular call would also fold 3 more random draws per
        iteration into the moving averages, pulling them away from the reconstruction input's
        statistics: at max_size 30 the finest-scale reconstruction RMSE was 0.0585, 0.046 without.
        """
        outputs, _ = self.generator.stateless_call(
            [variable.value for variable in self.generator.trainable_variables],
            [variable.value for variable in self.generator.non_trainable_variables],
            inputs, training=True,
        )
        return outputs

    def _penalty(self, critic, real, fake, alpha=None):
        norm_over = "position" if self.gradient_penalty == "per_position" else "image"
        return losses.gradient_penalty(critic, real, fake, norm_over=norm_over, alpha=alpha)

    def train_step(self, data):
        # Mixing weights of the gradient penalty, one per critic step: random unless the data
        # gives them (tests compare the two step implementations on the same draws).
        if "penalty_mix" in data:
            mixes = tf.reshape(data["penalty_mix"], (self.critic_steps, 1, 1, 1, 1))
        else:
            mixes = tf.random.uniform((self.critic_steps, 1, 1, 1, 1))
        if self._batched:
            critic_loss, penalty, adversarial, reconstruction_loss = self._batched_iteration(data, mixes)
        else:
            critic_loss, penalty, adversarial, reconstruction_loss = self._layer_iteration(data, mixes)
        self.critic_loss_tracker.update_state(critic_loss)
        self.generator_loss_tracker.update_state(adversarial)
        self.reconstruction_tracker.update_state(reconstruction_loss)
        self.penalty_tracker.update_state(penalty)
        return {metric.name: metric.result() for metric in self.metrics}

    def _batched_iteration(self, data, mixes):
        """One SinGAN iteration with the independent single-image passes batched together.

        Same arithmetic as `_layer_iteration` (each sample is normalised by its own statistics,
        as a batch-1 pass; moving averages are updated in the reference's order) in fewer,
        larger kernel calls (0-8 % faster at 25x33, where the time is in the convolutions):
        - the generator is fixed during the critic steps, so the critic steps' fakes (one per
          fresh draw of the coarser scales) are made in one pass before them;
        - each critic step scores the real image and its fake in one pass;
        - each generator step runs the random and the reconstruction input in one pass (only
          the reconstruction input updates the moving averages, as in the reference).
        """
        noise, previous_draws = data["noise"], data["previous"]
        critic = functools.partial(per_sample_forward, self.critic)
        noises = tf.repeat(noise, tf.shape(previous_draws)[0], axis=0)
        fakes = tf.stop_gradient(per_sample_forward(self.generator, [noises, previous_draws]))

        def score_real_and_fake(real, fake):
            scores = critic(tf.concat([real, fake], axis=0))  # real first, as the reference
            return tf.reduce_mean(scores[:1]), tf.reduce_mean(scores[1:])

        # the generator steps use the last critic step's noise and previous, as the reference
        steps = self.critic_steps
        inputs = [tf.concat([noise, data["fixed_noise"]], axis=0),
                  tf.concat([previous_draws[steps - 1:steps], data["previous_reconstruction"]], axis=0)]

        def generate():
            both = per_sample_forward(self.generator, inputs, update_samples=[1])
            return both[:1], both[1:]

        return self._iterate(data["real"], mixes, lambda index: tf.gather(fakes, [index]),
                             score_real_and_fake, critic, generate)

    def _layer_iteration(self, data, mixes):
        """One SinGAN iteration as the reference runs it: one Keras call per single-image pass.

        Used for networks `per_sample_forward` does not support; the reference the batched
        iteration is tested against. Its gradient penalty goes through Keras's BatchNormalization,
        whose batch variance (tf.nn.moments) stops the mean's gradient: exact first derivatives,
        approximate second ones (the batched path's are exact, as the reference's).
        """
        noise, previous_draws = data["noise"], data["previous"]

        def critic(images):
            return self.critic(images, training=True)

        def fake_for(index):
            step_previous = tf.gather(previous_draws, [index])  # a fresh draw of the coarser scales
            return tf.stop_gradient(self.generator([noise, step_previous], training=True))

        def score_real_and_fake(real, fake):
            return tf.reduce_mean(critic(real)), tf.reduce_mean(critic(fake))

        def generate():
            # the generator steps use the last critic step's noise and previous, as the reference
            fake = self._generate_keeping_statistics([noise, previous_draws[-1:]])
            reconstruction = self.generator([data["fixed_noise"], data["previous_reconstruction"]],
                                            training=True)
            return fake, reconstruction

        return self._iterate(data["real"], mixes, fake_for, score_real_and_fake, critic, generate)

    def _iterate(self, real, mixes, fake_for, score_real_and_fake, critic, generate):
        """The critic and generator steps of one iteration, given how the passes run.

        fake_for(index): the critic step's fake; score_real_and_fake(real, fake): mean critic
        scores; critic(images): train-mode scores; generate(): (random fake, reconstruction)
        at the current generator weights. Returns the last steps' losses.
        """
        critic_variables = self.critic.trainable_variables
        generator_variables = self.generator.trainable_variables

        def critic_step(index, critic_loss, penalty):
            fake = fake_for(index)
            with tf.GradientTape() as tape:
                real_score, fake_score = score_real_and_fake(real, fake)
                penalty = tf.reduce_mean(self._penalty(critic, real, fake, alpha=mixes[index]))
                critic_loss = fake_score - real_score + self.gradient_penalty_weight * penalty
            gradients = tape.gradient(critic_loss, critic_variables)
            self.critic_optimizer.apply_gradients(zip(gradients, critic_variables))
            return index + 1, critic_loss, penalty

        def generator_step(index, adversarial, reconstruction_loss):
            with tf.GradientTape() as tape:
                fake, reconstruction = generate()
                adversarial = -tf.reduce_mean(critic(fake))
                reconstruction_loss = tf.reduce_mean(tf.square(reconstruction - real))
                generator_loss = adversarial + self.reconstruction_weight * reconstruction_loss
            gradients = tape.gradient(generator_loss, generator_variables)
            self.generator_optimizer.apply_gradients(zip(gradients, generator_variables))
            return index + 1, adversarial, reconstruction_loss

        # The steps run in graph loops, not unrolled: the traced/compiled step is ~3x smaller.
        zero = tf.constant(0.0)
        _, critic_loss, penalty = tf.while_loop(
            lambda index, *_: index < self.critic_steps, critic_step, (tf.constant(0), zero, zero))
        _, adversarial, reconstruction_loss = tf.while_loop(
            lambda index, *_: index < self.generator_steps, generator_step, (tf.constant(0), zero, zero))
        return critic_loss, penalty, adversarial, reconstruction_loss

    @staticmethod
    def dataset(real, noise_amplitude, fixed_noise, previous_reconstruction, draw_previous,
                critic_steps=3, seed=None, coarsest=False):
        """An endless tf.data.Dataset of `train_step` inputs for one scale.

        `draw_previous(count)` returns `count` random up(x~_{n-1}) (count, H, W, C) or None at the
        coarsest scale; the noise of the coarsest scale has one channel broadcast to all (as the
        reference), finer scales draw every channel.
        """
        real = np.asarray(real, np.float32).reshape((1,) + np.shape(real)[-3:])
        _, height, width, channels = real.shape
        shape = (1, height, width, channels)
        fixed = (noise_amplitude * np.broadcast_to(fixed_noise, shape)).astype(np.float32)
        previous_reconstruction = np.broadcast_to(previous_reconstruction, shape).astype(np.float32)
        rng = np.random.default_rng(seed)
        zeros = np.zeros((critic_steps, height, width, channels), np.float32)

        def elements():
            while True:
                noise = rng.standard_normal((1, height, width, 1 if coarsest else channels))
                noise = np.broadcast_to(noise_amplitude * noise, shape).astype(np.float32)
                previous = zeros if draw_previous is None else np.asarray(draw_previous(critic_steps))
                yield {"real": real, "noise": noise, "previous": previous, "fixed_noise": fixed,
                       "previous_reconstruction": previous_reconstruction}

        # Unknown height/width in the signature: one traced step serves every scale's size.
        spec = tf.TensorSpec((1, None, None, channels), tf.float32)
        signature = {"real": spec, "noise": spec, "fixed_noise": spec, "previous_reconstruction": spec,
                     "previous": tf.TensorSpec((critic_steps, None, None, channels), tf.float32)}
        return tf.data.Dataset.from_generator(elements, output_signature=signature).prefetch(2)

    def get_config(self):
        config = super().get_config()
        config.update({
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "reconstruction_weight": self.reconstruction_weight,
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "critic_steps": self.critic_steps,
            "generator_steps": self.generator_steps,
            "gradient_penalty": self.gradient_penalty,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["critic"] = keras.saving.deserialize_keras_object(config["critic"])
        return cls(**config)


# ------------------------------------------------------------------ input checks
def prepare_image(image, name="image"):
    """Validate one training/composite image and return float32 (H, W, C) in [-1, 1].

    Integer images go through `kerasgan.data.image_io.to_unit_float` (uint8 /255, uint16
    /65535, other integers such as int32/int64 or Python lists of ints by their values: 0..255
    /255, else 0..65535 /65535; negative values are refused), then x * 2 - 1; float images
    must already be in [-1, 1] (see `kerasgan.medisingan.io.normalize` for per-channel scaling).
    """
    if image is None:
        raise TypeError(f"{name} is None; pass a numpy array (H, W) or (H, W, C)")
    array = np.asarray(image)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"{name} must be (H, W) or (H, W, C), got shape {array.shape}")
    if array.shape[-1] == 0:
        raise ValueError(f"{name} has 0 channels (shape {array.shape}); it needs at least one")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if np.issubdtype(array.dtype, np.integer):
        # kerasgan's one value-range rule (uint8 /255, uint16 /65535, other integers by their
        # values): an int32/int64 image or a Python list of ints scaled by its dtype's range
        # would be a constant image.
        from kerasgan.data.image_io import to_unit_float

        array = to_unit_float(array, name).astype(np.float64) * 2.0 - 1.0
    else:
        if not np.all(np.isfinite(array)):
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise ValueError(f"{name} has {bad} NaN/inf pixel values; fill or mask them first")
        low, high = float(array.min()), float(array.max())
        if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
            raise ValueError(
                f"float {name} must be in [-1, 1] (got [{low:.4g}, {high:.4g}]); scale it, e.g. "
                "with kerasgan.medisingan.io.normalize, or pass an integer image"
            )
    return np.clip(array, -1.0, 1.0).astype(np.float32)


def _resize_image(image, size):
    """Antialiased bicubic resize of one (H, W, C) image, clipped to [-1, 1] (official imresize)."""
    if tuple(image.shape[:2]) == tuple(size):
        return image.astype(np.float32)
    resized = tf.image.resize(image[None], size, method="bicubic", antialias=True)[0]
    return np.clip(np.asarray(resized), -1.0, 1.0).astype(np.float32)


def _check_size(size, name="size"):
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size)):
        raise ValueError(f"{name} must be (height, width) of positive ints, got {size!r}")
    return int(size[0]), int(size[1])


# ------------------------------------------------------------------ the pyramid
class SinGAN:
    """SinGAN: a pyramid of `SinGANScale`s learned from one image with any channel count.

        sg = SinGAN(max_size=250, min_size=25, scale_factor=0.75)
        sg.fit(image, iterations_per_scale=2000, checkpoint_dir="run")   # resumable
        samples = sg.sample(count=16, start_scale=1)                      # (16, H, W, C)
        wide = sg.sample(count=4, size=(250, 400))
        blended = sg.harmonize(composite, mask, start_scale=2)
        sg.save("model.keras");  sg = SinGAN.load("model.keras")

    Images are (H, W) or (H, W, C) numpy arrays: integer dtypes are scaled by their range,
    floats must be in [-1, 1]. Outputs are float32 in [-1, 1].

    Args:
        max_size, min_size, scale_factor: pyramid (long side of the finest scale, short side of
            the coarsest, nominal factor between scales; the factor is adjusted as the reference).
        filters, max_filters, double_every: width per scale (32 doubling every 4 scales, <= 128).
        num_blocks, kernel_size: conv blocks per network (5, 3x3).
        noise_amplitude: the 0.1 in sigma_n = 0.1 * RMSE.
        reconstruction_weight, gradient_penalty_weight: alpha = 10, lambda = 0.1.
        learning_rate, drop_fraction, drop_factor: Adam 5e-4, x0.1 after 80 % of iterations.
        critic_steps, generator_steps: 3 and 3 per iteration.
        gradient_penalty: "per_position" (official code) or "per_image".
        jit_compile: compile the training step with XLA. Off by default: XLA compiles once per
            scale size (minutes on a 2-core CPU), which the per-iteration gain at small scales
            does not repay (see benchmarks/singan.py). Without it one traced graph (oneDNN
            kernels) serves every scale of a width.
        seed: makes the fixed noise, initial weights and training noise reproducible.
    """

    def __init__(self, max_size=250, min_size=25, scale_factor=0.75, filters=32, max_filters=128,
                 double_every=4, num_blocks=5, kernel_size=3, noise_amplitude=0.1,
                 reconstruction_weight=10.0, gradient_penalty_weight=0.1, learning_rate=5e-4,
                 drop_fraction=0.8, drop_factor=0.1, critic_steps=3, generator_steps=3,
                 gradient_penalty="per_position", jit_compile=False, seed=None):
        if not (0.0 < scale_factor < 1.0):
            raise ValueError(f"scale_factor must be in (0, 1), got {scale_factor}")
        if min_size < 1 or max_size < min_size:
            raise ValueError(f"need 1 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}")
        # The critic is num_blocks unpadded k x k convolutions: a coarsest scale smaller than
        # its receptive field leaves it no output (an obscure oneDNN error deep in training).
        smallest = int(num_blocks) * (int(kernel_size) - 1) + 1
        if min_size < smallest:
            raise ValueError(f"min_size={min_size} is below {smallest}, the receptive field of the critic's "
                             f"{num_blocks} unpadded {kernel_size}x{kernel_size} convolutions")
        if max_filters < filters:
            raise ValueError(f"max_filters={max_filters} is below filters={filters}")
        if gradient_penalty not in PENALTY_KINDS:
            raise ValueError(f"gradient_penalty must be one of {PENALTY_KINDS}, got {gradient_penalty!r}")
        self.settings = dict(
            max_size=int(max_size), min_size=int(min_size), scale_factor=float(scale_factor),
            filters=int(filters), max_filters=int(max_filters), double_every=int(double_every),
            num_blocks=int(num_blocks), kernel_size=int(kernel_size),
            noise_amplitude=float(noise_amplitude), reconstruction_weight=float(reconstruction_weight),
            gradient_penalty_weight=float(gradient_penalty_weight), learning_rate=float(learning_rate),
            drop_fraction=float(drop_fraction), drop_factor=float(drop_factor),
            critic_steps=int(critic_steps), generator_steps=int(generator_steps),
            gradient_penalty=gradient_penalty,
        )
        self.jit_compile = jit_compile
        self.seed = seed
        self._reset()

    def _reset(self):
        self.image = None            # finest training image (H, W, C) in [-1, 1]
        self.shapes = []             # (h, w) per scale, coarsest first
        self.scale_factor = None     # the adjusted factor
        self.generators = []
        self.noise_amplitudes = []
        self.fixed_noise = None      # (1, h0, w0, 1)
        self.channel_layout = None
        self.history = []            # per scale: final metrics and seconds
        self._critic = None          # last trained critic (initialises the next scale)
        self._reconstructions = []

    def get_config(self):
        return dict(self.settings, jit_compile=self.jit_compile, seed=self.seed)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -- properties
    @property
    def num_scales(self):
        return len(self.generators)

    @property
    def channels(self):
        return None if self.image is None else int(self.image.shape[-1])

    def filters_at(self, scale):
        s = self.settings
        return scale_filters(scale, s["filters"], s["max_filters"], s["double_every"])

    def reals(self):
        """The training pyramid, coarsest first: list of (h, w, C) float32 arrays."""
        return [_resize_image(self.image, shape) for shape in self.shapes]

    def _new_generator(self, scale):
        s = self.settings
        return singan_generator(self.channels, self.filters_at(scale), s["num_blocks"],
                                s["kernel_size"], name=f"generator_{scale}")

    def _new_critic(self, scale):
        s = self.settings
        return singan_critic(self.channels, self.filters_at(scale), s["num_blocks"],
                             s["kernel_size"], name=f"critic_{scale}")

    def _require_trained(self):
        if not self.generators or len(self.generators) != len(self.shapes):
            raise ValueError("this SinGAN is not trained: call fit(image) or SinGAN.load(path) first")

    # -- training
    def fit(self, image, iterations_per_scale=2000, checkpoint_dir=None, channel_layout=None,
            verbose="auto", tensorboard_dir=None):
        """Train every scale on `image` (H, W) or (H, W, C), coarsest first.

        With `checkpoint_dir`, each finished scale is written there atomically and a new call
        with the same image and settings resumes at the first unfinished scale. Returns self.
        `channel_layout` (e.g. {"image": 3, "mask": 1}) is stored so `split_channels` can
        split samples back. `tensorboard_dir`: also log the losses (step = scale * iterations
        + iteration) and, as each scale ends, 4 random samples and the reconstruction at that
        scale (`tensorboard --logdir DIR`; no extra package needed to write).
        """
        iterations = int(iterations_per_scale)
        if iterations < 1:
            raise ValueError(f"iterations_per_scale must be >= 1, got {iterations_per_scale}")
        image = prepare_image(image)
        if channel_layout is not None:
            channel_layout = {str(k): int(v) for k, v in dict(channel_layout).items()}
            if sum(channel_layout.values()) != image.shape[-1]:
                raise ValueError(f"channel_layout {channel_layout} does not add up to the image's "
                                 f"{image.shape[-1]} channels")
        s = self.settings
        shapes, factor = pyramid_shapes(*image.shape[:2], s["max_size"], s["min_size"], s["scale_factor"])
        self._reset()
        self._iterations = iterations
        self.image = _resize_image(image, shapes[-1])
        self.shapes, self.scale_factor = shapes, factor
        self.channel_layout = channel_layout
        rng = np.random.default_rng(self.seed)
        self.fixed_noise = rng.standard_normal((1, *shapes[0], 1)).astype(np.float32)
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)

        completed = 0
        if checkpoint_dir is not None:
            checkpoint_dir = pathlib.Path(checkpoint_dir)
            completed = self._resume(checkpoint_dir, iterations)
            if completed == 0:
                self._write_header(checkpoint_dir, iterations)
        reals = self.reals()
        trainer = None
        writer = None
        if tensorboard_dir is not None:
            from kerasgan.tensorboard_logging import open_writer

            writer = open_writer(tensorboard_dir)
        for scale in range(completed, len(shapes)):
            if verbose:
                print(f"SinGAN scale {scale + 1}/{len(shapes)}: {shapes[scale][0]}x{shapes[scale][1]}, "
                      f"{self.filters_at(scale)} filters, {iterations} iterations", flush=True)
            started = time.time()
            trainer = self._trainer(scale, trainer, iterations)
            metrics = self._train_scale(scale, trainer, reals[scale], iterations, verbose, writer)
            self.history.append(dict(metrics, seconds=time.time() - started))
            if checkpoint_dir is not None:
                self._write_scale(checkpoint_dir, scale, critic=self._critic)
            if writer is not None:
                self._log_scale_images(writer, scale, iterations)
        if writer is not None:
            writer.close()
        return self

    def _log_scale_images(self, writer, scale, iterations):
        """4 random samples through the scales trained so far, then the reconstruction, as one
        TensorBoard image per channel group at step (scale + 1) * iterations."""
        from kerasgan.tensorboard_logging import write_image

        # Own random stream: logging must not move the training's (a run with and without
        # TensorBoard trains the same weights).
        rng = np.random.default_rng(scale)
        image = tf.zeros((4, *self.shapes[0], self.channels))
        for index in range(scale + 1):
            if index > 0:
                image = resize_images(image, self.shapes[index])
            noise = rng.standard_normal((4, *self.shapes[index], 1 if index == 0 else self.channels))
            noise = self.noise_amplitudes[index] * tf.broadcast_to(tf.constant(noise, tf.float32), image.shape)
            image = self.generators[index]([noise, image], training=False)
        panels = np.concatenate([np.asarray(image), self._reconstructions[scale]], axis=0)
        panels = np.round((np.clip(panels, -1, 1) + 1) * 127.5).astype(np.uint8)
        layout = self.channel_layout or {"image": self.channels}
        start = 0
        for name, width in layout.items():
            group = panels[..., start:start + width]
            start += width
            if width not in (1, 3):
                group = group[..., :1]
            row = np.concatenate(list(group), axis=1)  # samples 1-4, then the reconstruction
            write_image(writer, f"samples_{name}", row, (scale + 1) * iterations)
        writer.flush()

    def _previous_reconstruction(self, scale):
        if scale == 0:
            return np.zeros((1, *self.shapes[0], self.channels), np.float32)
        return np.asarray(resize_images(tf.constant(self._reconstructions[scale - 1]), self.shapes[scale]))

    def _trainer(self, scale, trainer, iterations):
        """The SinGANScale for `scale`: the previous one continued when the width is unchanged."""
        s = self.settings
        filters = self.filters_at(scale)
        if trainer is not None and self.filters_at(scale - 1) == filters:
            trainer.reset_optimizers()  # weights carry over: SinGAN's init from the previous scale
            return trainer
        generator, critic = self._new_generator(scale), self._new_critic(scale)
        if scale > 0 and self.filters_at(scale - 1) == filters:  # resumed run: load the init
            generator.set_weights(self.generators[scale - 1].get_weights())
            critic.set_weights(self._critic.get_weights())
        trainer = SinGANScale(
            generator, critic, reconstruction_weight=s["reconstruction_weight"],
            gradient_penalty_weight=s["gradient_penalty_weight"], critic_steps=s["critic_steps"],
            generator_steps=s["generator_steps"], gradient_penalty=s["gradient_penalty"],
            name=f"singan_scale_{filters}",
        )
        optimizer_args = dict(iterations=iterations, learning_rate=s["learning_rate"],
                              drop_fraction=s["drop_fraction"], drop_factor=s["drop_factor"])
        trainer.compile(
            generator_optimizer=singan_optimizer(steps_per_iteration=s["generator_steps"], **optimizer_args),
            critic_optimizer=singan_optimizer(steps_per_iteration=s["critic_steps"], **optimizer_args),
            jit_compile=self.jit_compile, steps_per_execution=_steps_per_execution(iterations),
        )
        return trainer

    def _previous_sampler(self, scale):
        """A compiled function count -> `count` random up(x~_{scale-1}) through the trained scales."""
        if scale == 0:
            return None
        shapes, channels = self.shapes, self.channels
        generators, amplitudes = list(self.generators[:scale]), list(self.noise_amplitudes[:scale])

        @tf.function(autograph=False)  # plain Python loop over the scales: nothing to convert
        def draw(count):
            image = tf.zeros((count, *shapes[0], channels))
            for index, (generator, amplitude) in enumerate(zip(generators, amplitudes)):
                if index > 0:
                    image = resize_images(image, shapes[index])
                noise = tf.random.normal((count, *shapes[index], 1 if index == 0 else channels))
                noise = amplitude * tf.broadcast_to(noise, (count, *shapes[index], channels))
                image = generator([noise, image], training=False)
            return resize_images(image, shapes[scale])

        return draw

    def _train_scale(self, scale, trainer, real, iterations, verbose, writer=None):
        s = self.settings
        previous_reconstruction = self._previous_reconstruction(scale)
        if scale == 0:
            amplitude, fixed = 1.0, self.fixed_noise
        else:
            rmse = float(np.sqrt(np.mean((real[None] - previous_reconstruction) ** 2)))
            amplitude, fixed = s["noise_amplitude"] * rmse, np.zeros((1, 1, 1, 1), np.float32)
        dataset = SinGANScale.dataset(
            real, amplitude, fixed, previous_reconstruction, self._previous_sampler(scale),
            critic_steps=s["critic_steps"], coarsest=scale == 0,
            seed=None if self.seed is None else self.seed * 1000 + scale,
        )
        callbacks, fit_verbose = [], verbose
        if verbose and not sys.stdout.isatty():  # log files: a line every 10 %, not a progress bar
            callbacks, fit_verbose = [_LogProgress(scale, iterations)], 0
        if writer is not None:
            from kerasgan.tensorboard_logging import ScaleToTensorBoard

            callbacks = callbacks + [ScaleToTensorBoard(writer, scale, iterations)]
        history = trainer.fit(dataset, epochs=1, steps_per_epoch=iterations, shuffle=False,
                              verbose=fit_verbose, callbacks=callbacks)
        # Freeze a copy for the pyramid; the trainer may go on to the next scale.
        generator = self._new_generator(scale)
        generator.set_weights(trainer.generator.get_weights())
        generator.trainable = False
        self.generators.append(generator)
        self.noise_amplitudes.append(amplitude)
        self._critic = trainer.critic
        self._reconstructions.append(self._reconstruct_scale(scale))
        return {name: float(values[-1]) for name, values in history.history.items()}

    # -- checkpoints
    def _fingerprint(self, iterations):
        digest = hashlib.sha256(np.ascontiguousarray(self.image).tobytes()).hexdigest()
        return {"image_sha256": digest, "settings": self.settings, "iterations_per_scale": iterations,
                "seed": self.seed}

    def _state(self, iterations=None):
        return {
            "format": FORMAT_VERSION, "kind": "kerasgan.SinGAN",
            "config": self.get_config(),
            "shapes": [list(shape) for shape in self.shapes],
            "scale_factor": self.scale_factor,
            "channels": self.channels,
            "channel_layout": self.channel_layout,
            "completed_scales": len(self.generators),
            "scales": [{"filters": self.filters_at(i), "noise_amplitude": a,
                        **(self.history[i] if i < len(self.history) else {})}
                       for i, a in enumerate(self.noise_amplitudes)],
            "fingerprint": self._fingerprint(iterations) if iterations is not None else None,
        }

    def _write_json(self, folder, state):
        from kerasgan.data.image_io import atomic_write_bytes
        atomic_write_bytes(folder / STATE_FILE, json.dumps(state, indent=1).encode())

    def _write_arrays(self, folder):
        import io

        from kerasgan.data.image_io import atomic_write_bytes
        buffer = io.BytesIO()
        np.savez_compressed(buffer, image=self.image, fixed_noise=self.fixed_noise)
        atomic_write_bytes(folder / ARRAYS_FILE, buffer.getvalue())

    @staticmethod
    def _read_arrays(folder):
        path = folder / ARRAYS_FILE
        if path.exists():
            with np.load(path) as arrays:
                return arrays["image"].astype(np.float32), arrays["fixed_noise"].astype(np.float32)
        if (folder / "image.npy").exists():  # runs written before arrays.npz
            return (np.load(folder / "image.npy").astype(np.float32),
                    np.load(folder / "fixed_noise.npy").astype(np.float32))
        raise FileNotFoundError(f"'{folder}' has no {ARRAYS_FILE} (training image and fixed noise)")

    def _write_header(self, folder, iterations):
        folder.mkdir(parents=True, exist_ok=True)
        self._iterations = iterations
        self._write_arrays(folder)
        self._write_json(folder, self._state(iterations))

    def _write_scale(self, folder, scale, critic=None, dtype="float32"):
        from kerasgan.serialization import save_weights_npz
        save_weights_npz(self.generators[scale], folder / f"scale_{scale:02d}.generator.npz", dtype=dtype)
        if critic is not None:
            save_weights_npz(critic, folder / f"scale_{scale:02d}.critic.npz", dtype=dtype)
        # singan.json is written last: it is the commit point of this scale.
        self._write_json(folder, self._state(getattr(self, "_iterations", None)))

    def _resume(self, folder, iterations):
        """Load the finished scales of a previous run in `folder`; returns how many there are."""
        from kerasgan.serialization import remove_partial_writes

        remove_partial_writes(folder)  # a kill during a write leaves its temporary file
        state_path = folder / STATE_FILE
        if not state_path.exists():
            return 0
        state = json.loads(state_path.read_text())
        if state.get("fingerprint") != json.loads(json.dumps(self._fingerprint(iterations))):
            raise ValueError(
                f"checkpoint_dir '{folder}' holds a run with a different image or settings; use an "
                "empty directory, or the same image and settings to resume"
            )
        self._iterations = iterations
        self.fixed_noise = self._read_arrays(folder)[1]
        completed = int(state["completed_scales"])
        self._load_scales(folder, state, completed, load_last_critic=True)
        self.history = [{k: v for k, v in scale.items() if k not in ("filters", "noise_amplitude")}
                        for scale in state["scales"][:completed]]
        if completed:
            print(f"SinGAN: resuming from '{folder}' at scale {completed + 1}/{len(self.shapes)}", flush=True)
        return completed

    def _load_scales(self, folder, state, count, load_last_critic=False):
        from kerasgan.serialization import load_weights_npz
        self.generators, self.noise_amplitudes, self._reconstructions = [], [], []
        for scale in range(count):
            generator = self._new_generator(scale)
            load_weights_npz(generator, folder / f"scale_{scale:02d}.generator.npz")
            generator.trainable = False
            self.generators.append(generator)
            self.noise_amplitudes.append(float(state["scales"][scale]["noise_amplitude"]))
            self._reconstructions.append(self._reconstruct_scale(scale))
        if load_last_critic and count:
            critic = self._new_critic(count - 1)
            load_weights_npz(critic, folder / f"scale_{count - 1:02d}.critic.npz")
            self._critic = critic

    def _reconstruct_scale(self, scale):
        previous = self._previous_reconstruction(scale)
        fixed = self.fixed_noise if scale == 0 else np.zeros_like(previous)
        noise = self.noise_amplitudes[scale] * np.broadcast_to(fixed, previous.shape)
        return np.asarray(self.generators[scale]([tf.constant(noise), tf.constant(previous)], training=False))

    def save(self, path, dtype="float32", include_critic=False):
        """Save to a folder or a single `.keras` zip file (same content), atomically.

        dtype="float16" halves the weight files (the zoo entry); `include_critic` keeps the last
        critic so the folder can also serve as a checkpoint to continue from.
        """
        self._require_trained()
        path = pathlib.Path(path)
        if path.suffix == ".keras":
            with tempfile.TemporaryDirectory() as folder:
                self._save_folder(pathlib.Path(folder), dtype, include_critic)
                from kerasgan.serialization import atomic_path
                with atomic_path(path) as temporary:
                    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                        for file in sorted(pathlib.Path(folder).iterdir()):
                            archive.write(file, file.name)
            return path
        self._save_folder(path, dtype, include_critic)
        return path

    def _save_folder(self, folder, dtype, include_critic):
        folder.mkdir(parents=True, exist_ok=True)
        self._write_arrays(folder)
        from kerasgan.serialization import save_weights_npz
        for scale, generator in enumerate(self.generators):
            save_weights_npz(generator, folder / f"scale_{scale:02d}.generator.npz", dtype=dtype)
        if include_critic and self._critic is not None:
            save_weights_npz(self._critic, folder / f"scale_{self.num_scales - 1:02d}.critic.npz", dtype=dtype)
        self._write_json(folder, self._state(getattr(self, "_iterations", None)))

    @classmethod
    def load(cls, path, jit_compile=None):
        """Load a SinGAN saved with `save` (folder or .keras) or a finished checkpoint_dir."""
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"SinGAN path '{path}' does not exist")
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise ValueError(f"'{path}' is not a SinGAN .keras archive (not a zip file)")
            with tempfile.TemporaryDirectory() as folder:
                with zipfile.ZipFile(path) as archive:
                    archive.extractall(folder)
                return cls._load_folder(pathlib.Path(folder), jit_compile, source=path)
        return cls._load_folder(path, jit_compile, source=path)

    @classmethod
    def _load_folder(cls, folder, jit_compile, source):
        state_path = folder / STATE_FILE
        if not state_path.exists():
            raise FileNotFoundError(f"'{source}' has no {STATE_FILE}: not a saved SinGAN")
        state = json.loads(state_path.read_text())
        if state.get("kind") != "kerasgan.SinGAN":
            raise ValueError(f"'{source}' is not a saved kerasgan SinGAN")
        config = dict(state["config"])
        if jit_compile is not None:
            config["jit_compile"] = jit_compile
        model = cls.from_config(config)
        model.image, model.fixed_noise = cls._read_arrays(folder)
        model.shapes = [tuple(shape) for shape in state["shapes"]]
        model.scale_factor = state["scale_factor"]
        model.channel_layout = state.get("channel_layout")
        completed = int(state["completed_scales"])
        if completed != len(model.shapes):
            raise ValueError(
                f"'{source}' holds a run trained for {completed} of {len(model.shapes)} scales; "
                "finish it with fit(image, checkpoint_dir=...) (it resumes) before loading"
            )
        model._load_scales(folder, state, completed)
        if state.get("fingerprint"):
            model._iterations = state["fingerprint"].get("iterations_per_scale")
        model.history = [{k: v for k, v in scale.items() if k not in ("filters", "noise_amplitude")}
                         for scale in state["scales"]]
        return model

    # -- generation
    def _check_scale(self, start_scale, minimum=0, name="start_scale"):
        self._require_trained()
        if not isinstance(start_scale, (int, np.integer)) or not minimum <= start_scale < self.num_scales:
            raise ValueError(
                f"{name} must be an int in [{minimum}, {self.num_scales - 1}] for this "
                f"{self.num_scales}-scale model, got {start_scale!r}"
            )
        return int(start_scale)

    def scaled_shapes(self, size=None):
        """Per-scale (h, w) for a finest output of `size` (default: the training size)."""
        self._require_trained()
        if size is None:
            return list(self.shapes)
        height, width = _check_size(size)
        final_h, final_w = self.shapes[-1]
        return [(max(1, round(h * height / final_h)), max(1, round(w * width / final_w)))
                for h, w in self.shapes[:-1]] + [(height, width)]

    def _noise(self, rng, count, shape, scale):
        channels = 1 if scale == 0 else self.channels
        noise = rng.standard_normal((count, *shape, channels)).astype(np.float32)
        return np.broadcast_to(noise, (count, *shape, self.channels))

    def _run(self, start_scale, start_image, shapes, count, rng):
        image = start_image
        for scale in range(start_scale, self.num_scales):
            previous = (np.zeros((count, *shapes[0], self.channels), np.float32) if image is None
                        else resize_images(tf.constant(image), shapes[scale]))
            noise = self.noise_amplitudes[scale] * self._noise(rng, count, shapes[scale], scale)
            image = np.asarray(self.generators[scale](
                [tf.constant(noise), tf.constant(previous)], training=False))
        return np.clip(image, -1.0, 1.0)

    def sample(self, count=1, start_scale=0, size=None, seed=None, batch_size=16):
        """Random samples (count, H, W, C) in [-1, 1].

        Scales below `start_scale` follow the reconstruction of the training image (so its
        global layout is kept; the paper uses 1 for MRI, 0 for histology); scales from it on
        draw fresh noise. `size=(h, w)` gives any output size/aspect ratio.
        """
        start_scale = self._check_scale(start_scale)
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"count must be a positive int, got {count!r}")
        shapes = self.scaled_shapes(size)
        rng = np.random.default_rng(seed)
        outputs = []
        for begin in range(0, count, batch_size):
            batch = min(batch_size, count - begin)
            start_image = None
            if start_scale > 0:
                anchor = resize_images(tf.constant(self._reconstructions[start_scale - 1]),
                                       shapes[start_scale - 1])
                start_image = np.repeat(np.asarray(anchor), batch, axis=0)
            outputs.append(self._run(start_scale, start_image, shapes, batch, rng))
        return np.concatenate(outputs, axis=0)

    def reconstruct(self):
        """The finest-scale output from the fixed reconstruction noise, (H, W, C) in [-1, 1]."""
        self._require_trained()
        return np.clip(self._reconstructions[-1][0], -1.0, 1.0)

    def reconstruction_rmse(self):
        """RMSE (in [-1, 1] units) between `reconstruct()` and the training image."""
        return float(np.sqrt(np.mean((self.reconstruct() - self.image) ** 2)))

    def inject(self, image, start_scale, count=1, seed=None):
        """Feed `image` (any size) in at `start_scale` >= 1 and let the finer scales redraw it.

        As SinGAN's paint-to-image/harmonization: the image is downsampled to scale
        start_scale - 1, upsampled and passed through generators start_scale..N with noise.
        Returns (count, H, W, C) at the image's own size.
        """
        start_scale = self._check_scale(start_scale, minimum=1)
        image = prepare_image(image, "injected image")
        self._check_channels(image, "injected image")
        shapes = self.scaled_shapes(image.shape[:2])
        start = _resize_image(image, shapes[start_scale - 1])
        start = np.repeat(start[None], count, axis=0)
        return self._run(start_scale, start, shapes, count, np.random.default_rng(seed))

    def _check_channels(self, image, name):
        if image.shape[-1] != self.channels:
            raise ValueError(f"{name} has {image.shape[-1]} channels; this SinGAN was trained on "
                             f"{self.channels}")

    def harmonize(self, composite, mask, start_scale, count=1, seed=None, dilation_radius=7,
                  blur_sigma=5.0):
        """Blend a naively pasted object into the image style (SinGAN harmonization).

        `mask` (H, W) marks the pasted region (nonzero = pasted); as the reference it is dilated
        by a disk of `dilation_radius` px and blurred (Gaussian, `blur_sigma`), then
        out = (1 - mask) * composite + mask * inject(composite, start_scale).
        """
        composite = prepare_image(composite, "composite")
        self._check_channels(composite, "composite")
        soft_mask = dilate_mask(mask, composite.shape[:2], dilation_radius, blur_sigma)
        injected = self.inject(composite, start_scale, count=count, seed=seed)
        return (1.0 - soft_mask) * composite[None] + soft_mask * injected

    def split_channels(self, images):
        """Split (..., C) outputs back into {name: array} with the `channel_layout` given to fit."""
        layout = self.channel_layout or {"image": self.channels}
        from kerasgan.transforms import split_channels
        return split_channels(images, layout)


def dilate_mask(mask, size, radius=7, sigma=5.0):
    """Binary-dilate (disk `radius`), Gaussian-blur (`sigma`) and rescale a mask to [0, 1].

    Returns (H, W, 1) float32. Raises ValueError for a wrong size or an empty mask.
    """
    from scipy import ndimage
    from skimage import filters, morphology

    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W) or (H, W, 1), got shape {mask.shape}")
    if tuple(mask.shape) != tuple(size):
        raise ValueError(f"mask is {mask.shape[0]}x{mask.shape[1]} but the composite is "
                         f"{size[0]}x{size[1]}; they must match")
    if np.issubdtype(mask.dtype, np.floating) and not np.all(np.isfinite(mask)):
        raise ValueError("mask has NaN/inf values")
    binary = mask > (0.5 * mask.max() if mask.max() > 0 else 0)
    if not binary.any():
        raise ValueError("mask is empty: mark the pasted region with nonzero values")
    binary = ndimage.binary_dilation(binary, structure=morphology.disk(radius)) if radius > 0 else binary
    soft = filters.gaussian(binary.astype(np.float32), sigma=sigma) if sigma > 0 else binary.astype(np.float32)
    low, high = soft.min(), soft.max()
    soft = (soft - low) / (high - low) if high > low else np.ones_like(soft)
    return soft[..., None].astype(np.float32)


class _LogProgress(keras.callbacks.Callback):
    """Progress lines for non-interactive output (Keras' bar only prints at the end there)."""

    def __init__(self, scale, iterations):
        super().__init__()
        self.scale, self.iterations = scale, iterations
        self.every = max(1, iterations // 10)
        self.started = time.time()
        self.next_report = self.every

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        if done >= self.next_report or done == self.iterations:
            self.next_report = done + self.every
            values = " ".join(f"{k}={float(v):.4f}" for k, v in (logs or {}).items())
            rate = (time.time() - self.started) / done
            print(f"  scale {self.scale + 1}: {done}/{self.iterations} iterations, {rate:.3f} s/iteration, "
                  f"{values}", flush=True)


def _steps_per_execution(iterations):
    # Several iterations per compiled call remove Python overhead at small scales; the
    # progress bar then moves in chunks of this many iterations.
    for steps in (10, 8, 5, 4, 2):
        if iterations % steps == 0:
            return steps
    return 1
