"""Banding-pattern extraction f_BPE and back-projection f_SEG (Uzolas et al. 2021, section 2.1).

    f_BPE(y_real) = bp_real in {0, 1}^K          f_SEG(bp, s) = x in {0, 127, 255}^(M x N)

f_BPE: binary shape mask s (a threshold just below the background, so light bands close to it
are kept; largest component; holes filled) -> medial axis approximated by a few line segments
from one end to the other (skeleton -> longest path -> polyline, extended to the tips) ->
a perpendicular line at every axis point, its angle interpolated between neighbouring
segments -> density profile = mean grey level along each line -> a non-linear filter that
makes every band uniform (peaks = black bands, valleys = white bands, band edges at the
half-level crossing, ambiguous saddle plateaus split in two) -> bp.

f_SEG: every pattern value replicated along its perpendicular line inside the shape mask;
mask pixels no line reached (outer side of bends) take the nearest sampled pixel's value.
Output 0 = black band, 127 = white band, 255 = background. A pattern of any length projects
onto any shape: it is resampled (nearest) to the number of axis points.

Conventions: images are grayscale (uint8, uint16 or float), a dark chromosome on a light
background; pattern value 0 = black (dark, G-positive) band, 1 = white (light) band.
"""

import collections
import dataclasses
import hashlib

import cv2
import numpy as np
from scipy import ndimage
from skimage.measure import approximate_polygon
from skimage.morphology import skeletonize

BLACK, WHITE, BACKGROUND = 0, 127, 255
DELTA_SPREAD, DELTA_NOISE = 0.1, 0.0
TRIM, PATH_SMOOTH = 0.8, 0.0
# A skeleton branch off the axis longer than this many half-widths (the median along the axis;
# and 15 % of the axis, and 8 px) means two chromosomes touch or overlap in a T or X. Forks at a
# single chromosome's tips stay under 1.5 median half-widths (600 renders); the stub of a T
# measured 3.0-3.4. (The maximum half-width, used before, is inflated by the overlap itself,
# and a quarter of the axis let T-shapes through as one chromosome of their joint length.)
BRANCH_LIMIT = 2.5
BRANCH_MIN_SHARE = 0.15
# Axis points (pattern values) per pixel of medial-axis length: 2 halves the quantisation of
# band edges (a quarter pixel on average instead of half).
SAMPLES_PER_PIXEL = 2
REFINE = True
TIP_GUARD = 2.5  # pixels
_LINE_STEP = 0.5  # sampling step along a perpendicular line, pixels
_MIN_SIDE = 8


# ----------------------------------------------------------------------------- input checks


def as_gray_float(image, name="image"):
    """Validate a grayscale image and return it as float32 in its own value scale.

    Accepts H x W or H x W x 1 (H x W x 3/4 colour is converted to luminance) of dtype
    uint8, uint16 or float. Raises TypeError for other dtypes, ValueError for other shapes,
    NaN/inf, or an image smaller than 8 x 8.
    """
    if isinstance(image, (str, bytes)) or image is None:
        raise TypeError(f"{name} must be a numpy array (H x W grayscale), got {type(image).__name__}")
    array = np.asarray(image)
    if array.dtype == bool or not (
        array.dtype in (np.uint8, np.uint16) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} has dtype {array.dtype}; expected uint8, uint16 or float (grayscale image)"
        )
    if array.ndim >= 2 and min(array.shape[:2]) < _MIN_SIDE:
        # Before any OpenCV call: an empty or tiny image must fail here, naming the input.
        raise ValueError(f"{name} is too small: shape {array.shape}, need at least 8 x 8 pixels")
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = cv2.cvtColor(np.ascontiguousarray(array[..., :3]).astype(np.float32), cv2.COLOR_RGB2GRAY)
    elif array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a single grayscale image H x W (or H x W x 1), got shape {array.shape}"
        )
    if min(array.shape) < _MIN_SIDE:
        raise ValueError(f"{name} is too small: shape {array.shape}, need at least 8 x 8 pixels")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_pattern(pattern, name="pattern"):
    """Validate a banding pattern: 1-D, non-empty, values in {0, 1}. Returns it as uint8."""
    if isinstance(pattern, (str, bytes)) or pattern is None:
        raise TypeError(f"{name} must be a 1-D array of 0/1 values, got {type(pattern).__name__}")
    array = np.asarray(pattern)
    if array.dtype == object or not (
        array.dtype == bool or np.issubdtype(array.dtype, np.number)
    ):
        raise TypeError(f"{name} has dtype {array.dtype}; expected a numeric or bool 0/1 vector")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} has length 0; a banding pattern needs at least one value")
    if array.dtype != bool:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
        bad = (array != 0) & (array != 1)
        if bad.any():
            raise ValueError(
                f"{name} must be binary (0 = black band, 1 = white band); found values "
                f"{np.unique(array[bad])[:5].tolist()}"
            )
    return array.astype(np.uint8)


def check_shape_mask(mask, name="shape mask"):
    """Validate a binary shape mask (bool, {0,1} or {0,255}; nonzero = chromosome)."""
    if isinstance(mask, (str, bytes)) or mask is None:
        raise TypeError(f"{name} must be a 2-D array, got {type(mask).__name__}")
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H x W), got shape {array.shape}")
    if min(array.shape) < _MIN_SIDE:
        raise ValueError(f"{name} is too small: shape {array.shape}, need at least 8 x 8")
    if array.dtype != bool:
        if not (np.issubdtype(array.dtype, np.number)):
            raise TypeError(f"{name} has dtype {array.dtype}; expected bool or integer 0/1")
        values = np.unique(array)
        if values.size > 2:
            raise ValueError(
                f"{name} must be binary (bool, 0/1 or 0/255); found {values.size} distinct values "
                "(pass shape_mask(image), or banded_mask != 255 for a banded mask)"
            )
        array = array != 0
    if not array.any():
        raise ValueError(f"{name} is empty (no chromosome pixel)")
    return array


# ----------------------------------------------------------------------------- shape mask


@dataclasses.dataclass
class _Levels:
    background: np.ndarray  # H x W plane
    noise: float
    contrast: float
    absorption: np.ndarray  # background - smoothed image


def _fit_surface(values, rows, cols, shape, keep, rounds):
    """Quadratic surface through (rows, cols, values), dropping darker outliers one-sidedly."""
    height, width = shape
    x, y = cols / width - 0.5, rows / height - 0.5
    design = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], 1)
    for _ in range(rounds):
        chosen = design[keep]
        coefficients = np.linalg.solve(chosen.T @ chosen + 1e-6 * np.eye(6), chosen.T @ values[keep])
        residual = values - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residual[keep])) + 1e-9
        updated = (residual > -2.5 * spread) & (residual < 4 * spread)
        if updated.sum() < 12:
            break
        keep = updated
    xs = np.arange(width) / width - 0.5
    ys = np.arange(height) / height - 0.5
    c = coefficients
    # Separable terms per row/column plus one outer product: no full-size float64 temporaries.
    surface = np.outer(ys, c[5] * xs).astype(np.float32)
    surface += (c[0] + c[2] * ys + c[4] * ys * ys).astype(np.float32)[:, None]
    surface += (c[1] * xs + c[3] * xs * xs).astype(np.float32)[None, :]
    return surface, float(spread)


def _background_levels(smooth, name):
    """Background surface, its noise sigma and the chromosome contrast.

    A quadratic surface (uneven illumination, vignetting) is fitted first to the image
    border (background even in tight crops, where light bands outnumber the background
    pixels), then to every pixel near that first surface; darker outliers (light bands,
    chromosome ends touching the border) are dropped one-sidedly at each refit.
    """
    low, high = float(smooth.min()), float(smooth.max())
    if high - low <= 1e-6 * max(1.0, abs(high)):
        raise ValueError(f"{name} is uniform (no chromosome to find)")
    height, width = smooth.shape
    ring = np.zeros(smooth.shape, bool)
    ring[:2], ring[-2:], ring[:, :2], ring[:, -2:] = True, True, True, True
    rows, cols = np.nonzero(ring)
    values = smooth[rows, cols].astype(np.float64)
    keep = values >= np.percentile(values, 60)
    surface, spread = _fit_surface(values, rows, cols, smooth.shape, keep, 4)
    near = (smooth - surface) > -4 * spread
    rows, cols = np.nonzero(near)
    step = max(1, rows.size // 3000)
    rows, cols = rows[::step], cols[::step]
    values = smooth[rows, cols].astype(np.float64)
    surface, spread = _fit_surface(values, rows, cols, smooth.shape, np.ones(values.size, bool), 3)
    noise = spread + 1e-6 * (high - low)
    absorption = surface - smooth
    chromosome = absorption[absorption > 4 * noise]
    if chromosome.size == 0:
        return _Levels(surface, noise, 0.0, absorption)
    position = int(0.98 * (chromosome.size - 1))
    dark = float(np.partition(chromosome, position)[position])
    return _Levels(surface, noise, dark, absorption)


def _bounding_box(mask, margin):
    left, top, box_width, box_height = cv2.boundingRect(mask.astype(np.uint8))
    bottom, right = min(top + box_height + margin, mask.shape[0]), min(left + box_width + margin, mask.shape[1])
    top, left = max(top - margin, 0), max(left - margin, 0)
    return slice(top, bottom), slice(left, right)


def _fill_holes(mask):
    """Fill holes: flood the background from outside; whatever it cannot reach is a hole."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, flood, (0, 0), 2)
    return (padded != 2)[1:-1, 1:-1]


def _close(mask):
    """Morphological closing with a disk of ~2.5 half-widths (bridges light bands), by
    thresholding Euclidean distance transforms (fast at any radius). The image edge is
    padded by replication, so a chromosome cut by the frame is not eroded from there."""
    half_width = float(cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3).max())
    radius = float(np.clip(round(2.5 * half_width), 3, 20))
    pad = int(radius) + 2
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    dilated = cv2.distanceTransform(1 - padded, cv2.DIST_L2, 5) <= radius
    closed = cv2.distanceTransform(dilated.astype(np.uint8), cv2.DIST_L2, 5) > radius
    return closed[pad:-pad, pad:-pad] | mask


def _shape_mask_and_levels(gray, name="image"):
    smooth = cv2.GaussianBlur(gray, (0, 0), 1.0)
    levels = _background_levels(smooth, name)
    if levels.contrast < 6 * levels.noise or levels.contrast <= 0:
        raise ValueError(
            f"{name} contains no chromosome: nothing is clearly darker than the background "
            f"(contrast {levels.contrast:.3g} vs background noise {levels.noise:.3g}); expected "
            "a dark chromosome on a light background"
        )
    # Two thresholds instead of Otsu's, which cuts off light bands close to the background:
    # a firm one (a quarter of the contrast) puts the edges of dark bands near their half
    # level; light bands it misses are bridged by a closing of the firm mask and kept where
    # they are darker than a loose threshold just above the background noise.
    loose = levels.absorption > max(3 * levels.noise, 0.02 * levels.contrast)
    firm = levels.absorption > max(4 * levels.noise, 0.25 * levels.contrast)
    if firm.any():
        candidate = firm | (_close(firm) & loose)
    else:
        candidate = loose
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    count -= 1  # label 0 is the background
    if count == 0:
        raise ValueError(f"{name} contains no chromosome (all background)")
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(areas)[::-1]
    largest = areas[order[0]]
    if largest < 12:
        raise ValueError(
            f"{name} contains no chromosome: the largest dark region has only {largest} pixels"
        )
    if count > 1:
        second = areas[order[1]]
        if second >= max(0.3 * largest, 40):
            raise ValueError(
                f"{name} contains several chromosomes (dark regions of {largest} and {second} "
                "pixels); crop it to a single chromosome first"
            )
    mask = _fill_holes(labels == order[0] + 1)
    if mask.all():
        raise ValueError(f"{name} has no background: the chromosome fills the whole image")
    return mask, levels


def shape_mask(image, dark_background=False):
    """Binary shape mask s of the single chromosome in a grayscale image (bool H x W).

    Not Otsu's threshold, which cuts off light bands close to the background: the background
    is a fitted surface (uneven illumination, vignetting); a firm threshold (a quarter of the
    chromosome contrast) finds the chromosome, a closing bridges light bands and keeps them
    where they are darker than a loose threshold just above the background noise; largest
    component, holes filled; finally every edge is moved to the half-maximum of its
    cross-section along the perpendicular lines (the edge of a blurred step).

    Raises ValueError for an empty/uniform image, an image with several chromosomes (a second
    dark region at least 30% of the largest), or a chromosome that fills the whole image.
    """
    return _segment(image, dark_background)[1]


# ----------------------------------------------------------------------------- medial axis


def _longest_skeleton_path(skeleton):
    """Pixel coordinates (x, y) of the longest path through a skeleton (8-connected).

    Tree diameter by two breadth-first sweeps (the skeleton of a hole-free shape is a tree;
    with loops this is still a long path). Plain Python on ~100 pixels beats building a
    sparse graph.
    """
    rows, cols = np.nonzero(skeleton)
    count = rows.size
    if count < 2:
        return None
    index = np.full((skeleton.shape[0] + 2, skeleton.shape[1] + 2), -1, np.int64)
    index[rows + 1, cols + 1] = np.arange(count)
    offsets = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    neighbours = np.stack([index[rows + 1 + dy, cols + 1 + dx] for dy, dx in offsets], 1)
    adjacency = [[int(n) for n in row if n >= 0] for row in neighbours]

    def sweep(start):
        parent = [-2] * count
        parent[start] = -1
        queue = collections.deque([start])
        last = start
        while queue:
            last = queue.popleft()
            for n in adjacency[last]:
                if parent[n] == -2:
                    parent[n] = last
                    queue.append(n)
        return last, parent

    start, _ = sweep(0)
    end, parent = sweep(start)
    path = [end]
    while parent[path[-1]] >= 0:
        path.append(parent[path[-1]])
    path = np.array(path[::-1])
    return np.stack([cols[path], rows[path]], 1).astype(np.float64)


def _longest_branch(skeleton, path):
    """(length in pixels, fork point x/y) of the longest skeleton branch off `path`.

    A single chromosome's skeleton is its axis plus short forks at the tips; two chromosomes
    that touch or overlap in a T or X leave a long branch off the longest path.
    """
    rows, cols = np.nonzero(skeleton)
    if rows.size == 0:
        return 0, None
    index = np.full((skeleton.shape[0] + 2, skeleton.shape[1] + 2), -1, np.int64)
    index[rows + 1, cols + 1] = np.arange(rows.size)
    offsets = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    neighbours = np.stack([index[rows + 1 + dy, cols + 1 + dx] for dy, dx in offsets], 1)
    depth = np.full(rows.size, -1, np.int64)
    origin = np.full(rows.size, -1, np.int64)
    on_path = index[path[:, 1].astype(int) + 1, path[:, 0].astype(int) + 1]
    on_path = on_path[on_path >= 0]
    depth[on_path] = 0
    origin[on_path] = on_path
    queue = collections.deque(int(i) for i in on_path)
    while queue:
        node = queue.popleft()
        for n in neighbours[node]:
            if n >= 0 and depth[n] < 0:
                depth[n] = depth[node] + 1
                origin[n] = origin[node]
                queue.append(int(n))
    far = int(np.argmax(depth))
    if depth[far] <= 0:
        return 0, None
    fork = origin[far]
    return int(depth[far]), (int(cols[fork]), int(rows[fork]))


def _extend_to_boundary(point, direction, mask, limit):
    """Walk from `point` along `direction` while inside `mask`; return the last inside point."""
    height, width = mask.shape
    steps = np.arange(0.5, limit, 0.5)
    trail = point[None] + steps[:, None] * direction[None]
    x = np.round(trail[:, 0]).astype(int)
    y = np.round(trail[:, 1]).astype(int)
    valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    inside = np.zeros(steps.size, bool)
    inside[valid] = mask[y[valid], x[valid]]
    run = np.cumprod(inside).astype(bool)
    if not run.any():
        return point
    return trail[int(run.sum()) - 1]


def medial_axis_polyline(mask, tolerance=1.5):
    """Medial axis of a shape mask as a polyline (V x 2, x/y) from one tip to the other.

    skeleton (scikit-image) -> longest path -> its ends trimmed by the local half-width
    (skeleton ends fork towards corners) -> Douglas-Peucker polyline with `tolerance` pixels
    -> both end segments extended straight to the mask boundary.
    """
    mask = check_shape_mask(mask)
    # All the work happens on the bounding box (plus a margin); coordinates shift back at the end.
    box = _bounding_box(mask, 3)
    offset = np.array([box[1].start, box[0].start], np.float64)
    return _medial_axis_polyline(mask[box], tolerance) + offset


def _medial_axis_polyline(mask, tolerance):
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    half_width = float(distance.max())
    # A light smoothing of the mask keeps boundary noise from sprouting skeleton branches.
    smoothed = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0) > 0.5
    if smoothed.sum() < 0.5 * mask.sum():
        smoothed = mask
    skeleton = skeletonize(smoothed)
    path = _longest_skeleton_path(skeleton)
    if path is not None and len(path) >= 3:
        branch, fork = _longest_branch(skeleton, path)
        axis_half_width = float(np.median(distance[path[:, 1].astype(int), path[:, 0].astype(int)]))
        if branch > max(BRANCH_LIMIT * axis_half_width, BRANCH_MIN_SHARE * len(path), 8):
            raise ValueError(
                f"the shape looks like several touching or overlapping chromosomes: its medial axis "
                f"forks at (x={fork[0]}, y={fork[1]}) of the cropped box into a branch of {branch} px "
                f"(a single chromosome's forks stay under {BRANCH_LIMIT:g} half-widths, "
                f"{BRANCH_LIMIT * axis_half_width:.0f} px); cut them apart first"
            )
    if path is None or len(path) < 3:
        # Blob too small for a skeleton: use its principal direction through the centroid.
        ys, xs = np.nonzero(mask)
        centre = np.array([xs.mean(), ys.mean()])
        coords = np.stack([xs, ys], 1) - centre
        _, _, vt = np.linalg.svd(coords, full_matrices=False)
        direction = vt[0]
        limit = 2 * max(mask.shape)
        return np.stack([
            _extend_to_boundary(centre, -direction, mask, limit),
            _extend_to_boundary(centre, direction, mask, limit),
        ])
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    trim = min(TRIM * half_width, 0.3 * arc[-1])
    keep = (arc >= trim) & (arc <= arc[-1] - trim)
    if keep.sum() >= 2:
        path = path[keep]
    if PATH_SMOOTH > 0 and len(path) > 4:
        # Skeleton paths zig-zag by a pixel; smooth them so segment angles follow the shape.
        path = ndimage.gaussian_filter1d(path, PATH_SMOOTH, axis=0, mode="nearest")
    polyline = approximate_polygon(path, tolerance=tolerance)
    if len(polyline) < 2:
        polyline = path[[0, -1]]
    limit = 4 * half_width + 4
    polyline = polyline.copy()
    for end, inner in ((0, 1), (-1, -2)):
        vector = polyline[end] - polyline[inner]
        norm = np.linalg.norm(vector)
        if norm > 1e-9:
            polyline[end] = _extend_to_boundary(polyline[end], vector / norm, mask, limit)
    return polyline


# ----------------------------------------------------------------------------- lines


@dataclasses.dataclass
class PerpendicularLines:
    """Perpendicular lines P_k at the K axis points of one shape (what f_SEG reuses).

    Attributes:
        shape: the bool shape mask (H x W).
        polyline: medial-axis polyline vertices (V x 2, x/y).
        axis_points: K x 2 axis points (x/y), one per pixel of arc length, tip to tip.
        angles: K normal angles (radians), interpolated between segments.
        offsets: L signed distances of the samples from the axis point along each line.
        rows, cols: K x L integer pixel coordinates of the line samples.
        inside: K x L bool, sample is in the mask and connected to the axis point.
    """

    shape: np.ndarray
    polyline: np.ndarray
    axis_points: np.ndarray
    angles: np.ndarray
    offsets: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    _index_map: np.ndarray = dataclasses.field(default=None, repr=False)

    def __len__(self):
        return len(self.axis_points)

    @property
    def index_map(self):
        """int32 H x W: the axis index k each chromosome pixel takes its value from, -1 outside.

        Lines are written far-to-near so the sample closest to its axis point wins where lines
        cross; mask pixels no line reached take their nearest sampled pixel's index.
        """
        if self._index_map is None:
            self._index_map = _projection_index_map(self)
        return self._index_map

    def pixels_of_line(self, k):
        """(rows, cols) of the pixels P_k of line k (inside the shape)."""
        keep = self.inside[k]
        return self.rows[k][keep], self.cols[k][keep]


def _refit_ends(polyline, mask):
    """Re-extend a polyline's end segments to the boundary of a (slightly changed) mask."""
    polyline = polyline.copy()
    limit = 0.25 * sum(mask.shape)
    for end, inner in ((0, 1), (-1, -2)):
        vector = polyline[end] - polyline[inner]
        norm = np.linalg.norm(vector)
        if norm <= 1e-9:
            continue
        direction = vector / norm
        start = polyline[end] - direction * min(4.0, 0.5 * norm)
        polyline[end] = _extend_to_boundary(start, direction, mask, limit)
    return polyline


def perpendicular_lines(mask, tolerance=1.5, polyline=None):
    """Perpendicular lines at every axis point (SAMPLES_PER_PIXEL per pixel of arc length).

    The angle of each line is interpolated (linearly in arc length) between the normals of
    neighbouring segments, anchored at segment midpoints, so bends are not over- or
    under-sampled as with one angle per segment. `polyline` reuses a medial axis found for a
    nearly identical mask (its ends are re-extended to this mask's boundary).
    """
    mask = check_single_region(check_shape_mask(mask))
    if polyline is None:
        polyline = medial_axis_polyline(mask, tolerance)
    else:
        polyline = _refit_ends(np.asarray(polyline, np.float64), mask)
    segments = np.diff(polyline, axis=0)
    lengths = np.linalg.norm(segments, axis=1)
    keep = lengths > 1e-9
    if not keep.any():
        segments, lengths = np.array([[1.0, 0.0]]), np.array([1e-9])
        polyline = np.stack([polyline[0], polyline[0]])
    else:
        polyline = np.concatenate([polyline[:1], polyline[1:][keep]])
        segments, lengths = segments[keep], lengths[keep]
    vertex_arc = np.concatenate([[0.0], np.cumsum(lengths)])
    total = vertex_arc[-1]
    count = int(np.floor(total * SAMPLES_PER_PIXEL)) + 1
    arc = np.linspace(0.0, total, count) if count > 1 else np.array([0.0])
    points = np.stack([np.interp(arc, vertex_arc, polyline[:, 0]), np.interp(arc, vertex_arc, polyline[:, 1])], 1)
    directions = np.unwrap(np.arctan2(segments[:, 1], segments[:, 0]))
    midpoints = (vertex_arc[:-1] + vertex_arc[1:]) / 2
    angles = np.interp(arc, midpoints, directions) + np.pi / 2

    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    reach = 2.0 * float(distance.max()) + 2.0
    offsets = np.arange(-reach, reach + 1e-9, _LINE_STEP)
    normal = np.stack([np.cos(angles), np.sin(angles)], 1)
    xs = points[:, :1] + offsets[None] * normal[:, :1]
    ys = points[:, 1:] + offsets[None] * normal[:, 1:]
    cols = np.round(xs).astype(np.int32)
    rows = np.round(ys).astype(np.int32)
    height, width = mask.shape
    valid = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    inside = np.zeros(cols.shape, bool)
    inside[valid] = mask[rows[valid], cols[valid]]
    # Only the run through the axis point: a line must not jump into another arm of a bend.
    centre = len(offsets) // 2
    inside[:, centre:] = np.cumprod(inside[:, centre:], axis=1).astype(bool)
    inside[:, : centre + 1] = np.cumprod(inside[:, centre::-1], axis=1)[:, ::-1].astype(bool)
    np.clip(cols, 0, width - 1, out=cols)
    np.clip(rows, 0, height - 1, out=rows)
    return PerpendicularLines(mask, polyline, points, angles, offsets, rows, cols, inside)


def _projection_index_map(lines):
    box = _bounding_box(lines.shape, 2)
    top, left = box[0].start, box[1].start
    crop = PerpendicularLines(
        lines.shape[box], lines.polyline, lines.axis_points - np.array([left, top]), lines.angles,
        lines.offsets, lines.rows - top, lines.cols - left, lines.inside,
    )
    index = np.full(lines.shape.shape, -1, np.int32)
    index[box] = _projection_index_map_in_box(crop)
    return index


def _projection_index_map_in_box(lines):
    height, width = lines.shape.shape
    flat = np.full(height * width, -1, np.int32)
    count = len(lines)
    k_of_sample = np.broadcast_to(np.arange(count, dtype=np.int32)[:, None], lines.inside.shape)
    pick = lines.inside
    normal_x, normal_y = np.cos(lines.angles)[:, None], np.sin(lines.angles)[:, None]
    xs = (lines.axis_points[:, :1] + lines.offsets[None] * normal_x)[pick]
    ys = (lines.axis_points[:, 1:] + lines.offsets[None] * normal_y)[pick]
    rows, cols, ks = lines.rows[pick], lines.cols[pick], k_of_sample[pick]
    # Where several samples fall in one pixel, the one closest to the pixel centre wins:
    # write worst-first, numpy keeps the last write.
    error = (xs - cols) ** 2 + (ys - rows) ** 2
    order = np.argsort(-error, kind="stable")
    flat[(rows * width + cols)[order]] = ks[order]
    index = flat.reshape(height, width)
    index[~lines.shape] = -1
    unsampled = lines.shape & (index < 0)
    if unsampled.any():
        sampled = index >= 0
        _, (near_rows, near_cols) = ndimage.distance_transform_edt(~sampled, return_indices=True)
        index[unsampled] = index[near_rows[unsampled], near_cols[unsampled]]
    return index


# ----------------------------------------------------------------------------- profile -> pattern


def density_profile(image, lines, background=None, contrast=None):
    """Density (darkness) along the axis: mean grey level of each line, as absorption.

    Returns K floats: (background - mean grey level) / contrast, ~0 for the background and
    ~1 for the darkest band. Without `background`/`contrast` they are estimated.
    """
    gray = as_gray_float(image)
    if background is None or contrast is None:
        levels = _background_levels(cv2.GaussianBlur(gray, (0, 0), 1.0), "image")
        background, contrast = levels.background, max(levels.contrast, 1e-6)
    background = np.broadcast_to(np.asarray(background, np.float32), gray.shape)
    # Absorption (background minus grey level) per sample: an uneven background cancels.
    values = background[lines.rows, lines.cols] - gray[lines.rows, lines.cols]
    weight = lines.inside.astype(np.float32)
    total = weight.sum(1)
    mean = (values * weight).sum(1) / np.maximum(total, 1)
    empty = total == 0
    if empty.any() and not empty.all():
        k = np.arange(len(mean))
        mean[empty] = np.interp(k[empty], k[~empty], mean[~empty])
    return mean / contrast


def _zigzag_extrema(profile, delta):
    """Alternating peaks (+1) and valleys (-1) whose swing is at least `delta` (hysteresis)."""
    extrema = []
    direction = 0
    i_max = i_min = 0
    for i in range(1, len(profile)):
        value = profile[i]
        if direction >= 0 and value > profile[i_max]:
            i_max = i
        if direction <= 0 and value < profile[i_min]:
            i_min = i
        if direction == 0:
            if profile[i_max] - value >= delta:
                extrema.append((i_max, 1))
                direction, i_min = -1, i
            elif value - profile[i_min] >= delta:
                extrema.append((i_min, -1))
                direction, i_max = 1, i
        elif direction == 1 and profile[i_max] - value >= delta:
            extrema.append((i_max, 1))
            direction, i_min = -1, i
        elif direction == -1 and value - profile[i_min] >= delta:
            extrema.append((i_min, -1))
            direction, i_max = 1, i
    if direction == 1:
        extrema.append((i_max, 1))
    elif direction == -1:
        extrema.append((i_min, -1))
    return extrema


def _band_edge(profile, start, stop, low, high):
    """Edge between two extrema: middle of the ambiguous zone around the half-level crossing.

    A clean edge gives its half-level crossing; a saddle plateau at mid level is split in two,
    each half going to its neighbouring band.
    """
    segment = profile[start : stop + 1]
    level = (low + high) / 2
    band = 0.2 * abs(high - low)
    ambiguous = np.abs(segment - level) <= band
    rising = profile[stop] > profile[start]
    above = segment > level if rising else segment < level
    cross = int(np.argmax(above)) if above.any() else len(segment) - 1
    if not ambiguous.any():
        # Linear interpolation of the crossing between cross-1 and cross.
        if cross == 0:
            return float(start)
        a, b = segment[cross - 1], segment[cross]
        fraction = (level - a) / (b - a) if b != a else 0.5
        return start + cross - 1 + float(np.clip(fraction, 0, 1)) + 0.5
    # The ambiguous run that contains (or is nearest to) the crossing.
    candidates = np.flatnonzero(ambiguous)
    nearest = int(candidates[np.argmin(np.abs(candidates - cross))])
    first = nearest
    while first > 0 and ambiguous[first - 1]:
        first -= 1
    last = nearest
    while last + 1 < len(ambiguous) and ambiguous[last + 1]:
        last += 1
    return start + (first + last + 1) / 2.0


def uniform_band_profile(profile, delta=None):
    """The non-linear filter: each band of the density profile made uniform.

    Returns (filtered, pattern): `filtered` holds, at every axis point, the level of the band's
    extremum (peak = black band, valley = white band); `pattern` is the {0,1} banding pattern
    (0 = black, 1 = white). Extrema come from a hysteresis (zig-zag) search with minimum swing
    `delta` (default: 10% of the profile's 2-98 percentile range, at least 3 noise sigmas).
    """
    profile = np.asarray(profile, dtype=np.float64)
    count = len(profile)
    smooth = ndimage.gaussian_filter1d(profile, 0.4 * SAMPLES_PER_PIXEL, mode="nearest") if count > 3 else profile
    if delta is None:
        spread = np.percentile(smooth, 98) - np.percentile(smooth, 2)
        # Noise from the residual of a stronger smoothing: its median ignores the few band edges.
        residual = profile - ndimage.gaussian_filter1d(profile, 2.0, mode="nearest")
        noise = 1.4826 * np.median(np.abs(residual - np.median(residual)))
        delta = max(DELTA_SPREAD * spread, DELTA_NOISE * noise, 0.02)
    extrema = _zigzag_extrema(smooth, delta)
    if not extrema:
        value = float(smooth.mean())
        colour = 0 if value >= 0.5 else 1
        return np.full(count, value), np.full(count, colour, np.uint8)
    edges = [0.0]
    for (i, _), (j, _) in zip(extrema[:-1], extrema[1:]):
        edges.append(_band_edge(smooth, i, j, min(smooth[i], smooth[j]), max(smooth[i], smooth[j])))
    edges.append(float(count))
    # The density falls off over the last pixel or two at each tip (short, blurred lines): a
    # light "band" narrower than that ramp at either end belongs to its neighbour.
    guard = TIP_GUARD * SAMPLES_PER_PIXEL
    if len(extrema) > 1 and extrema[-1][1] < 0 and edges[-1] - edges[-2] < guard:
        extrema, edges = extrema[:-1], edges[:-2] + [edges[-1]]
    if len(extrema) > 1 and extrema[0][1] < 0 and edges[1] - edges[0] < guard:
        extrema, edges = extrema[1:], [edges[0]] + edges[2:]
    centres = np.arange(count) + 0.5
    band = np.clip(np.searchsorted(np.asarray(edges), centres, side="right") - 1, 0, len(extrema) - 1)
    kinds = np.array([kind for _, kind in extrema])
    levels = np.array([smooth[i] for i, _ in extrema])
    pattern = np.where(kinds[band] > 0, 0, 1).astype(np.uint8)
    return levels[band], pattern


# ----------------------------------------------------------------------------- public API


@dataclasses.dataclass
class Extraction:
    """Everything f_BPE computes for one image (for plots and reuse)."""

    pattern: np.ndarray
    lines: PerpendicularLines
    profile: np.ndarray
    filtered_profile: np.ndarray


def _refine_mask(mask, lines, absorption):
    """Move the mask edge to the half-maximum of each cross-section (the edge of a blurred
    step), so dark and light bands both get their true width.

    Along every perpendicular line the core absorption is the mean of the central half of its
    samples; a pixel near the chromosome belongs to it when its absorption exceeds half the
    core value of the line it projects to. A threshold per line, not per neighbourhood, so a
    light band next to a dark one is judged against itself.
    """
    inside = lines.inside
    values = absorption[lines.rows, lines.cols]
    centre = inside.shape[1] // 2
    half_length = inside.sum(1, keepdims=True) / 2.0
    core = inside & (np.abs(np.arange(inside.shape[1]) - centre)[None] * _LINE_STEP <= np.maximum(half_length * _LINE_STEP / 2, 1.0))
    core_value = (values * core).sum(1) / np.maximum(core.sum(1), 1)
    core_value = ndimage.gaussian_filter1d(core_value, SAMPLES_PER_PIXEL * 0.75, mode="nearest")
    index = lines.index_map
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    _, (near_rows, near_cols) = ndimage.distance_transform_edt(index < 0, return_indices=True)
    nearest = index[near_rows, near_cols]
    refined = grown & (absorption > 0.5 * core_value[nearest])
    count, labels, stats, _ = cv2.connectedComponentsWithStats(refined.astype(np.uint8), connectivity=8)
    if count < 2:
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    refined = _fill_holes(labels == largest)
    # Keep the refinement only if it is a modest correction of the threshold mask.
    if refined.sum() < 0.6 * mask.sum():
        return mask
    return refined


def _segment(image, dark_background=False, tolerance=1.5):
    gray = as_gray_float(image)
    if dark_background:
        gray = -gray
    mask, levels = _shape_mask_and_levels(gray, "image")
    # Everything after the threshold works on the chromosome's bounding box (plus a margin):
    # 3-6x fewer pixels than the frame for the distance transforms and skeleton.
    box = _bounding_box(mask, 6)
    crop_mask, crop_absorption = mask[box], levels.absorption[box]
    lines = perpendicular_lines(crop_mask, tolerance)
    if REFINE:
        crop_mask = _refine_mask(crop_mask, lines, crop_absorption)
        lines = perpendicular_lines(crop_mask, tolerance)
    full_mask = np.zeros_like(mask)
    full_mask[box] = crop_mask
    return gray, full_mask, _shift_lines(lines, box, full_mask), levels


def _shift_lines(lines, box, full_mask):
    """Lines found on a crop, expressed in the full frame."""
    top, left = box[0].start, box[1].start
    shift = np.array([left, top], np.float64)
    return PerpendicularLines(
        full_mask, lines.polyline + shift, lines.axis_points + shift, lines.angles, lines.offsets,
        lines.rows + top, lines.cols + left, lines.inside,
    )


def extract(image, dark_background=False, tolerance=1.5):
    """Run f_BPE and return an `Extraction` (pattern, lines, density and filtered profiles)."""
    gray, mask, lines, levels = _segment(image, dark_background, tolerance)
    profile = density_profile(gray, lines, levels.background, max(levels.contrast, 1e-6))
    filtered, pattern = uniform_band_profile(profile)
    return Extraction(pattern, lines, profile, filtered)


def banding_pattern(image, return_lines=False, dark_background=False):
    """f_BPE: the binary banding pattern of a single-chromosome image.

    Args:
        image: grayscale H x W (or H x W x 1) uint8, uint16 or float array, a dark chromosome
            on a light background (`dark_background=True` for the opposite).
        return_lines: also return the `PerpendicularLines`, which `back_project` reuses.
    Returns:
        uint8 vector in {0, 1} (0 = black band, 1 = white band), one value per pixel of
        medial-axis length, from one tip to the other; with `return_lines`, (pattern, lines).
    Raises:
        TypeError/ValueError: wrong dtype or shape, NaN, empty/uniform image, or several
        chromosomes in the image.
    """
    result = extract(image, dark_background=dark_background)
    return (result.pattern, result.lines) if return_lines else result.pattern


_GEOMETRY_CACHE = collections.OrderedDict()
_GEOMETRY_CACHE_SIZE = 256


def check_single_region(mask, name="shape mask"):
    """A chromosome's shape is one 8-connected region: refuse several (f_SEG along one axis
    would paint the bands of one chromosome across all of them)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count - 1 > 1:
        areas = sorted(stats[1:, cv2.CC_STAT_AREA].tolist(), reverse=True)
        raise ValueError(f"{name} has {count - 1} separate regions (pixels {areas[:4]}); give one "
                         "chromosome per mask (cut them apart first)")
    return mask


def lines_for_shape(mask):
    """`perpendicular_lines(mask)` through a small cache keyed by the mask's bytes."""
    mask = check_single_region(check_shape_mask(mask))
    key = hashlib.blake2b(np.packbits(mask).tobytes() + bytes(str(mask.shape), "ascii"), digest_size=16).digest()
    lines = _GEOMETRY_CACHE.get(key)
    if lines is None:
        lines = perpendicular_lines(mask)
        _GEOMETRY_CACHE[key] = lines
        if len(_GEOMETRY_CACHE) > _GEOMETRY_CACHE_SIZE:
            _GEOMETRY_CACHE.popitem(last=False)
    else:
        _GEOMETRY_CACHE.move_to_end(key)
    return lines


def resample_pattern(pattern, length):
    """Nearest-neighbour resampling of a {0,1} pattern to `length` values (centre-aligned)."""
    pattern = check_pattern(pattern)
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    source = np.floor((np.arange(length) + 0.5) * len(pattern) / length).astype(np.int64)
    return pattern[np.clip(source, 0, len(pattern) - 1)]


def back_project(pattern, shape, lines=None):
    """f_SEG: banded segmentation mask (uint8 0 black band / 127 white band / 255 background).

    Args:
        pattern: {0,1} vector of any length (resampled to the shape's axis).
        shape: bool shape mask (e.g. `shape_mask(image)`), or the `PerpendicularLines` of one.
        lines: `PerpendicularLines` returned by `banding_pattern(..., return_lines=True)`
            for this shape; computed (and cached by mask content) when omitted.
    """
    pattern = check_pattern(pattern)
    if isinstance(shape, PerpendicularLines):
        lines = shape
    elif lines is None:
        lines = lines_for_shape(shape)
    else:
        mask = check_shape_mask(shape)
        if mask.shape != lines.shape.shape:
            raise ValueError(
                f"shape mask {mask.shape} and lines (made for {lines.shape.shape}) do not match"
            )
    index = lines.index_map
    values = resample_pattern(pattern, len(lines)) * np.uint8(WHITE)
    out = np.full(index.shape, BACKGROUND, np.uint8)
    inside = index >= 0
    out[inside] = values[index[inside]]
    return out


def to_model_input(banded_mask):
    """Banded mask (uint8 0/127/255, H x W) -> float32 (1, H, W, 1) in [-1, 1] for the generator.

    A batch (N x H x W or N x H x W x 1) gives N x H x W x 1.
    """
    array = np.asarray(banded_mask)
    if array.dtype != np.uint8:
        raise TypeError(f"banded mask must be uint8 (0/127/255), got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[None, ..., None]
    elif array.ndim == 3 and array.shape[-1] == 1:
        array = array[None]
    elif array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] != 1:
        raise ValueError(f"banded mask must be H x W (or N x H x W [x 1]), got shape {np.shape(banded_mask)}")
    values = np.unique(array)
    if not np.isin(values, (BLACK, WHITE, BACKGROUND)).all():
        raise ValueError(
            f"banded mask must hold only 0, 127 and 255; found {values[~np.isin(values, (0, 127, 255))][:5].tolist()}"
        )
    return array.astype(np.float32) / 127.5 - 1.0
