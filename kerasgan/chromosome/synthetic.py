"""SYNTHETIC single G-banded chromosome images with their ground truth.

No public karyotype set can be downloaded where this package is built and tested, so tests,
tutorials and the "chromosome" zoo model use this renderer. Every image it makes is
SYNTHETIC: a dark chromosome on a light background as in Giemsa-stained karyotypes, with

- a smooth centre line, straight or bent (often at the centromere), of varied length;
- varied width, rounded ends and a centromere constriction;
- an alternating black/white band sequence of clustered band sizes (the ground-truth pattern),
  dark bands of varied darkness, light bands that may be close to the background;
- band blur along the axis, darker centre across the width, an optional sister-chromatid
  groove, smooth multiplicative staining noise, optical blur, a background gradient,
  pixel noise, 8-bit quantisation and sometimes small debris specks.

The ground truth follows the paper's conventions: `pattern` is a {0, 1} vector sampled every
pixel of arc length from one end to the other (0 = black band, 1 = white band) and
`banded_mask` is uint8 with 0 (black band), 127 (white band), 255 (background).
"""

import dataclasses

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from kerasgan.chromosome.extraction import SAMPLES_PER_PIXEL

BLACK, WHITE, BACKGROUND = 0, 127, 255


@dataclasses.dataclass
class SyntheticChromosome:
    """One SYNTHETIC chromosome: image (uint8 H x W), pattern ({0,1} K), banded_mask (uint8)."""

    image: np.ndarray
    pattern: np.ndarray
    banded_mask: np.ndarray

    @property
    def shape_mask(self):
        return self.banded_mask != BACKGROUND


def _centre_line(rng, length, size):
    """Dense centre-line points (4 per pixel) of a smooth curve of the given arc length."""
    count = int(length * 4) + 1
    s = np.linspace(0.0, 1.0, count)
    kind = rng.random()
    angle = np.zeros(count)
    if kind < 0.3:  # straight, maybe a slight drift
        angle += rng.normal(0, 0.15) * s
    elif kind < 0.65:  # smooth bow
        angle += rng.uniform(-1.6, 1.6) * s
    else:  # bent at the centromere-ish point, plus some bow
        bend_at = rng.uniform(0.3, 0.7)
        angle += rng.uniform(-1.3, 1.3) / (1 + np.exp(-(s - bend_at) * rng.uniform(12, 30)))
        angle += rng.uniform(-0.5, 0.5) * s
    angle += rng.uniform(0, 2 * np.pi)
    step = length / (count - 1)
    points = np.cumsum(np.stack([np.cos(angle), np.sin(angle)], 1) * step, axis=0)
    points -= points[0]
    points -= (points.min(0) + points.max(0)) / 2  # centre the bounding box
    points += size / 2 + rng.uniform(-0.06, 0.06, 2) * size
    return points, s * length


def _band_sequence(rng, length):
    """Band boundaries (arc length) and colours, clustered sizes, min 2.5 px per band."""
    mean_band = rng.uniform(4.0, 8.0)
    sizes = []
    total = 0.0
    while total < length:
        size = max(2.5, rng.gamma(2.5, mean_band / 2.5))
        sizes.append(size)
        total += size
    sizes = np.array(sizes) * length / total
    # Merge bands that rescaling made thinner than 2.5 px into their neighbour.
    while len(sizes) > 1 and sizes.min() < 2.5:
        i = int(np.argmin(sizes))
        j = i + 1 if i + 1 < len(sizes) else i - 1
        sizes[j] += sizes[i]
        sizes = np.delete(sizes, i)
    edges = np.concatenate([[0.0], np.cumsum(sizes)])
    first = 1 if rng.random() < 0.65 else 0  # telomeric ends are mostly light
    colours = (first + np.arange(len(sizes))) % 2
    return edges, colours


def render_chromosome(seed=None, size=128, length=None, width=None, rng=None):
    """Render one SYNTHETIC G-banded chromosome.

    Args:
        seed: int seed (or give `rng`, a numpy Generator).
        size: image side in pixels (square).
        length: arc length of the centre line in pixels (default U(0.35, 0.8) * size).
        width: chromosome width in pixels (default U(0.065, 0.13) * size).
    Returns:
        SyntheticChromosome(image uint8 H x W, pattern uint8 {0,1} of length ~arc length,
        banded_mask uint8 0/127/255).
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}")
    length = float(length if length is not None else rng.uniform(0.35, 0.8) * size)
    width = float(width if width is not None else rng.uniform(0.065, 0.13) * size)
    length = min(length, 0.85 * size)

    points, arc = _centre_line(rng, length, size)
    # Keep the whole chromosome inside the canvas (shift; shrink is never needed at 0.85).
    low, high = points.min(0) - width, points.max(0) + width
    shift = np.clip(0 - low, 0, None) - np.clip(high - (size - 1), 0, None)
    points += shift

    # Width along the axis: rounded caps and a centromere constriction.
    half = np.full(arc.shape, width / 2)
    half *= 1 + 0.08 * np.sin(arc / length * np.pi * rng.uniform(0.5, 2) + rng.uniform(0, 6))
    centromere = rng.uniform(0.25, 0.55) * length
    if rng.random() < 0.5:
        centromere = length - centromere
    half *= 1 - rng.uniform(0.15, 0.35) * np.exp(-((arc - centromere) / (0.06 * length + 1)) ** 2)
    cap = width / 2
    from_end = np.minimum(arc, length - arc)
    half *= np.sqrt(np.clip(1 - ((cap - np.minimum(from_end, cap)) / cap) ** 2, 0, 1))

    # Nearest centre-line point of every pixel: arc position and distance.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    pixels = np.stack([xx.ravel(), yy.ravel()], 1)
    distance, index = cKDTree(points).query(pixels, distance_upper_bound=width)
    inside_tree = np.isfinite(distance)
    index = np.where(inside_tree, index, 0)
    distance = np.where(inside_tree, distance, np.inf)
    position = arc[index]
    local_half = half[index]
    coverage = np.clip(local_half - distance + 0.5, 0.0, 1.0).reshape(size, size)

    # Density along the axis: blurred step function of the band sequence.
    edges, colours = _band_sequence(rng, length)
    dark_level = rng.uniform(0.6, 1.0, len(colours))
    light_level = rng.uniform(0.0, 0.25, len(colours))
    band_density = np.where(colours == 0, dark_level, light_level)
    fine = np.linspace(0, length, int(length * 8) + 1)
    band_of_fine = np.clip(np.searchsorted(edges, fine, side="right") - 1, 0, len(colours) - 1)
    profile = ndimage.gaussian_filter1d(band_density[band_of_fine], rng.uniform(0.2, 0.8) * 8)
    density = np.interp(position, fine, profile).reshape(size, size)

    # Across the width: denser centre, sometimes a pale sister-chromatid groove.
    relative = np.clip(distance / np.maximum(local_half, 1e-3), 0, 1).reshape(size, size)
    density *= 1 - rng.uniform(0.1, 0.35) * relative**2
    if rng.random() < 0.35:
        density *= 1 - rng.uniform(0.1, 0.3) * np.exp(-(relative / 0.18) ** 2)
    # Staining noise: smooth multiplicative field.
    stain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), rng.uniform(1.5, 3.5))
    stain /= stain.std() + 1e-8
    density = np.clip(density * (1 + rng.uniform(0.03, 0.12) * stain), 0, 1.2)

    background = rng.uniform(0.82, 0.99)
    light_absorption = rng.uniform(0.08, 0.25)
    dark_absorption = rng.uniform(0.45, 0.75)
    absorption = coverage * (light_absorption + (dark_absorption - light_absorption) * density)
    gradient = rng.uniform(-0.04, 0.04, 2)
    image = background + gradient[0] * (xx / size - 0.5) + gradient[1] * (yy / size - 0.5)
    image = image - absorption
    if rng.random() < 0.3:  # debris specks, smaller than any chromosome
        for _ in range(rng.integers(1, 4)):
            cx, cy = rng.uniform(0, size, 2)
            radius = rng.uniform(0.8, 2.0)
            image -= rng.uniform(0.1, 0.4) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), rng.uniform(0.5, 1.0))
    image = image + rng.normal(0, rng.uniform(0.004, 0.02), image.shape)
    image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)

    # Ground truth: the band at each pixel's nearest axis point, inside the shape.
    band_of_pixel = np.clip(np.searchsorted(edges, position, side="right") - 1, 0, len(colours) - 1)
    labels = np.where(colours[band_of_pixel] == 0, BLACK, WHITE).reshape(size, size)
    shape = coverage >= 0.5
    banded_mask = np.where(shape, labels, BACKGROUND).astype(np.uint8)
    # Ground-truth pattern sampled like the extraction: SAMPLES_PER_PIXEL values per pixel.
    samples = np.linspace(0.0, length, int(np.floor(length * SAMPLES_PER_PIXEL)) + 1)
    band_of_sample = np.clip(np.searchsorted(edges, samples, side="right") - 1, 0, len(colours) - 1)
    pattern = colours[band_of_sample].astype(np.uint8)
    return SyntheticChromosome(image=image, pattern=pattern, banded_mask=banded_mask)


def render_dataset(count, seed=0, size=128, progress=False):
    """`count` SYNTHETIC chromosomes as stacked arrays (images, banded_masks) and pattern list.

    Returns:
        images uint8 (count, size, size), banded_masks uint8 (count, size, size), patterns
        (list of uint8 {0,1} vectors). Chromosome i uses seed (seed, i), so sets with different
        `seed` never share a chromosome.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    images = np.empty((count, size, size), np.uint8)
    masks = np.empty((count, size, size), np.uint8)
    patterns = []
    iterator = range(count)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="rendering SYNTHETIC chromosomes", unit="img")
    for i in iterator:
        item = render_chromosome(rng=np.random.default_rng([seed, i]), size=size)
        images[i], masks[i] = item.image, item.banded_mask
        patterns.append(item.pattern)
    return images, masks, patterns


def render_arc_chromosome(seed, size=128):
    """A SYNTHETIC chromosome made independently of `render_chromosome`, to check extraction
    on images the package renderer did not make: an annular sector (circular arc of length
    45-100 px, width 8-16 px, flat ends) with bands perpendicular to the arc, computed in
    polar coordinates, then blurred with staining noise.

    Returns (uint8 image, uint8 ground-truth banded mask 0/127/255).
    """
    rng = np.random.default_rng(seed)
    length, width, radius = rng.uniform(45, 100), rng.uniform(8, 16), rng.uniform(40, 400)
    start = rng.uniform(0, 2 * np.pi)
    middle = start + length / radius / 2
    centre = np.array([size / 2, size / 2]) - radius * np.array([np.cos(middle), np.sin(middle)])
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    distance = np.hypot(cols - centre[0], rows - centre[1])
    along = np.mod(np.arctan2(rows - centre[1], cols - centre[0]) - start, 2 * np.pi) * radius
    inside = (np.abs(distance - radius) < width / 2) & (along < length)
    band_edges = np.cumsum(rng.uniform(3, 10, 60))
    colour = (np.searchsorted(band_edges, along) + rng.integers(2)) % 2
    labels = np.where(inside, np.where(colour == 0, 0, 127), 255).astype(np.uint8)
    background = rng.uniform(190, 245)
    levels = np.zeros(256, np.float32)
    levels[[0, 127, 255]] = rng.uniform(30, 100), rng.uniform(140, background - 25), background
    image = cv2.GaussianBlur(levels[labels], (0, 0), rng.uniform(0.6, 1.1))
    image = image + rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels
