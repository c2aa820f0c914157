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

With `chromosome=` (a class "1".."22", "X", "Y", a `kc.Ideogram` or a `kc.KaryotypeChromosome`)
the renderer draws that human chromosome: its bands and stains come from the ideogram
(`kerasgan.chromosome.ideogram`, UCSC CHM13 cytobands; grey levels gneg ... gpos100 set the
stain density), the centromere constriction sits at its centromere and its length is
`relative_length * chr1_length`, so chromosomes of one karyotype rendered with the same
`chr1_length` share one scale (as in a karyogram). `pose="upright"` draws it nearly straight
and vertical with pter at the top, as a karyogram shows it. Backgrounds are white to near-white,
as in G-banded karyotypes.

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


CLASSES = tuple(str(i) for i in range(1, 23)) + ("X", "Y")
POSES = ("random", "upright")
# Stain density of a band (0 = unstained, 1 = darkest) from its ideogram grey level, with a
# per-band spread so that equal stains are not rendered identically.
_DENSITY_SPREAD = 0.08


def _centre_line(rng, length, size, pose="random"):
    """Dense centre-line points (4 per pixel) of a smooth curve of the given arc length.

    pose "upright": nearly straight and vertical, first point (pter) at the top, centred.
    """
    count = int(length * 4) + 1
    s = np.linspace(0.0, 1.0, count)
    angle = np.zeros(count)
    if pose == "upright":
        # Image rows grow downwards: direction (cos, sin) = (0, 1) walks from the top down.
        angle += np.pi / 2 + rng.normal(0, 0.04) + rng.normal(0, 0.06) * (s - 0.5)
    else:
        kind = rng.random()
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
    offset = 0.0 if pose == "upright" else rng.uniform(-0.06, 0.06, 2) * size
    points += size / 2 + offset
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


def chromosome_source(chromosome, resolution=None, rng=None):
    """The banded chromosome to draw: a class name ("1".."22", "X", "Y", or an int), an
    Ideogram, or any object with `bands` (pter -> qter, each with start, end, grey, black),
    `length`, a centromere (`centromere_fraction` or `centromere`, fraction from pter) and
    `relative_length`. A class name is looked up at `resolution` (default: 400 or 550 band
    level, drawn at random, the levels a 128 px chromosome resolves)."""
    if chromosome is None or hasattr(chromosome, "bands"):
        return chromosome
    from kerasgan.chromosome.ideogram import ideogram

    if resolution is None:
        resolution = 400 if rng is None or rng.random() < 0.6 else 550
    return ideogram(chromosome, resolution=resolution)


def _centromere_fraction(source):
    value = getattr(source, "centromere_fraction", None)
    if value is None:
        value = getattr(source, "centromere", None)
    return None if value is None else float(value)


def _ideogram_bands(source, length, rng):
    """Band edges (arc length, px), binary colours (0 black) and stain densities of `source`
    drawn over `length` px. Bands thinner than 1.5 px keep their stain in the density (they
    blur into their neighbours, as on a real slide) but their binary colour merges into the
    neighbour, since no extraction resolves them."""
    total = float(source.length)
    starts = np.array([band.start for band in source.bands], np.float64)
    ends = np.array([band.end for band in source.bands], np.float64)
    if total <= 0 or len(starts) == 0:
        raise ValueError("chromosome has no bands to draw")
    edges = np.concatenate([[0.0], ends / total * length])
    edges[-1] = length
    grey = np.array([band.grey for band in source.bands], np.float64)
    # A power below 1 lifts the intermediate stains (gpos25-75) towards dark, as a G-banded
    # slide shows them: gpos50 is clearly dark, gpos25 faint.
    density = np.clip(1.0 - grey + rng.normal(0, _DENSITY_SPREAD / 2, len(grey)), 0.0, 1.05) ** 0.75
    colours = np.array([0 if band.black else 1 for band in source.bands], np.int64)
    return edges, colours, density


def _binary_runs(edges, colours, minimum):
    """Merge runs of the same colour, then runs shorter than `minimum` px into the longer
    neighbour; returns new (edges, colours)."""
    edges, colours = list(edges), list(colours)
    changed = True
    while changed:
        changed = False
        # merge equal neighbours
        i = 0
        while i < len(colours) - 1:
            if colours[i] == colours[i + 1]:
                del colours[i + 1]
                del edges[i + 1]
                changed = True
            else:
                i += 1
        if len(colours) <= 1:
            break
        sizes = np.diff(edges)
        i = int(np.argmin(sizes))
        if sizes[i] < minimum:
            colours[i] = colours[i - 1] if i > 0 else colours[i + 1]
            changed = True
    return np.array(edges), np.array(colours)


@dataclasses.dataclass
class _Geometry:
    """Where the chromosome lies: for the pixels of a box, the nearest axis position and distance."""

    box: tuple  # (row0, row1, col0, col1) of the canvas the arrays cover
    position: np.ndarray  # arc length of the nearest axis point per pixel of the box
    distance: np.ndarray
    local_half: np.ndarray
    coverage: np.ndarray  # fraction of the pixel inside the chromosome
    length: float
    width: float


def _geometry(rng, size, length, width, pose, centromere):
    points, arc = _centre_line(rng, length, size, pose)
    # Keep the whole chromosome inside the canvas (shift; shrink is never needed at 0.85).
    low, high = points.min(0) - width, points.max(0) + width
    shift = np.clip(0 - low, 0, None) - np.clip(high - (size - 1), 0, None)
    points += shift

    # Width along the axis: rounded caps and a centromere constriction.
    half = np.full(arc.shape, width / 2)
    half *= 1 + 0.08 * np.sin(arc / length * np.pi * rng.uniform(0.5, 2) + rng.uniform(0, 6))
    if centromere is None:
        centromere = rng.uniform(0.25, 0.55) * length
        if rng.random() < 0.5:
            centromere = length - centromere
    else:
        centromere = centromere * length
        rng.random()  # keep the stream aligned with the random-centromere path
    half *= 1 - rng.uniform(0.15, 0.35) * np.exp(-((arc - centromere) / (0.06 * length + 1)) ** 2)
    cap = width / 2
    from_end = np.minimum(arc, length - arc)
    half *= np.sqrt(np.clip(1 - ((cap - np.minimum(from_end, cap)) / cap) ** 2, 0, 1))

    # Only pixels within `width` of the axis can be inside: query those (a box), not the canvas.
    low = np.floor(points.min(0) - width).astype(int)
    high = np.ceil(points.max(0) + width).astype(int) + 1
    col0, row0 = np.clip(low, 0, size)
    col1, row1 = np.clip(high, 0, size)
    yy, xx = np.mgrid[row0:row1, col0:col1].astype(np.float32)
    pixels = np.stack([xx.ravel(), yy.ravel()], 1)
    distance, index = cKDTree(points).query(pixels, distance_upper_bound=width)
    inside_tree = np.isfinite(distance)
    index = np.where(inside_tree, index, 0)
    distance = np.where(inside_tree, distance, np.inf)
    shape = (row1 - row0, col1 - col0)
    local_half = half[index]
    coverage = np.clip(local_half - distance + 0.5, 0.0, 1.0).reshape(shape)
    return _Geometry((row0, row1, col0, col1), arc[index].reshape(shape), distance.reshape(shape),
                     local_half.reshape(shape), coverage, length, width)


def _embed(values, box, size, fill):
    out = np.full((size, size), fill, dtype=np.asarray(values).dtype)
    row0, row1, col0, col1 = box
    out[row0:row1, col0:col1] = values
    return out


def _size_and_source(rng, size, length, width, chromosome, chr1_length, pose, resolution):
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}")
    if pose not in POSES:
        raise ValueError(f"pose must be one of {POSES}, got {pose!r}")
    source = chromosome_source(chromosome, resolution, rng)
    if source is None:
        if chr1_length is not None:
            raise ValueError("chr1_length sets the scale of a human chromosome: give `chromosome` too")
        length = float(length if length is not None else rng.uniform(0.35, 0.8) * size)
        width = float(width if width is not None else rng.uniform(0.065, 0.13) * size)
    else:
        if chr1_length is None:
            chr1_length = rng.uniform(0.62, 0.82) * size
        chr1_length = float(chr1_length)
        if not 0 < chr1_length <= 0.85 * size:
            raise ValueError(f"chr1_length must be in (0, {0.85 * size:g}] px at size {size}, got {chr1_length}")
        length = float(length if length is not None else float(source.relative_length) * chr1_length)
        width = float(width if width is not None else rng.uniform(0.085, 0.125) * chr1_length)
    if not (np.isfinite(length) and length > 0 and np.isfinite(width) and width > 0):
        raise ValueError(f"length and width must be positive, got {length}, {width}")
    return source, min(length, 0.85 * size), width


def _bands(rng, source, length):
    """(edges, colours, density): band edges along the axis, binary colours, stain densities."""
    if source is None:
        edges, colours = _band_sequence(rng, length)
        dark_level = rng.uniform(0.6, 1.0, len(colours))
        light_level = rng.uniform(0.0, 0.25, len(colours))
        return edges, colours, np.where(colours == 0, dark_level, light_level)
    return _ideogram_bands(source, length, rng)


def _ground_truth(edges, colours, geometry, size, source):
    """Banded mask (0/127/255) and {0,1} pattern (SAMPLES_PER_PIXEL per px of arc length)."""
    if source is not None:  # ideogram bands thinner than 1.5 px merge into a neighbour
        edges, colours = _binary_runs(edges, colours, 1.5)
    length = geometry.length
    band_of_pixel = np.clip(np.searchsorted(edges, geometry.position, side="right") - 1, 0, len(colours) - 1)
    labels = np.where(colours[band_of_pixel] == 0, BLACK, WHITE)
    inside = geometry.coverage >= 0.5
    banded_mask = _embed(np.where(inside, labels, BACKGROUND).astype(np.uint8), geometry.box, size, BACKGROUND)
    samples = np.linspace(0.0, length, int(np.floor(length * SAMPLES_PER_PIXEL)) + 1)
    band_of_sample = np.clip(np.searchsorted(edges, samples, side="right") - 1, 0, len(colours) - 1)
    return banded_mask, colours[band_of_sample].astype(np.uint8)


def render_chromosome_mask(rng=None, size=128, chromosome=None, chr1_length=None, pose="upright",
                           length=None, width=None, resolution=None, seed=None):
    """Only the shape of a chromosome and its banded mask, fast (no image synthesis): the input
    a generator draws from. Same arguments as `render_chromosome`.

    Returns (banded_mask uint8 0/127/255, pattern uint8 {0,1}).
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    source, length, width = _size_and_source(rng, size, length, width, chromosome, chr1_length, pose, resolution)
    centromere = _centromere_fraction(source) if source is not None else None
    geometry = _geometry(rng, size, length, width, pose, centromere)
    edges, colours, _ = _bands(rng, source, length)
    return _ground_truth(edges, colours, geometry, size, source)


def render_chromosome(seed=None, size=128, length=None, width=None, rng=None, chromosome=None,
                      chr1_length=None, pose="random", resolution=None):
    """Render one SYNTHETIC G-banded chromosome.

    Args:
        seed: int seed (or give `rng`, a numpy Generator).
        size: image side in pixels (square).
        length: arc length of the centre line in pixels (default U(0.35, 0.8) * size, or
            `relative_length * chr1_length` for a human chromosome).
        width: chromosome width in pixels (default U(0.065, 0.13) * size, or
            U(0.085, 0.125) * chr1_length for a human chromosome).
        chromosome: None (random banding, random centromere), a class "1".."22"/"X"/"Y", an
            Ideogram or a KaryotypeChromosome (real human banding and centromere).
        chr1_length: px length of a normal chromosome 1 at this scale (human chromosomes
            only; default U(0.62, 0.82) * size); share it across one karyotype.
        pose: "random" (bent, any angle, off-centre) or "upright" (karyogram: nearly
            straight, vertical, pter at the top, centred).
        resolution: band level (400, 550, 850) when `chromosome` is a class name.
    Returns:
        SyntheticChromosome(image uint8 H x W, pattern uint8 {0,1} of length ~arc length,
        banded_mask uint8 0/127/255).
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    source, length, width = _size_and_source(rng, size, length, width, chromosome, chr1_length, pose, resolution)
    centromere = _centromere_fraction(source) if source is not None else None
    geometry = _geometry(rng, size, length, width, pose, centromere)
    edges, colours, band_density = _bands(rng, source, length)
    box = geometry.box

    # Density along the axis: blurred step function of the band sequence.
    fine = np.linspace(0, length, int(length * 8) + 1)
    band_of_fine = np.clip(np.searchsorted(edges, fine, side="right") - 1, 0, len(colours) - 1)
    profile = ndimage.gaussian_filter1d(band_density[band_of_fine], rng.uniform(0.2, 0.8) * 8)
    density = np.interp(geometry.position, fine, profile)
    coverage = _embed(geometry.coverage, box, size, 0.0)

    # Across the width: denser centre, sometimes a pale sister-chromatid groove.
    relative = np.clip(geometry.distance / np.maximum(geometry.local_half, 1e-3), 0, 1)
    density *= 1 - rng.uniform(0.1, 0.35) * relative**2
    if rng.random() < 0.35:
        density *= 1 - rng.uniform(0.1, 0.3) * np.exp(-(relative / 0.18) ** 2)
    density = _embed(density, box, size, 0.0)
    # Staining noise: smooth multiplicative field.
    stain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), rng.uniform(1.5, 3.5))
    stain /= stain.std() + 1e-8
    density = np.clip(density * (1 + rng.uniform(0.03, 0.12) * stain), 0, 1.2)

    # White to near-white background, as G-banded karyotypes have it.
    background = rng.uniform(0.92, 1.0)
    light_absorption = rng.uniform(0.08, 0.25)
    dark_absorption = rng.uniform(0.55, 0.85)
    absorption = coverage * (light_absorption + (dark_absorption - light_absorption) * density)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    gradient = rng.uniform(-0.02, 0.02, 2)
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

    banded_mask, pattern = _ground_truth(edges, colours, geometry, size, source)
    return SyntheticChromosome(image=image, pattern=pattern, banded_mask=banded_mask)


KINDS = ("random", "ideogram")


def render_dataset(count, seed=0, size=128, progress=False, kind="random", return_classes=False):
    """`count` SYNTHETIC chromosomes as stacked arrays (images, banded_masks) and pattern list.

    kind "random": random banding and centromere (the renderer of the first zoo model);
    "ideogram": real human chromosomes, class i % 24 of ("1".."22", "X", "Y") in a shuffled
    order, at the 400 or 550 band level, each drawn at its own random chr1 scale and pose.
    Returns:
        images uint8 (count, size, size), banded_masks uint8 (count, size, size), patterns
        (list of uint8 {0,1} vectors), and with `return_classes` the class of each image ("" for
        random ones). Chromosome i uses seed (seed, i) (ideogram: (seed, i, 1)), so sets with
        different `seed` never share a chromosome.
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise TypeError(f"count must be an int, got {count!r}")
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    images = np.empty((count, size, size), np.uint8)
    masks = np.empty((count, size, size), np.uint8)
    patterns, classes = [], []
    order = np.random.default_rng([seed, 7]).permutation(count) % len(CLASSES) if kind == "ideogram" else None
    iterator = range(count)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=f"rendering SYNTHETIC chromosomes ({kind})", unit="img")
    for i in iterator:
        if kind == "ideogram":
            name = CLASSES[int(order[i])]
            item = render_chromosome(rng=np.random.default_rng([seed, i, 1]), size=size, chromosome=name)
        else:
            name = ""
            item = render_chromosome(rng=np.random.default_rng([seed, i]), size=size)
        images[i], masks[i] = item.image, item.banded_mask
        patterns.append(item.pattern)
        classes.append(name)
    if return_classes:
        return images, masks, patterns, classes
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
