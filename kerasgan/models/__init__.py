"""Trainable GANs: subclassed `keras.Model`s with a custom `train_step`.

Each model lives in its own module and is imported on first use.
"""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    "Pix2Pix": "pix2pix",
    "default_gan_optimizer": "pix2pix",
    "FusedAdam": "pix2pix",
    "ModeSeekingPix2Pix": "mode_seeking_pix2pix",
    "MaskGAN": "mask_gan",
    "SinGAN": "singan",
    "SinGANScale": "singan",
    "singan_optimizer": "singan",
    "pyramid_shapes": "singan",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
