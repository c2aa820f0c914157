"""Single-image distances between a training image and generated samples.

SIFID (Rott Shaham et al., ICCV 2019): the Fréchet distance between the distributions of
per-position deep features of the real image and of one fake,

    d^2 = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)),

with features = the outputs, at every spatial position, of a network layer (the paper: the
64-channel map before InceptionV3's second pooling layer). The extractor is pluggable
(`feature_model`); no Inception weights ship offline, so `sifid` requires one.

`patch_statistic_distance` is the same Fréchet distance on raw pixel patches (every k x k x C
patch is one sample, projected on the real image's leading principal components): weight-free,
deterministic, works for any channel count. Numbers from the two are not comparable: always
say which one you report.
"""

import numpy as np
from scipy import linalg


def frechet_distance(mean_a, covariance_a, mean_b, covariance_b, epsilon=1e-6):
    """Fréchet distance between two Gaussians N(mean_a, cov_a), N(mean_b, cov_b) (>= 0)."""
    mean_a, mean_b = np.atleast_1d(mean_a).astype(np.float64), np.atleast_1d(mean_b).astype(np.float64)
    covariance_a = np.atleast_2d(covariance_a).astype(np.float64)
    covariance_b = np.atleast_2d(covariance_b).astype(np.float64)
    if mean_a.shape != mean_b.shape or covariance_a.shape != covariance_b.shape:
        raise ValueError(f"mean/covariance shapes differ: {mean_a.shape} vs {mean_b.shape}, "
                         f"{covariance_a.shape} vs {covariance_b.shape}")
    difference = mean_a - mean_b
    root = _matrix_sqrt(covariance_a @ covariance_b)
    if not np.all(np.isfinite(root)) or np.abs(root.imag).max(initial=0) > 1e-3 * max(np.abs(root).max(), 1e-12):
        # singular product: regularise both covariances slightly (as the reference FID code)
        offset = np.eye(covariance_a.shape[0]) * epsilon
        root = _matrix_sqrt((covariance_a + offset) @ (covariance_b + offset))
    root = np.real(root)
    value = difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2.0 * np.trace(root)
    return float(max(value, 0.0))


def _matrix_sqrt(matrix):
    root = linalg.sqrtm(matrix)
    return root[0] if isinstance(root, tuple) else root  # older SciPy returned (root, error)


def _statistics(features):
    features = np.asarray(features, np.float64).reshape(-1, np.shape(features)[-1])
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _check_pair(real, fakes):
    real = np.asarray(real, np.float32)
    fakes = np.asarray(fakes, np.float32)
    if real.ndim == 2:
        real = real[..., None]
    if fakes.ndim == real.ndim:
        fakes = fakes[None]
    if real.ndim != 3 or fakes.ndim != 4:
        raise ValueError(f"real must be (H, W, C) and fakes (N, H, W, C); got {real.shape} and {fakes.shape}")
    if fakes.shape[-1] != real.shape[-1]:
        raise ValueError(f"real has {real.shape[-1]} channels but fakes have {fakes.shape[-1]}")
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(fakes))):
        raise ValueError("real or fakes contain NaN/inf values")
    return real, fakes


def sifid(real, fakes, feature_model):
    """SIFID of each fake against `real`: array (N,) (mean it for one number).

    Args:
        real: (H, W, C) image as the feature model expects it (e.g. [-1, 1]).
        fakes: (N, H', W', C) samples (any size: the statistics are over positions).
        feature_model: callable (B, H, W, C) -> (B, h, w, D) feature maps, e.g.
            `inception_features(weights_path)` (SinGAN's choice) or any Keras model.
    """
    if feature_model is None:
        raise ValueError(
            "sifid needs a feature_model (callable images -> (B, h, w, D) features): no Inception "
            "weights ship offline; build one with inception_features(weights_path) or use "
            "patch_statistic_distance (weight-free)"
        )
    real, fakes = _check_pair(real, fakes)
    real_features = np.asarray(feature_model(real[None]))
    if real_features.ndim != 4:
        raise ValueError(f"feature_model must return (B, h, w, D) maps, got shape {real_features.shape}")
    mean_real, covariance_real = _statistics(real_features)
    values = []
    for fake in fakes:
        mean_fake, covariance_fake = _statistics(np.asarray(feature_model(fake[None])))
        values.append(frechet_distance(mean_real, covariance_real, mean_fake, covariance_fake))
    return np.asarray(values)


def inception_features(weights_path, layer="max_pooling2d"):
    """SinGAN's SIFID extractor: InceptionV3 up to its first max-pooling (64 channels).

    `weights_path`: a local InceptionV3 `include_top=False` weights file (nothing is
    downloaded). Inputs in [-1, 1] with 3 channels (InceptionV3's own scaling).
    """
    import keras

    base = keras.applications.InceptionV3(include_top=False, weights=weights_path, input_shape=(None, None, 3))
    return keras.Model(base.input, base.get_layer(layer).output, name="sifid_inception_features")


def _patches(image, patch_size, stride):
    from numpy.lib.stride_tricks import sliding_window_view

    height, width, channels = image.shape
    if height < patch_size or width < patch_size:
        raise ValueError(f"image {height}x{width} is smaller than patch_size={patch_size}")
    windows = sliding_window_view(image, (patch_size, patch_size, channels))[::stride, ::stride, 0]
    return windows.reshape(-1, patch_size * patch_size * channels)


def patch_statistic_distance(real, fakes, patch_size=7, components=16, stride=1):
    """Weight-free single-image distance: Fréchet distance of k x k pixel-patch statistics.

    Every `patch_size` x `patch_size` x C patch is a sample; patches of real and fake are
    projected on the real image's first `components` principal components, then
    `frechet_distance` compares the two Gaussians. 0 for an identical patch distribution;
    returns an array (N,) (one value per fake), in [-1, 1]-pixel units squared.
    """
    real, fakes = _check_pair(real, fakes)
    real_patches = _patches(real, patch_size, stride).astype(np.float64)
    centre = real_patches.mean(axis=0)
    _, _, directions = np.linalg.svd(real_patches - centre, full_matrices=False)
    basis = directions[: min(components, directions.shape[0])].T
    mean_real, covariance_real = _statistics((real_patches - centre) @ basis)
    values = []
    for fake in fakes:
        projected = (_patches(fake, patch_size, stride).astype(np.float64) - centre) @ basis
        mean_fake, covariance_fake = _statistics(projected)
        values.append(frechet_distance(mean_real, covariance_real, mean_fake, covariance_fake))
    return np.asarray(values)
