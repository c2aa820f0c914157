"""Pix2Pix (Isola et al., CVPR 2017): a conditional GAN for paired image-to-image translation.

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G)
    L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))],   L_L1 = E ||y - G(x)||_1,  lambda = 100

One `train_step`: the discriminator is updated on a real pair and a fake pair (its loss
halved, as the reference), then the generator is updated against the *updated* discriminator.
Losses are per example and divided by the global batch, so the step is the same on one
device and under `tf.distribute.MirroredStrategy` / `MultiWorkerMirroredStrategy`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgan import losses
from kerasgan.distribute import loggable

# Generator/discriminator settings that can be set at construction and overridden in compile().
_LOSS_SETTINGS = ("gan_loss", "l1_weight", "reconstruction_loss")


@keras.saving.register_keras_serializable(package="kerasgan")
class FusedAdam(keras.optimizers.Adam):
    """Adam through TensorFlow's fused ResourceApplyAdam kernel: same maths and config.

    One kernel per variable instead of several element-wise ops: ~5% of a pix2pix training
    step on CPU (benchmarks/pix2pix_throughput.py). Under MirroredStrategy the kernel runs on
    each replica's copy inside Keras's `extended.update` (tests/test_fused_adam_distributed.py);
    under other strategies, or with amsgrad, Keras's own update is used.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not _fused_update_applies():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)

        def handle(value):
            return value.value.handle if isinstance(value, keras.Variable) else value.handle

        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable), m=handle(self._momentums[index]), v=handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )


def _fused_update_applies():
    # Inside `extended.update` a MirroredVariable's handle is the current replica's copy, so
    # the raw kernel updates each copy once; other strategies' variables are not checked.
    if not tf.distribute.has_strategy():
        return True
    return type(tf.distribute.get_strategy()) in (tf.distribute.MirroredStrategy, tf.distribute.OneDeviceStrategy)


INFERENCE_PROTOCOLS = ("reference", "deterministic")


def check_inference(inference):
    if inference not in INFERENCE_PROTOCOLS:
        raise ValueError(f"inference must be one of {INFERENCE_PROTOCOLS}, got {inference!r}")
    return inference


def run_generator(generator, inputs, inference="deterministic"):
    """The generator's outputs at test time under one of two protocols.

    "deterministic": inference mode (dropout off, BatchNorm moving statistics), one output
    per input. "reference": as pix2pix's test.py and Isola et al. (section 3.2, dropout is the
    noise z at test time too): dropout on and batch statistics, each example normalised alone
    (test.py runs batch 1) when the batch size is known, else the batch together (e.g. inside
    `predict`'s traced step). The moving statistics are never written (the pass is
    stateless); only the dropout seed moves on, so successive calls draw fresh masks.
    """
    check_inference(inference)
    if inference == "deterministic":
        return generator(inputs, training=False)
    batch = getattr(inputs, "shape", (None,))[0]
    if batch is None or batch <= 1:
        return _stateless_train_mode_pass(generator, inputs)
    return ops.concatenate([_stateless_train_mode_pass(generator, inputs[index:index + 1])
                            for index in range(batch)], axis=0)


def _stateless_train_mode_pass(generator, inputs):
    # Keras runs a BatchNormalization whose `trainable` is False in inference mode even under
    # training=True; a frozen generator (e.g. a zoo model) would then silently use its moving
    # statistics. Unfreeze those layers for this stateless pass only (nothing is written).
    frozen = [layer for layer in generator._flatten_layers(include_self=False)
              if isinstance(layer, keras.layers.BatchNormalization) and not layer.trainable]
    frozen_model = not generator.trainable
    try:
        generator.trainable = True if frozen_model else generator.trainable
        for layer in frozen:
            layer.trainable = True
        outputs, state = generator.stateless_call(
            [v.value for v in generator.trainable_variables],
            [v.value for v in generator.non_trainable_variables], inputs, training=True,
        )
        for variable, value in zip(generator.non_trainable_variables, state):
            if variable.path.endswith("seed_generator_state"):
                variable.assign(value)
    finally:
        for layer in frozen:
            layer.trainable = False
        if frozen_model:
            generator.trainable = False
    return outputs


def default_gan_optimizer(learning_rate=2e-4):
    """Adam(2e-4, beta_1=0.5, beta_2=0.999), the pix2pix/DCGAN setting (fused kernel)."""
    return FusedAdam(learning_rate, beta_1=0.5, beta_2=0.999)


@keras.saving.register_keras_serializable(package="kerasgan")
class Pix2Pix(keras.Model):
    """Conditional GAN wrapping a generator and a discriminator.

    Args:
        generator: a Keras model condition -> image (e.g. `networks.unet_generator`).
        discriminator: a Keras model returning logits (e.g. `networks.patch_discriminator`).
            With `conditional_discriminator=True` it sees concat(condition, image) on the
            channel axis, otherwise the image only.
        gan_loss: "bce" (from logits, the paper) or "lsgan".
        l1_weight: lambda of the reconstruction term (100 in pix2pix).
        reconstruction_loss: "l1" (pix2pix) or "mse" (SynCGAN's 100 * MSE).
        conditional_discriminator: whether D sees the condition.
        inference: test-time protocol of `predict`, `evaluate` and `generate`: "deterministic"
            (inference mode) or "reference" (dropout on, batch statistics, as pix2pix's test.py;
            see `run_generator`).

    Data: `fit` takes batches `(condition, target)`, both scaled to [-1, 1].
    """

    def __init__(
        self,
        generator,
        discriminator,
        gan_loss="bce",
        l1_weight=100.0,
        reconstruction_loss="l1",
        conditional_discriminator=True,
        inference="deterministic",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.inference = check_inference(inference)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise TypeError(
                "Pix2Pix(generator, discriminator) takes two keras.Model instances, got "
                f"{type(generator).__name__} and {type(discriminator).__name__}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.gan_loss = losses.check_gan_loss(gan_loss)
        self.l1_weight = float(l1_weight)
        losses.reconstruction_loss(reconstruction_loss)
        self.reconstruction_loss = reconstruction_loss
        self.conditional_discriminator = bool(conditional_discriminator)
        self._check_shapes()
        self.generator_optimizer = None
        self.discriminator_optimizer = None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_gan_tracker = keras.metrics.Mean(name="g_gan")
        self.g_l1_tracker = keras.metrics.Mean(name="g_l1")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.val_l1_tracker = keras.metrics.Mean(name="l1")
        self.built = True

    def _check_shapes(self):
        condition_channels = self.generator.input_shape[-1]
        image_channels = self.generator.output_shape[-1]
        expected = image_channels + (condition_channels if self.conditional_discriminator else 0)
        seen = self.discriminator.input_shape[-1]
        if seen != expected:
            what = "concat(condition, image)" if self.conditional_discriminator else "the image"
            raise ValueError(
                f"the discriminator must see {what}: {expected} channels, but its input has "
                f"{seen} (generator: {condition_channels} -> {image_channels} channels)"
            )

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        gan_loss=None,
        l1_weight=None,
        reconstruction_loss=None,
        **kwargs,
    ):
        """Set both optimizers (default Adam(2e-4, 0.5)) and optionally override loss weights.

        Extra keyword arguments (`jit_compile`, `steps_per_execution`, `run_eagerly`) go to
        `keras.Model.compile`. Both optimizers are built here, inside the distribution scope,
        from the variables they update: MirroredStrategy fails otherwise.
        """
        for key in ("optimizer", "loss"):
            if kwargs.pop(key, None) is not None:
                raise TypeError(f"{type(self).__name__}.compile takes generator_optimizer and "
                                f"discriminator_optimizer, not {key}=")
        super().compile(optimizer=None, **kwargs)
        if gan_loss is not None:
            self.gan_loss = losses.check_gan_loss(gan_loss)
        if l1_weight is not None:
            self.l1_weight = float(l1_weight)
        if reconstruction_loss is not None:
            losses.reconstruction_loss(reconstruction_loss)
            self.reconstruction_loss = reconstruction_loss
        self.generator_optimizer = self._prepare_optimizer(generator_optimizer)
        self.discriminator_optimizer = self._prepare_optimizer(discriminator_optimizer)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def _prepare_optimizer(self, optimizer):
        if optimizer is None:
            optimizer = default_gan_optimizer()
        elif isinstance(optimizer, (str, dict)):
            optimizer = keras.optimizers.get(optimizer)
        if self.dtype_policy.name == "mixed_float16" and not isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer
        ):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def get_compile_config(self):
        if self.generator_optimizer is None:
            return None
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(
                self.discriminator_optimizer
            ),
            **{key: getattr(self, key) for key in _LOSS_SETTINGS},
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    # ---------------------------------------------------------------- forward
    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def discriminator_input(self, condition, image):
        if self.conditional_discriminator:
            return ops.concatenate([ops.cast(condition, image.dtype), image], axis=-1)
        return image

    @property
    def metrics(self):
        return [
            self.d_loss_tracker, self.g_gan_tracker, self.g_l1_tracker, self.g_loss_tracker,
            self.val_l1_tracker,
        ]

    # ---------------------------------------------------------------- losses
    def discriminator_loss_terms(self, real_logits, fake_logits):
        """Per-example discriminator loss: 0.5 * (loss(real, 1) + loss(fake, 0)), as the reference."""
        real = losses.adversarial_loss(real_logits, 1.0, self.gan_loss)
        fake = losses.adversarial_loss(fake_logits, 0.0, self.gan_loss)
        return 0.5 * (real + fake)

    def generator_loss_terms(self, condition, target, fake, fake_logits):
        """Per-example generator terms; subclasses add to the dict (it must keep `total`)."""
        gan = losses.adversarial_loss(fake_logits, 1.0, self.gan_loss)
        reconstruction = losses.reconstruction_loss(self.reconstruction_loss)(fake, target)
        return {"g_gan": gan, "g_l1": reconstruction, "total": gan + self.l1_weight * reconstruction}

    def _unpack(self, data):
        if isinstance(data, dict):
            return data["condition"], data["target"]
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                f"{type(self).__name__} trains on (condition, target) pairs; got {type(data).__name__}"
            )
        return data[0], data[1]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Both networks are built at construction and both optimizers in compile(), so Keras's
        # symbolic build has nothing to do; under MultiWorkerMirroredStrategy it would also
        # fail, reducing a sample batch across workers before the first step.
        return

    def _require_compiled(self):
        if self.generator_optimizer is None:
            raise RuntimeError(f"call {type(self).__name__}.compile(...) before fit()")

    # ---------------------------------------------------------------- steps
    def train_step(self, data):
        self._require_compiled()
        condition, target = self._unpack(data)
        global_batch = losses.global_batch_size(ops.shape(condition)[0])
        with tf.GradientTape() as generator_tape:
            fake = self.generator(condition, training=True)
            with generator_tape.stop_recording():
                d_loss_mean = self._discriminator_step(condition, target, fake, global_batch)
            fake_logits = self.discriminator(self.discriminator_input(condition, fake), training=True)
            terms = self.generator_loss_terms(condition, target, fake, fake_logits)
            g_loss = losses.average_over_global_batch(terms["total"], global_batch)
            scaled = self.generator_optimizer.scale_loss(g_loss)
        variables = self.generator.trainable_variables
        gradients = generator_tape.gradient(scaled, variables)
        self.generator_optimizer.apply(gradients, variables)
        return self._track(d_loss_mean, terms)

    def _discriminator_step(self, condition, target, fake, global_batch):
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self.discriminator_input(condition, target), training=True)
            fake_logits = self.discriminator(
                self.discriminator_input(condition, ops.stop_gradient(fake)), training=True
            )
            per_example = self.discriminator_loss_terms(real_logits, fake_logits)
            d_loss = losses.average_over_global_batch(per_example, global_batch)
            scaled = self.discriminator_optimizer.scale_loss(d_loss)
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply(tape.gradient(scaled, variables), variables)
        return ops.mean(per_example)

    def _track(self, d_loss_mean, terms):
        # Progress bars show the plain per-replica mean (not the global-batch-scaled share).
        self.d_loss_tracker.update_state(d_loss_mean)
        self.g_loss_tracker.update_state(ops.mean(terms["total"]))
        results = {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}
        for name, per_example in terms.items():
            if name == "total":
                continue
            tracker = self._metric_for_term(name)
            tracker.update_state(ops.mean(per_example))
            results[name] = tracker.result()
        return loggable(results)

    def _metric_for_term(self, name):
        trackers = {"g_gan": self.g_gan_tracker, "g_l1": self.g_l1_tracker}
        trackers.update(getattr(self, "extra_trackers", {}))
        return trackers[name]

    def test_step(self, data):
        condition, target = self._unpack(data)
        fake = run_generator(self.generator, condition, self.inference)
        self.val_l1_tracker.update_state(ops.mean(losses.l1_per_example(fake, target)))
        return loggable({"l1": self.val_l1_tracker.result()})

    def predict_step(self, data):
        if isinstance(data, (tuple, list)):
            data = data[0]
        return run_generator(self.generator, data, self.inference)

    def generate(self, conditions, inference=None, batch_size=32):
        """Generator outputs (numpy) for `conditions` under `inference` (default: the model's)."""
        inference = check_inference(inference or self.inference)
        conditions = np.asarray(conditions, np.float32)
        return np.concatenate([
            np.asarray(run_generator(self.generator, conditions[start:start + batch_size], inference))
            for start in range(0, len(conditions), batch_size)
        ], axis=0)

    # ---------------------------------------------------------------- config
    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "gan_loss": self.gan_loss,
            "l1_weight": self.l1_weight,
            "reconstruction_loss": self.reconstruction_loss,
            "conditional_discriminator": self.conditional_discriminator,
            "inference": self.inference,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
