"""Output diversity: numbers that show mode collapse without pretrained networks.

Mode collapse in pix2pix (Allender et al., fig. 2) means the generator paints the same texture
whatever the condition. Measured on outputs G(x_1), ..., G(x_N) for N *different* conditions:

- `mean_pairwise_l1`: mean over pairs i < j of mean |G(x_i) - G(x_j)| (0 when collapsed).
- `mean_pairwise_ms_ssim_distance`: mean over pairs of 1 - MS-SSIM(G(x_i), G(x_j)).
- `explained_variance_share`: R^2 of predicting each output pixel from the condition around
  it; low when the output is texture that the input does not determine.
- `mean_pairwise_feature_distance`: LPIPS-style distance in the features of a user-supplied
  model (LPIPS's own weights would have to be downloaded).

Compare each number with the same number on the real images of those conditions. Images are
batches N x H x W x C (numpy or tensors) in `value_range` (the GANs' [-1, 1] by default).
"""

import itertools

import numpy as np

# Wang et al. (2003) weights of the five MS-SSIM scales, as tf.image.ssim_multiscale.
MS_SSIM_SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _as_batch(images, name, min_count=2):
    array = np.asarray(images)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim != 4:
        raise ValueError(f"{name} must be a batch N x H x W x C, got shape {array.shape}")
    if array.shape[0] < min_count:
        raise ValueError(
            f"{name} has {array.shape[0]} image(s); pairwise diversity needs at least {min_count}"
        )
    if 0 in array.shape[1:]:
        raise ValueError(f"{name} has an empty dimension: shape {array.shape}")
    array = array.astype(np.float64 if array.dtype == np.float64 else np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _pairs(count, max_pairs, seed):
    """All index pairs i < j, or `max_pairs` of them drawn without replacement."""
    total = count * (count - 1) // 2
    if max_pairs is None or total <= max_pairs:
        return np.array(list(itertools.combinations(range(count), 2)), dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(total, size=int(max_pairs), replace=False)
    # Map flat indices of the upper triangle back to (i, j).
    first, second = np.triu_indices(count, k=1)
    return np.stack([first[chosen], second[chosen]], axis=1)


def mean_pairwise_l1(outputs, max_pairs=None, seed=0):
    """Mean over pairs i < j of the mean absolute difference between outputs i and j.

    Args:
        outputs: N x H x W x C images for N different conditions (N >= 2).
        max_pairs: evaluate at most this many random pairs (all N(N-1)/2 by default).
    Returns: float, in the units of the images (a [-1, 1] range gives values in [0, 2]).
    """
    images = _as_batch(outputs, "outputs")
    flat = images.reshape(images.shape[0], -1)
    pairs = _pairs(flat.shape[0], max_pairs, seed)
    distances = [np.mean(np.abs(flat[i] - flat[j])) for i, j in pairs]
    return float(np.mean(distances))


def ms_ssim_settings(height, width, filter_size=11):
    """Number of MS-SSIM scales and filter size that fit an image of this size.

    tf.image.ssim_multiscale filters each scale with a `filter_size` window (VALID), so the
    coarsest scale must still be that large: 5 scales need 176 px at filter 11. Smaller images
    use fewer scales (the first weights, renormalised) and, below 11 px, a smaller window.
    """
    side = min(int(height), int(width))
    if side < 3:
        raise ValueError(f"MS-SSIM needs images of at least 3 x 3 pixels, got {height} x {width}")
    filter_size = min(int(filter_size), side if side % 2 else side - 1)
    scales = 1
    while scales < len(MS_SSIM_SCALE_WEIGHTS) and side // 2**scales >= filter_size:
        scales += 1
    weights = np.asarray(MS_SSIM_SCALE_WEIGHTS[:scales])
    return scales, filter_size, tuple(float(w) for w in weights / weights.sum())


def mean_pairwise_ms_ssim_distance(outputs, value_range=(-1.0, 1.0), max_pairs=None, seed=0,
                                   batch_size=64):
    """Mean over pairs i < j of 1 - MS-SSIM(output_i, output_j) (Wang et al., 2003).

    0 for identical outputs, up to 1 for unrelated ones. Uses tf.image.ssim_multiscale with as
    many scales as the image size allows (see `ms_ssim_settings`), so values at different image
    sizes are not comparable.

    Args:
        outputs: N x H x W x C images (N >= 2) in `value_range`.
        value_range: (low, high) of the pixel values; (-1, 1) for generator outputs.
        max_pairs: evaluate at most this many random pairs.
    """
    import tensorflow as tf

    images = _as_batch(outputs, "outputs")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    unit = np.clip((images - low) / (high - low), 0.0, 1.0).astype(np.float32)
    scales, filter_size, weights = ms_ssim_settings(unit.shape[1], unit.shape[2])
    pairs = _pairs(unit.shape[0], max_pairs, seed)
    similarities = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        similarity = tf.image.ssim_multiscale(
            tf.constant(unit[chunk[:, 0]]), tf.constant(unit[chunk[:, 1]]), max_val=1.0,
            power_factors=weights, filter_size=filter_size,
        )
        similarities.append(similarity.numpy())
    return float(1.0 - np.mean(np.concatenate(similarities)))


def _neighbourhoods(conditions, window):
    """N x H x W x C -> (N*H*W) x (window*window*C): the condition values around each pixel."""
    pad = window // 2
    padded = np.pad(conditions, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    _, height, width, _ = conditions.shape
    shifted = [
        padded[:, dy:dy + height, dx:dx + width, :] for dy in range(window) for dx in range(window)
    ]
    features = np.concatenate(shifted, axis=-1)
    return features.reshape(-1, features.shape[-1])


def explained_variance_share(conditions, outputs, window=5, max_pixels=200_000, seed=0,
                             regularization=1e-3):
    """Share of the output's variance explained by the input condition (an R^2 in [0, 1]).

    A ridge regression predicts every output pixel (all channels) from the condition values
    in the `window` x `window` neighbourhood around it, fit over the pixels of all N examples.
    The returned share is 1 - residual variance / total output variance. The same texture
    painted whatever the input (mode collapse) varies in ways the input cannot predict and
    scores low; outputs that follow their conditions score high. Compute it on the real
    images too: that is the share the data itself allows.

    Args:
        conditions: N x H x W x Cc generator inputs.
        outputs: N x H x W x Co generator outputs (or real images) for those inputs.
        window: odd neighbourhood size in pixels.
        max_pixels: fit on at most this many random pixels (the whole batch by default when
            smaller).
        regularization: ridge penalty.
    """
    from sklearn.linear_model import Ridge

    conditions = _as_batch(conditions, "conditions", min_count=1)
    outputs = _as_batch(outputs, "outputs", min_count=1)
    if conditions.shape[:3] != outputs.shape[:3]:
        raise ValueError(
            f"conditions {conditions.shape} and outputs {outputs.shape} must have the same "
            "N x H x W"
        )
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    if window // 2 >= min(conditions.shape[1:3]):
        raise ValueError(f"window {window} is too large for {conditions.shape[1]}x{conditions.shape[2]} images")
    features = _neighbourhoods(conditions.astype(np.float32), window)
    targets = outputs.reshape(-1, outputs.shape[-1]).astype(np.float32)
    if len(targets) > max_pixels:
        keep = np.random.default_rng(seed).choice(len(targets), size=int(max_pixels), replace=False)
        features, targets = features[keep], targets[keep]
    total = float(np.sum((targets - targets.mean(axis=0)) ** 2))
    if total <= 0.0:
        raise ValueError("outputs are constant: their variance is 0, so no share can be explained")
    predicted = Ridge(alpha=regularization).fit(features, targets).predict(features)
    residual = targets - np.reshape(predicted, targets.shape)  # sklearn drops a single column
    return float(np.clip(1.0 - np.sum(residual**2) / total, 0.0, 1.0))


def _unit_normalize(features):
    """Scale each position's feature vector to unit length (LPIPS, Zhang et al. 2018, eq. 1)."""
    norm = np.sqrt(np.sum(features**2, axis=-1, keepdims=True))
    return features / (norm + 1e-10)


def mean_pairwise_feature_distance(outputs, feature_model, max_pairs=None, seed=0, batch_size=32):
    """LPIPS-like diversity: mean over pairs of the distance between deep features.

    For each layer l of `feature_model(outputs)` (a tensor or a list of tensors, N x H_l x
    W_l x C_l or N x C_l), features are unit-normalised along channels and the pair distance is
    sum_l mean_{h,w} ||f_l(i) - f_l(j)||^2: LPIPS without its learned per-channel weights
    (Zhang et al., CVPR 2018). Bring your own network (e.g. one trained on your images, or a
    keras.applications model whose weights you have locally); its input range is yours to match.

    Args:
        outputs: N x H x W x C images (N >= 2).
        feature_model: callable (e.g. keras.Model) batch -> tensor or list/dict of tensors.
        max_pairs: evaluate at most this many random pairs.
    """
    images = _as_batch(outputs, "outputs")
    if not callable(feature_model):
        raise TypeError(f"feature_model must be callable (a keras.Model), got {type(feature_model).__name__}")
    layers = None
    for start in range(0, len(images), batch_size):
        result = feature_model(images[start:start + batch_size].astype(np.float32))
        if isinstance(result, dict):
            result = [result[key] for key in sorted(result)]
        elif not isinstance(result, (list, tuple)):
            result = [result]
        result = [np.asarray(layer, dtype=np.float64) for layer in result]
        if layers is None:
            layers = [[layer] for layer in result]
        else:
            for stored, layer in zip(layers, result):
                stored.append(layer)
    layers = [np.concatenate(chunks, axis=0) for chunks in layers]
    normalized = []
    for index, layer in enumerate(layers):
        if layer.shape[0] != len(images) or layer.ndim < 2:
            raise ValueError(
                f"feature_model output {index} has shape {layer.shape}; expected one feature map "
                f"per image (first dimension {len(images)})"
            )
        if not np.all(np.isfinite(layer)):
            raise ValueError(f"feature_model output {index} contains NaN or infinite values")
        layer = layer.reshape(layer.shape[0], -1, layer.shape[-1])  # N x positions x channels
        normalized.append(_unit_normalize(layer))
    distances = [
        sum(float(np.mean(np.sum((layer[i] - layer[j]) ** 2, axis=-1))) for layer in normalized)
        for i, j in _pairs(len(images), max_pairs, seed)
    ]
    return float(np.mean(distances))
