"""Segmentation agreement metrics of the chromosome paper (Uzolas et al. 2021, section 3).

    Dice(A, B) = 2 |A n B| / (|A| + |B|)
    banded Dice = mean over the black (0) and white (127) band classes of Dice, background (255)
                  omitted, between two banded segmentation masks
    MAENB = alpha * (| |bp_in|_b - |bp_out|_b | + | |bp_in|_w - |bp_out|_w |),
            alpha = 1 / (|bp_in|_w + |bp_in|_b)
where |bp|_b and |bp|_w count the black and white bands (runs) of a banding pattern.
"""

import numpy as np

BLACK, WHITE, BACKGROUND = 0, 127, 255


def _as_array(value, name):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}")
    return np.asarray(value)


def dice(mask_a, mask_b, empty=1.0):
    """Dice coefficient of two binary masks (nonzero = foreground), any equal shape.

    Two empty masks give `empty` (1.0 by default: they agree perfectly).
    """
    a = _as_array(mask_a, "mask_a").astype(bool)
    b = _as_array(mask_b, "mask_b").astype(bool)
    if a.shape != b.shape:
        raise ValueError(f"mask_a {a.shape} and mask_b {b.shape} have different shapes")
    total = a.sum() + b.sum()
    if total == 0:
        return float(empty)
    return float(2.0 * np.logical_and(a, b).sum() / total)


def banded_dice(banded_mask_a, banded_mask_b, per_class=False):
    """Dice between two banded masks (0/127/255), background omitted (the paper's metric).

    The mean of the black-band Dice and the white-band Dice; with `per_class` returns
    (mean, black_dice, white_dice). Works on one H x W pair or a batch N x H x W (mean over
    examples of each example's score).
    """
    a = _as_array(banded_mask_a, "banded_mask_a")
    b = _as_array(banded_mask_b, "banded_mask_b")
    if a.shape != b.shape:
        raise ValueError(f"banded masks have different shapes: {a.shape} vs {b.shape}")
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    if a.ndim == 3:
        scores = np.array([banded_dice(x, y, per_class=True) for x, y in zip(a, b)])
        if scores.size == 0:
            raise ValueError("banded_dice got an empty batch")
        mean = scores.mean(0)
        return tuple(float(v) for v in mean) if per_class else float(mean[0])
    if a.ndim != 2:
        raise ValueError(f"banded masks must be H x W or N x H x W, got shape {a.shape}")
    for name, mask in (("banded_mask_a", a), ("banded_mask_b", b)):
        if not np.isin(mask, (BLACK, WHITE, BACKGROUND)).all():
            raise ValueError(f"{name} must hold only 0, 127 and 255")
    black = dice(a == BLACK, b == BLACK)
    white = dice(a == WHITE, b == WHITE)
    mean = (black + white) / 2
    return (mean, black, white) if per_class else mean


def count_bands(pattern):
    """(black, white) number of bands (runs of 0s and of 1s) in a {0,1} banding pattern."""
    array = _as_array(pattern, "pattern")
    if array.ndim != 1:
        raise ValueError(f"pattern must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError("pattern has length 0")
    if not np.isin(array, (0, 1)).all():
        raise ValueError("pattern must be binary (0 = black band, 1 = white band)")
    array = array.astype(np.int8)
    starts = np.concatenate([[True], array[1:] != array[:-1]])
    colours = array[starts]
    return int((colours == 0).sum()), int((colours == 1).sum())


def maenb(input_pattern, output_pattern):
    """Mean Absolute Error Number of Bands of one pattern pair (lower is better, 0 = same counts).

    MAENB = (| black_in - black_out | + | white_in - white_out |) / (black_in + white_in).
    Pass lists of patterns to get the mean over pairs.
    """
    if isinstance(input_pattern, (list, tuple)) and input_pattern and np.ndim(input_pattern[0]) == 1:
        if len(input_pattern) != len(output_pattern):
            raise ValueError(
                f"{len(input_pattern)} input patterns but {len(output_pattern)} output patterns"
            )
        return float(np.mean([maenb(a, b) for a, b in zip(input_pattern, output_pattern)]))
    black_in, white_in = count_bands(input_pattern)
    black_out, white_out = count_bands(output_pattern)
    return float((abs(black_in - black_out) + abs(white_in - white_out)) / (black_in + white_in))
