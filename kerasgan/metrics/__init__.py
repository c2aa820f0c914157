"""Evaluation metrics: segmentation agreement (Dice, MAENB), output diversity, SIFID, realism.

One module per family; everything is re-exported here and imported on first use.
"""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    # segmentation.py (chromosome paper)
    "dice": "segmentation",
    "banded_dice": "segmentation",
    "maenb": "segmentation",
    "count_bands": "segmentation",
    # diversity.py (mode-seeking paper)
    "mean_pairwise_l1": "diversity",
    "mean_pairwise_ms_ssim_distance": "diversity",
    "explained_variance_share": "diversity",
    "mean_pairwise_feature_distance": "diversity",
    "ms_ssim_settings": "diversity",
    # sifid.py (SinGAN)
    "sifid": "sifid",
    "patch_statistic_distance": "sifid",
    "frechet_distance": "sifid",
    "inception_features": "sifid",
    # realism.py (weight-free realism against held-out real images, issue 16)
    "realism_report": "realism",
    "format_realism_table": "realism",
    "patch_frechet_distance": "realism",
    "sharpness_ratio": "realism",
    "mean_gradient_magnitude": "realism",
    "intensity_wasserstein": "realism",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
