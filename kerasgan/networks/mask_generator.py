"""Mask generator of SynCGAN (Dey et al., section 3.4): noise z ~ N(0, I) -> segmentation mask.

The paper's mask GAN uses "a generator inspired from UNet whose transposed convolutions have
been replaced with bilinear interpolation for upscaling and a convolution layer for
refinement", i.e. the same U-Net as its conditional GAN (section 3.3), fed a Gaussian seed
instead of a mask. The paper gives no other shape, so z is a noise map of the mask's size,
(H, W, noise_channels), and the network is `unet_generator(upsampling="bilinear")`: stride-2
4x4 conv encoder down to 1x1, decoder of bilinear x2 + 3x3 conv with skip connections, tanh
output in [-1, 1] (a mask pixel is foreground where the output is > 0).
"""

from kerasgan.networks.unet import unet_generator


def mask_generator(
    image_size=256,
    noise_channels=4,
    output_channels=1,
    filters=64,
    norm="batch",
    depth=None,
    dropout=0.0,
    name="mask_generator",
):
    """Build the noise -> mask generator.

    Args:
        image_size: side of the square mask (a multiple of 2**depth).
        noise_channels: channels of the Gaussian noise map z (its shape is
            (image_size, image_size, noise_channels)).
        output_channels: 1 for a binary mask; 3 gives the plain noise -> RGB GAN used as the
            paper's Table 3 control.
        filters: filters of the outermost level (doubles per level up to 8x).
        norm: "batch", "instance" or "none".
        depth: number of downsamplings; default log2(image_size) (down to 1x1).
        dropout: dropout rate in the inner decoder blocks (0: z is the only randomness).

    Returns:
        a functional keras.Model, noise (B, S, S, noise_channels) -> (B, S, S, output_channels)
        in [-1, 1].
    """
    if noise_channels < 1:
        raise ValueError(f"noise_channels must be >= 1, got {noise_channels}")
    if output_channels < 1:
        raise ValueError(f"output_channels must be >= 1, got {output_channels}")
    return unet_generator(
        input_shape=(image_size, image_size, noise_channels),
        output_channels=output_channels,
        filters=filters,
        norm=norm,
        upsampling="bilinear",
        dropout=dropout,
        depth=depth,
        output_activation="tanh",
        name=name,
    )
