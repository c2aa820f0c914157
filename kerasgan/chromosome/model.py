"""Pix2pix for banded chromosome masks (Uzolas et al. 2021, section 2.1): G(x) = y with
x = f_SEG(f_BPE(y), s) a 1-channel banded mask (0/127/255 scaled to [-1, 1]) and y the
grayscale chromosome image, trained with the unchanged pix2pix objective

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G),   lambda = 100.

The paper upscales its 128 px inputs to 256 (the reference network's size) and downscales
the outputs back to 128 for evaluation: `model_size=256` does that inside the generator.
"""

import numpy as np

DEFAULT_SIZE = 128


def build_generator(size=DEFAULT_SIZE, filters=64, norm="batch", model_size=None, dropout=0.5,
                    name="chromosome_generator"):
    """U-Net generator for size x size x 1 masks -> size x size x 1 images in [-1, 1].

    `model_size` (e.g. 256, the paper) resizes the mask up before the U-Net and the image
    back down after it; None runs the U-Net at `size`.
    """
    import keras

    from kerasgan.networks import unet_generator

    model_size = int(model_size or size)
    unet = unet_generator(
        input_shape=(model_size, model_size, 1), output_channels=1, filters=filters, norm=norm,
        dropout=dropout, name=f"{name}_unet" if model_size != size else name,
    )
    if model_size == size:
        return unet
    inputs = keras.Input((size, size, 1), name="banded_mask")
    # Nearest keeps the three mask levels crisp; the output is smoothed down with bilinear.
    x = keras.layers.Resizing(model_size, model_size, interpolation="nearest", name="upscale")(inputs)
    x = unet(x)
    outputs = keras.layers.Resizing(size, size, interpolation="bilinear", name="downscale")(x)
    return keras.Model(inputs, outputs, name=name)


def build_pix2pix(size=DEFAULT_SIZE, filters=64, discriminator_filters=None, norm="batch",
                  model_size=None, l1_weight=100.0, n_layers=3):
    """A `kerasgan.models.Pix2Pix` with the chromosome generator and a conditional PatchGAN."""
    from kerasgan.models import Pix2Pix
    from kerasgan.networks import patch_discriminator

    generator = build_generator(size, filters, norm, model_size)
    discriminator = patch_discriminator(
        input_shape=(size, size, 2), filters=discriminator_filters or filters, n_layers=n_layers,
        norm=norm, conditional=True,
    )
    return Pix2Pix(generator, discriminator, l1_weight=l1_weight)


def generate(generator, banded_masks, batch_size=32, inference="deterministic"):
    """Run a generator on uint8 banded masks (N x S x S or S x S); returns uint8 images.

    inference "deterministic": dropout off, BatchNorm moving statistics (one image per mask,
    always the same); "reference": as pix2pix's test.py, dropout on and each image normalised
    by its own batch statistics (`kerasgan.models.pix2pix.run_generator`).
    """
    from kerasgan.chromosome.extraction import to_model_input
    from kerasgan.models.pix2pix import check_inference, run_generator

    check_inference(inference)
    inputs = to_model_input(np.asarray(banded_masks))
    outputs = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size]
        if inference == "deterministic":
            outputs.append(np.asarray(generator(batch, training=False)))
        else:
            outputs.append(np.asarray(run_generator(generator, batch, inference=inference)))
    images = np.concatenate(outputs)[..., 0]
    return np.round(np.clip((images + 1.0) * 127.5, 0, 255)).astype(np.uint8)
