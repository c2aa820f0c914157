"""SynCGAN (Dey et al.): learnable class-specific mask priors guide a conditional GAN to make
synthetic cytology images for classifier augmentation.

    from kerasgan import syncgan
    masks = syncgan.nucleus_masks(images)                      # unsupervised, section 3.2
    pipe = syncgan.SynCGAN(classes=["benign", "malignant"], image_size=256)
    pipe.fit(images, labels, mask_epochs=..., cgan_epochs=...)
    images, masks = pipe.generate("malignant", count=90, seed=0)
    pipe.save("syncgan.keras"); pipe = syncgan.SynCGAN.load("syncgan.keras")

`render_cytology` makes a SYNTHETIC benign/malignant set with ground-truth masks;
`load_image_folders` reads ROOT/<class>/*; `run_study` is the paper's augmentation study.
"""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    "nucleus_masks": "masks",
    "stretch_histogram": "masks",
    "dice": "masks",
    "mask_report": "masks",
    "format_mask_report": "masks",
    "check_mask_plausibility": "masks",
    "overlay_masks": "masks",
    "estimate_nucleus_radius": "masks",
    "select_mixture": "masks",
    "detect_polarity": "masks",
    "nuclear_stain": "masks",
    "render_cytology": "renderer",
    "CLASS_NAMES": "renderer",
    "load_image_folders": "folders",
    "prepare_images": "folders",
    "SynCGAN": "pipeline",
    "check_masks": "pipeline",
    "BestGeneratorByValidationLoss": "pipeline",
    "run_study": "study",
    "traditional_augmentation": "study",
    "small_cnn": "study",
    "build_classifier": "study",
    "format_table": "study",
    "plot_study": "study",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
