"""Abnormal banding patterns: Perlin-noise patterns and named structural edits.

Perlin patterns (Uzolas et al. 2021, section 2.2): real banding patterns are clustered black
and white runs of various sizes, which plain random noise cannot mimic; thresholding 1-D
Perlin noise at zero gives such runs. The perlin-noise package costs ~20 us per evaluated
point (pure Python), too slow per sample in a data pipeline, so `PerlinBank` evaluates it
once into a bank of long noise tracks (cached on disk) and draws patterns as random windows
of random stretch from it.

Structural edits a cytogeneticist names, positions given as fractions of the pattern length
(0 = first tip, 1 = other tip): deletion, duplication (tandem), inversion, insertion and
reciprocal translocation between two patterns.
"""

import hashlib
import os
import pathlib

import numpy as np

from kerasgan.chromosome.extraction import SAMPLES_PER_PIXEL, check_pattern

# Mean band length of real G-banded chromosomes at 128 px, in pattern samples (~6 px).
DEFAULT_MEAN_BAND = 6.0 * SAMPLES_PER_PIXEL
# Sign changes of 1-D PerlinNoise per unit of `octaves` (measured over many seeds).
_CROSSINGS_PER_OCTAVE = 1.3


def _remove_short_runs(pattern, minimum):
    """Merge runs shorter than `minimum` samples into their left neighbour (bands < 1 px)."""
    if minimum <= 1 or len(pattern) <= minimum:
        return pattern
    pattern = pattern.copy()
    starts = np.flatnonzero(np.concatenate([[True], pattern[1:] != pattern[:-1]]))
    ends = np.concatenate([starts[1:], [len(pattern)]])
    for start, end in zip(starts, ends):
        if end - start < minimum:
            pattern[start:end] = pattern[start - 1] if start > 0 else pattern[min(end, len(pattern) - 1)]
    return pattern


def perlin_pattern(length, seed=None, mean_band=DEFAULT_MEAN_BAND):
    """A random banding pattern ({0,1} uint8, 0 = black band) from 1-D Perlin noise.

    Evaluates the perlin-noise package directly (~20 us per value). For many patterns use
    `PerlinBank`. `mean_band` is the mean band length in pattern samples (default ~6 px).
    """
    from perlin_noise import PerlinNoise

    length = _check_length(length)
    if mean_band <= 0:
        raise ValueError(f"mean_band must be positive, got {mean_band}")
    seed = int(np.random.default_rng().integers(0, 2**31 - 1)) if seed is None else int(seed)
    octaves = max(length / (mean_band * _CROSSINGS_PER_OCTAVE), 0.5)
    noise = PerlinNoise(octaves=octaves, seed=seed)
    # Offset the start so short patterns do not all begin at the lattice point 0 (value 0).
    phase = (seed % 997) / 997.0
    values = np.array([noise([phase + i / length]) for i in range(length)])
    return _remove_short_runs((values < 0).astype(np.uint8), SAMPLES_PER_PIXEL)


def _check_length(length):
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"length must be an int, got {type(length).__name__}")
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    return int(length)


def _default_cache_dir():
    root = os.environ.get("KERASGAN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "kerasgan"
    )
    return pathlib.Path(root)


class PerlinBank:
    """A bank of 1-D Perlin noise tracks from which patterns are drawn at numpy speed.

    Args:
        tracks: number of independent noise tracks (each its own PerlinNoise seed).
        track_length: samples per track; the bank has `track_length / reference_band` bands
            per track at the reference scale.
        seed: bank seed.
        cache_dir: where the evaluated bank is stored (default ~/.cache/kerasgan, or
            $KERASGAN_CACHE); None/False disables the disk cache.
    Drawing (`sample`) picks a random track, a random stretch (band sizes vary x0.6-x1.6
    around `mean_band`) and a random window, reads it by nearest-neighbour and thresholds at 0.
    """

    reference_band = 24.0  # samples per band in the stored tracks: fine enough to resample

    def __init__(self, tracks=192, track_length=1536, seed=0, cache_dir="default", progress=False):
        if tracks < 1 or track_length < 64:
            raise ValueError(f"need tracks >= 1 and track_length >= 64, got {tracks}, {track_length}")
        self.tracks, self.track_length, self.seed = int(tracks), int(track_length), int(seed)
        self.noise = self._load_or_build(cache_dir, progress)

    def _load_or_build(self, cache_dir, progress):
        key = f"perlin_bank_v1_{self.tracks}_{self.track_length}_{self.seed}"
        path = None
        if cache_dir:
            folder = _default_cache_dir() if cache_dir == "default" else pathlib.Path(cache_dir)
            path = folder / f"{key}.npy"
            if path.exists():
                try:
                    noise = np.load(path, allow_pickle=False)
                    # A damaged cache (NaN/inf, wrong shape) is rebuilt, never drawn from.
                    if noise.shape == (self.tracks, self.track_length) and np.isfinite(noise).all():
                        return noise.astype(np.float32)
                except (OSError, ValueError):
                    pass  # corrupt cache: rebuild
        noise = self.build(self.tracks, self.track_length, self.seed, progress)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(temporary, noise.astype(np.float16))
                os.replace(temporary, path)
            except OSError:
                pass  # read-only home: keep the bank in memory only
        return noise

    @classmethod
    def build(cls, tracks, track_length, seed=0, progress=False):
        """Evaluate the perlin-noise package into a (tracks, track_length) float32 array."""
        from perlin_noise import PerlinNoise

        octaves = track_length / (cls.reference_band * _CROSSINGS_PER_OCTAVE)
        rows = range(tracks)
        if progress:
            from tqdm.auto import tqdm

            rows = tqdm(rows, desc="Perlin bank", unit="track")
        out = np.empty((tracks, track_length), np.float32)
        base = int(hashlib.blake2b(str(seed).encode(), digest_size=4).hexdigest(), 16)
        for row in rows:
            noise = PerlinNoise(octaves=octaves, seed=base + row)
            out[row] = [noise([i / track_length]) for i in range(track_length)]
        return out

    def positions(self, length, rng, mean_band=DEFAULT_MEAN_BAND):
        """(track, indices) of one random draw of `length` samples."""
        stretch = rng.uniform(0.6, 1.6) * mean_band
        step = self.reference_band / stretch
        span = int(np.ceil(step * (length - 1))) + 1
        if span >= self.track_length:
            step = (self.track_length - 1) / max(length - 1, 1)
            span = self.track_length
        track = int(rng.integers(self.tracks))
        start = int(rng.integers(0, self.track_length - span + 1))
        return track, np.minimum(start + np.round(np.arange(length) * step).astype(np.int64), self.track_length - 1)

    def sample(self, length, rng=None, mean_band=DEFAULT_MEAN_BAND):
        """One random {0,1} pattern of `length` samples (0 = black band)."""
        length = _check_length(length)
        rng = rng if rng is not None else np.random.default_rng()
        track, index = self.positions(length, rng, mean_band)
        return _remove_short_runs((self.noise[track, index] < 0).astype(np.uint8), SAMPLES_PER_PIXEL)


# ----------------------------------------------------------------------------- structural edits


def _index(pattern, fraction, name):
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a fraction of the length in [0, 1], got {fraction!r}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"{name} must be a fraction of the length in [0, 1], got {fraction}")
    return int(round(float(fraction) * len(pattern)))


def _span(pattern, span, name):
    try:
        start, end = span
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a (start, end) pair of fractions, got {span!r}") from None
    a, b = _index(pattern, start, f"{name} start"), _index(pattern, end, f"{name} end")
    if not start < end:
        raise ValueError(f"{name} needs start < end, got ({start}, {end})")
    if a == b:
        raise ValueError(f"{name} ({start}, {end}) covers no sample of a pattern of length {len(pattern)}")
    return a, b


def deletion(pattern, start, end):
    """Remove the segment between two fractions of the length (interstitial/terminal deletion)."""
    pattern = check_pattern(pattern)
    a, b = _span(pattern, (start, end), "deletion")
    out = np.concatenate([pattern[:a], pattern[b:]])
    if out.size == 0:
        raise ValueError("deletion (0, 1) would remove the whole pattern")
    return out


def duplication(pattern, start, end):
    """Tandem duplication: the segment is repeated right after itself."""
    pattern = check_pattern(pattern)
    a, b = _span(pattern, (start, end), "duplication")
    return np.concatenate([pattern[:b], pattern[a:b], pattern[b:]])


def inversion(pattern, start, end):
    """The segment between two fractions is reversed (para- or pericentric inversion)."""
    pattern = check_pattern(pattern)
    a, b = _span(pattern, (start, end), "inversion")
    return np.concatenate([pattern[:a], pattern[a:b][::-1], pattern[b:]])


def insertion(pattern, position, segment):
    """Insert a {0,1} segment (e.g. part of another chromosome) at a fraction of the length."""
    pattern = check_pattern(pattern)
    segment = check_pattern(segment, "inserted segment")
    at = _index(pattern, position, "insertion position")
    return np.concatenate([pattern[:at], segment, pattern[at:]])


def reciprocal_translocation(pattern_a, pattern_b, break_a, break_b):
    """Exchange the distal parts of two patterns: returns (der_a, der_b).

    der_a = a[:break_a] + b[break_b:],   der_b = b[:break_b] + a[break_a:]
    """
    pattern_a = check_pattern(pattern_a, "pattern_a")
    pattern_b = check_pattern(pattern_b, "pattern_b")
    i = _index(pattern_a, break_a, "break_a")
    j = _index(pattern_b, break_b, "break_b")
    der_a = np.concatenate([pattern_a[:i], pattern_b[j:]])
    der_b = np.concatenate([pattern_b[:j], pattern_a[i:]])
    for name, der in (("der_a", der_a), ("der_b", der_b)):
        if der.size == 0:
            raise ValueError(f"translocation breakpoints leave {name} empty")
    return der_a, der_b


_EDITS = ("deletion", "duplication", "inversion", "insertion", "translocation")


def edit(pattern, **edits):
    """Apply named structural edits to a banding pattern, in the order given.

    Keyword arguments (fractions of the current length, 0 = first tip):
        deletion=(start, end)
        duplication=(start, end)          tandem duplication
        inversion=(start, end)
        insertion=(position, segment)     segment: {0,1} array, e.g. another_pattern[i:j]
        translocation=(other, break_self, break_other)
                                          this pattern's derivative of a reciprocal
                                          translocation (see `reciprocal_translocation`
                                          for both derivatives)
    Example: edit(pattern, deletion=(0.40, 0.55), inversion=(0.1, 0.3)).
    Returns a new uint8 pattern (its length may change).
    """
    pattern = check_pattern(pattern)
    if not edits:
        raise ValueError(f"edit needs at least one of {', '.join(_EDITS)}")
    for name, argument in edits.items():
        if name not in _EDITS:
            raise TypeError(f"unknown edit {name!r}; choose from {', '.join(_EDITS)}")
        if name == "translocation":
            try:
                other, break_self, break_other = argument
            except (TypeError, ValueError):
                raise TypeError(
                    "translocation takes (other_pattern, break_self, break_other)"
                ) from None
            pattern = reciprocal_translocation(pattern, other, break_self, break_other)[0]
        elif name == "insertion":
            try:
                position, segment = argument
            except (TypeError, ValueError):
                raise TypeError("insertion takes (position, segment)") from None
            pattern = insertion(pattern, position, segment)
        else:
            pattern = {"deletion": deletion, "duplication": duplication, "inversion": inversion}[name](
                pattern, *_pair(argument, name)
            )
    return pattern


def _pair(argument, name):
    try:
        start, end = argument
    except (TypeError, ValueError):
        raise TypeError(f"{name} takes a (start, end) pair of fractions, got {argument!r}") from None
    return start, end
