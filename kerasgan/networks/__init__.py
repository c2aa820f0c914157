"""Network builders (functional Keras models). Trainable GANs live in `kerasgan.models`."""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    "unet_generator": "unet",
    "default_depth": "unet",
    "patch_discriminator": "patchgan",
    "patch_receptive_field": "patchgan",
    "global_discriminator": "global_discriminator",
    "appendix_generator": "appendix_generator",
    "mask_generator": "mask_generator",
    "singan_generator": "singan_blocks",
    "singan_critic": "singan_blocks",
    "scale_filters": "singan_blocks",
    "receptive_field": "singan_blocks",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
