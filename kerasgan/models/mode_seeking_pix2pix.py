"""Mode-seeking pix2pix (Allender et al., "GAN based data augmentation for histopathological
image segmentation"): pix2pix conditioned on concat(mask, structure map), with an
unconditional discriminator and the mode-seeking term of MSGAN (Mao et al., CVPR 2019).

    L_cGAN(G, D) = E_y[log D(y)] + E_x[log(1 - D(G(x)))]                      (eq. 2, D sees y only)
    L_L1(G)      = E ||y - G(x)||_1                                           (eq. 3)
    L_ms(G)      = E_{x1 != x2} ||x1 - x2||_1 / (||G(x1) - G(x2)||_1 + eps)    (eq. 4)
    G* = arg min_G max_D L_cGAN + lambda L_L1 + mu L_ms,  lambda = mu = 10     (eq. 5)

L_ms takes both L1 norms over channels per pixel (so mu means the same for any condition
channel count, as eq. 4) and eps = 1e-5 (MSGAN) over the pairs (i, i+1 mod B) of a
batch, so a batch needs at least 2 examples (the paper's batch of 1 cannot form a pair).
Adam(2e-4, beta_1=0.5, beta_2=0.999) for both networks.
"""

import keras
import tensorflow as tf
from keras import ops

from kerasgan import losses
from kerasgan.models.pix2pix import Pix2Pix

DISCRIMINATORS = ("patch", "global")
GENERATORS = ("unet", "appendix")

_BATCH_MESSAGE_MARK = "every training batch needs >= 2 examples"
BATCH_OF_ONE_MESSAGE = (
    "ModeSeekingPix2Pix: the mode-seeking loss L_ms compares the outputs of two different "
    "conditions, so " + _BATCH_MESSAGE_MARK + "; got a batch of {batch}. Use batch_size >= 2, "
    "drop a last batch of 1 (dataset.batch(n, drop_remainder=True)), or mode_seeking_weight=0."
)


def _build_generator(image_size, condition_channels, image_channels, filters, norm, kind="unet"):
    if kind == "appendix":
        from kerasgan.networks.appendix_generator import appendix_generator

        return appendix_generator(
            (image_size, image_size, condition_channels), output_channels=image_channels,
            filters=filters, norm=norm,
        )
    from kerasgan.networks.unet import unet_generator

    return unet_generator(
        (image_size, image_size, condition_channels), output_channels=image_channels,
        filters=filters, norm=norm,
    )


def _build_discriminator(kind, image_size, channels, filters, norm, conditional):
    if kind == "patch":
        from kerasgan.networks.patchgan import patch_discriminator

        return patch_discriminator(
            (image_size, image_size, channels), filters=filters, norm=norm, conditional=conditional
        )
    from kerasgan.networks.global_discriminator import global_discriminator

    return global_discriminator(
        (image_size, image_size, channels), filters=filters, norm=norm, conditional=conditional
    )


@keras.saving.register_keras_serializable(package="kerasgan")
class ModeSeekingPix2Pix(Pix2Pix):
    """Pix2pix with structure-map conditions, an unconditional D and the mode-seeking loss.

    Either pass built networks, or let the model build them: the pix2pix U-Net
    (`generator="unet"`, 4x4 kernels) or the appendix's table 1 generator (`generator=
    "appendix"`, 5x5 kernels with bias and batch norm), and the appendix's whole-image
    discriminator (`discriminator="global"`, the default) or a PatchGAN ("patch").

    Args:
        generator: a keras.Model condition -> image in [-1, 1], or "unet" (None) / "appendix"
            to build one.
        discriminator: a keras.Model returning logits, or "global" (appendix table 2) / "patch".
        image_size: side of the square images when building networks (a multiple of 2**depth
            of the U-Net; any power of two works).
        condition_channels: 2 for concat(mask, structure map), 1 for the mask only.
        image_channels: 3 for RGB histology.
        filters: filters of the first layer of both built networks (64 in the paper).
        norm: normalisation of the built networks ("batch", the paper; "instance"; "none").
        l1_weight: lambda (eq. 5), 10.
        mode_seeking_weight: mu (eq. 5), 10; 0 turns L_ms off (then a batch of 1 is allowed).
        mode_seeking_epsilon: eps in the L_ms denominator, 1e-5.
        conditional_discriminator: False (paper, eq. 2: D sees y only) or True (D sees (x, y)).
        gan_loss, reconstruction_loss: as `Pix2Pix` ("bce", "l1" in the paper).

    Data: `fit` takes batches `(condition, target)` in [-1, 1] with batch size >= 2.
    """

    def __init__(
        self,
        generator=None,
        discriminator="global",
        image_size=256,
        condition_channels=2,
        image_channels=3,
        filters=64,
        norm="batch",
        l1_weight=10.0,
        mode_seeking_weight=10.0,
        mode_seeking_epsilon=losses.MODE_SEEKING_EPSILON,
        conditional_discriminator=False,
        gan_loss="bce",
        reconstruction_loss="l1",
        **kwargs,
    ):
        if generator is None or isinstance(generator, str):
            kind = generator or "unet"
            if kind not in GENERATORS:
                raise ValueError(f"generator must be a keras.Model or one of {GENERATORS}, got {generator!r}")
            for name, value in (("image_size", image_size), ("condition_channels", condition_channels),
                                ("image_channels", image_channels), ("filters", filters)):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name} must be a positive int, got {value!r}")
            generator = _build_generator(image_size, condition_channels, image_channels, filters, norm, kind)
        elif isinstance(generator, keras.Model):
            # A given generator defines the sizes (so a config always describes the networks).
            image_size = generator.input_shape[1]
            condition_channels = generator.input_shape[-1]
            image_channels = generator.output_shape[-1]
        if isinstance(discriminator, str):
            if discriminator not in DISCRIMINATORS:
                raise ValueError(
                    f"discriminator must be a keras.Model or one of {DISCRIMINATORS}, got "
                    f"{discriminator!r}"
                )
            if image_size is None:
                raise ValueError("the generator has no fixed image size; pass a built discriminator")
            channels = image_channels + (condition_channels if conditional_discriminator else 0)
            discriminator = _build_discriminator(
                discriminator, image_size, channels, filters, norm, bool(conditional_discriminator)
            )
        super().__init__(
            generator, discriminator, gan_loss=gan_loss, l1_weight=l1_weight,
            reconstruction_loss=reconstruction_loss,
            conditional_discriminator=conditional_discriminator, **kwargs,
        )
        self.image_size = image_size
        self.condition_channels = condition_channels
        self.image_channels = image_channels
        self.filters = filters
        self.norm = norm
        self.mode_seeking_weight = self._check_weight(mode_seeking_weight)
        self.mode_seeking_epsilon = float(mode_seeking_epsilon)
        if not self.mode_seeking_epsilon > 0:
            raise ValueError(f"mode_seeking_epsilon must be positive, got {mode_seeking_epsilon}")
        self.extra_trackers = {"g_ms": keras.metrics.Mean(name="g_ms")}

    @staticmethod
    def _check_weight(weight):
        weight = float(weight)
        if weight < 0:
            raise ValueError(f"mode_seeking_weight must be >= 0, got {weight}")
        return weight

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, gan_loss=None,
                l1_weight=None, reconstruction_loss=None, mode_seeking_weight=None, **kwargs):
        """As `Pix2Pix.compile` (Adam(2e-4, 0.5, 0.999) by default), plus mu = `mode_seeking_weight`."""
        if mode_seeking_weight is not None:
            self.mode_seeking_weight = self._check_weight(mode_seeking_weight)
        super().compile(
            generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer,
            gan_loss=gan_loss, l1_weight=l1_weight, reconstruction_loss=reconstruction_loss, **kwargs,
        )

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            config["mode_seeking_weight"] = self.mode_seeking_weight
        return config

    @property
    def metrics(self):
        return super().metrics + [self.extra_trackers["g_ms"]]

    def _check_batch(self, condition):
        """Batch of 1 -> ValueError: statically when the shape is known, else in the graph
        (whose InvalidArgumentError `fit` turns back into this ValueError)."""
        if self.mode_seeking_weight <= 0:
            return
        batch = condition.shape[0]
        if batch is not None:
            if batch < 2:
                raise ValueError(BATCH_OF_ONE_MESSAGE.format(batch=batch))
            return
        tf.debugging.assert_greater_equal(
            tf.shape(condition)[0], 2, message=BATCH_OF_ONE_MESSAGE.format(batch=1)
        )

    def train_step(self, data):
        condition, _ = self._unpack(data)
        self._check_batch(condition)
        return super().train_step(data)

    def _reraise_batch_error(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            if _BATCH_MESSAGE_MARK in str(error):
                raise ValueError(BATCH_OF_ONE_MESSAGE.format(batch=1)) from None
            raise

    def fit(self, *args, **kwargs):
        return self._reraise_batch_error(super().fit, *args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        return self._reraise_batch_error(super().train_on_batch, *args, **kwargs)

    def generator_loss_terms(self, condition, target, fake, fake_logits):
        """Per-example lambda L1 + GAN terms of pix2pix, plus mu * L_ms (eq. 4) when mu > 0."""
        terms = super().generator_loss_terms(condition, target, fake, fake_logits)
        if self.mode_seeking_weight > 0:
            mode_seeking = losses.mode_seeking_per_pair(
                ops.cast(condition, "float32"), ops.cast(fake, "float32"),
                epsilon=self.mode_seeking_epsilon,
            )
            terms["g_ms"] = mode_seeking
            terms["total"] = terms["total"] + self.mode_seeking_weight * mode_seeking
        return terms

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            condition_channels=self.condition_channels,
            image_channels=self.image_channels,
            filters=self.filters,
            norm=self.norm,
            mode_seeking_weight=self.mode_seeking_weight,
            mode_seeking_epsilon=self.mode_seeking_epsilon,
        )
        return config
