"""Unconditional mask GAN of SynCGAN (Dey et al., section 3.4): Gaussian seed -> binary mask.

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]                       (eq. 4)
    D_loss = -(log D(x) + log(1 - D(G(z))))                                   (eq. 5)
    G_loss = -log D(G(z))                                                     (eq. 6)

With few training masks the discriminator overpowers the generator, so (discriminator only):
  * label smoothing: real targets ~ U(0.9, 1.0), fake targets ~ U(0.0, 0.1);
  * label flipping "at some random iterations" (section 3.4): with probability
    `flip_probability` (default 0.05; the paper gives no value) a whole iteration's targets are
    swapped, real samples labelled fake and fake ones real (y -> 1 - y). `flip_per="example"`
    draws one coin per example instead.
The generator keeps the hard target 1. The discriminator is a PatchGAN on the mask alone
(`patch_discriminator(conditional=False)`); every patch logit gets its example's target.

Data to `fit`: batches of real masks (B, H, W, C) in [-1, 1] (or `(masks,)` tuples).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgan import losses
from kerasgan.models.pix2pix import default_gan_optimizer

FLIP_UNITS = ("iteration", "example")


@keras.saving.register_keras_serializable(package="kerasgan")
class MaskGAN(keras.Model):
    """GAN noise -> mask with label smoothing and flipping for the discriminator.

    Args:
        generator: keras.Model noise (B, *noise_shape) -> mask (e.g. `networks.mask_generator`).
        discriminator: keras.Model mask -> logits (e.g. `networks.patch_discriminator(
            conditional=False)`).
        label_smoothing: draw the discriminator's targets from the ranges below instead of 1/0.
        real_label_range, fake_label_range: uniform ranges of the smoothed targets.
        flip_probability: chance that the discriminator targets are swapped (y -> 1 - y).
        flip_per: "iteration" (the paper: every target of the step swapped together) or
            "example" (one coin per example).
        seed: seed of the noise z.
    """

    def __init__(
        self,
        generator,
        discriminator,
        label_smoothing=True,
        real_label_range=(0.9, 1.0),
        fake_label_range=(0.0, 0.1),
        flip_probability=0.05,
        flip_per="iteration",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise TypeError(
                "MaskGAN(generator, discriminator) takes two keras.Model instances, got "
                f"{type(generator).__name__} and {type(discriminator).__name__}"
            )
        if generator.output_shape[1:] != discriminator.input_shape[1:]:
            raise ValueError(
                f"the discriminator sees the generated mask: its input {discriminator.input_shape[1:]} "
                f"must equal the generator's output {generator.output_shape[1:]}"
            )
        for name, (low, high) in (("real_label_range", real_label_range),
                                  ("fake_label_range", fake_label_range)):
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"{name} must satisfy 0 <= low <= high <= 1, got {(low, high)}")
        if not 0.0 <= float(flip_probability) <= 1.0:
            raise ValueError(f"flip_probability must be in [0, 1], got {flip_probability}")
        if flip_per not in FLIP_UNITS:
            raise ValueError(f"flip_per must be one of {FLIP_UNITS}, got {flip_per!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.label_smoothing = bool(label_smoothing)
        self.real_label_range = tuple(float(v) for v in real_label_range)
        self.fake_label_range = tuple(float(v) for v in fake_label_range)
        self.flip_probability = float(flip_probability)
        self.flip_per = flip_per
        self.seed = seed
        self.noise_seed_generator = keras.random.SeedGenerator(seed)
        self.generator_optimizer = None
        self.discriminator_optimizer = None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_label_tracker = keras.metrics.Mean(name="real_label")
        self.fake_label_tracker = keras.metrics.Mean(name="fake_label")
        self.flipped_tracker = keras.metrics.Mean(name="flipped")
        # Filled when train_step runs eagerly (compile(run_eagerly=True)): the exact targets used.
        self.last_labels = None
        self.built = True

    @property
    def noise_shape(self):
        return tuple(self.generator.input_shape[1:])

    # ---------------------------------------------------------------- compile
    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Set both optimizers (default Adam(2e-4, beta_1=0.5)); other kwargs go to Model.compile."""
        for key in ("optimizer", "loss"):
            if kwargs.pop(key, None) is not None:
                raise TypeError(f"{type(self).__name__}.compile takes generator_optimizer and "
                                f"discriminator_optimizer, not {key}=")
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = self._prepare_optimizer(generator_optimizer)
        self.discriminator_optimizer = self._prepare_optimizer(discriminator_optimizer)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    @staticmethod
    def _prepare_optimizer(optimizer):
        if optimizer is None:
            return default_gan_optimizer()
        if isinstance(optimizer, (str, dict)):
            return keras.optimizers.get(optimizer)
        return optimizer

    def get_compile_config(self):
        if self.generator_optimizer is None:
            return None
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(self.discriminator_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(**{key: keras.saving.deserialize_keras_object(value) for key, value in config.items()})

    # ---------------------------------------------------------------- forward
    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        """z ~ N(0, I) of shape (batch_size, *noise_shape), from the model's seed generator."""
        return keras.random.normal((batch_size,) + self.noise_shape, seed=self.noise_seed_generator)

    def generate(self, count, seed=None, batch_size=32, threshold=0.0):
        """`count` binary masks (count, H, W, C) uint8 in {0, 1}: G(z) > threshold.

        `seed` makes the draw reproducible (numpy Generator); None draws fresh noise.
        """
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((int(count),) + self.noise_shape).astype("float32")
        outputs = self.generator.predict(noise, batch_size=batch_size, verbose=0)
        return (outputs > threshold).astype(np.uint8)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_label_tracker, self.fake_label_tracker,
                self.flipped_tracker]

    # ---------------------------------------------------------------- labels and losses
    def discriminator_labels(self, logits):
        """Targets (real, fake) for the discriminator, each of the shape of `logits`, and the
        per-example flip indicator (B,) (1.0 where the targets were swapped).

        Smoothed (one value per example, broadcast over its patch logits), then swapped with
        probability `flip_probability`: for the whole step (flip_per="iteration") or per example.
        """
        logits_shape = tf.shape(logits)
        rank = logits.shape.rank
        batch_shape = tf.concat([logits_shape[:1], tf.ones([rank - 1], tf.int32)], 0)
        if self.label_smoothing:
            real = losses.smoothed_labels(batch_shape, True, self.real_label_range, self.fake_label_range)
            fake = losses.smoothed_labels(batch_shape, False, self.real_label_range, self.fake_label_range)
        else:
            real = tf.ones(batch_shape, "float32")
            fake = tf.zeros(batch_shape, "float32")
        coin_shape = batch_shape if self.flip_per == "example" else tf.ones([rank], tf.int32)
        flip = tf.random.uniform(coin_shape) < self.flip_probability
        flip = tf.broadcast_to(flip, batch_shape)
        real, fake = tf.where(flip, 1.0 - real, real), tf.where(flip, 1.0 - fake, fake)
        flipped = tf.reshape(tf.cast(flip, "float32"), logits_shape[:1])
        return tf.broadcast_to(real, logits_shape), tf.broadcast_to(fake, logits_shape), flipped

    def discriminator_loss_terms(self, real_logits, fake_logits, real_labels, fake_labels):
        """Per-example eq. 5: BCE(D(x), real target) + BCE(D(G(z)), fake target)."""
        return (losses.adversarial_loss(real_logits, real_labels, "bce")
                + losses.adversarial_loss(fake_logits, fake_labels, "bce"))

    def generator_loss_terms(self, fake_logits):
        """Per-example eq. 6: BCE(D(G(z)), 1), hard target (no smoothing for the generator)."""
        return losses.adversarial_loss(fake_logits, 1.0, "bce")

    @staticmethod
    def _unpack(data):
        if isinstance(data, (tuple, list)):
            data = data[0]
        if isinstance(data, dict):
            data = data["mask"]
        return data

    # ---------------------------------------------------------------- steps
    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("call MaskGAN.compile(...) before fit()")
        real = ops.cast(self._unpack(data), "float32")
        batch = ops.shape(real)[0]
        global_batch = losses.global_batch_size(batch)

        noise = self.sample_noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(noise, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(ops.stop_gradient(fake), training=True)
            real_labels, fake_labels, flipped = self.discriminator_labels(real_logits)
            d_per_example = self.discriminator_loss_terms(real_logits, fake_logits, real_labels, fake_labels)
            d_loss = losses.average_over_global_batch(d_per_example, global_batch)
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply(tape.gradient(d_loss, variables), variables)

        noise = self.sample_noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(noise, training=True)
            fake_logits = self.discriminator(fake, training=True)
            g_per_example = self.generator_loss_terms(fake_logits)
            g_loss = losses.average_over_global_batch(g_per_example, global_batch)
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply(tape.gradient(g_loss, variables), variables)

        if tf.executing_eagerly():
            self.last_labels = {
                "real": np.asarray(real_labels), "fake": np.asarray(fake_labels),
                "flipped": np.asarray(flipped),
                "generator": np.ones(np.asarray(fake_logits).shape, np.float32),
            }
        self.d_loss_tracker.update_state(ops.mean(d_per_example))
        self.g_loss_tracker.update_state(ops.mean(g_per_example))
        self.real_label_tracker.update_state(ops.mean(real_labels))
        self.fake_label_tracker.update_state(ops.mean(fake_labels))
        self.flipped_tracker.update_state(ops.mean(flipped))
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        """Hard-label losses on held-out masks (no smoothing, no flipping)."""
        real = ops.cast(self._unpack(data), "float32")
        fake = self.generator(self.sample_noise(ops.shape(real)[0]), training=False)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(fake, training=False)
        d_loss = losses.adversarial_loss(real_logits, 1.0) + losses.adversarial_loss(fake_logits, 0.0)
        self.d_loss_tracker.update_state(ops.mean(d_loss))
        self.g_loss_tracker.update_state(ops.mean(self.generator_loss_terms(fake_logits)))
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def predict_step(self, data):
        if isinstance(data, (tuple, list)):
            data = data[0]
        return self.generator(data, training=False)

    # ---------------------------------------------------------------- config
    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "label_smoothing": self.label_smoothing,
            "real_label_range": list(self.real_label_range),
            "fake_label_range": list(self.fake_label_range),
            "flip_probability": self.flip_probability,
            "flip_per": self.flip_per,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
