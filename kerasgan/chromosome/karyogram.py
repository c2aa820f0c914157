"""Karyograms in and out: an ISCN karyotype drawn as a clinical karyogram, and single
chromosomes cut out of karyogram (or metaphase) images.

    kg = kc.render_karyogram("47,XX,+21", generator=kerasgan.zoo.load("chromosome"), seed=3)
    kg.image                      # uint8 H x W, white background, the standard layout
    kg.manifest()                 # class, name, breakpoints, bbox of every chromosome (JSON-able)
    crops = kc.crop_karyogram(kg.image)   # the paper's preprocessing, class from the layout

Layout (ISCN / clinical karyograms): four rows, 1-5 | 6-12 | 13-18 | 19-22, X, Y; the
chromosomes of a class side by side (homologs, an extra copy or a derivative to their right),
upright with pter at the top, standing on a common baseline; a line under each group and the
class printed under it. All chromosomes of one karyogram share one scale: each is drawn at
`relative_length * chr1_length` with one `chr1_length` per karyogram.

Cutting (`crop_karyogram`): light chromosomes on a dark background are flipped first; the
background is flat-fielded (grey closing larger than a chromosome width) and thresholded
just below it (pale G-negative bands stay attached to their chromosome), in components that
reach a clearly dark level; edges are then set at 0.35 of the darkest pixel along the same
row (bands run across an upright chromosome, so a pale band is compared with itself, and
blur or JPEG halos drop out). Text and rules are dropped by stroke width (twice the largest
inscribed radius of the unfilled shape: digits and lines are thin strokes, chromosomes are
wide; rules are also cut where they touch a chromosome), and rows of compact objects only
(bold labels, a title) are taken for text when the rest forms the four rows of a karyogram;
fragments split at a pale band are re-joined; components whose short-way run width is over
1.4 times the median are reported as touching, and split at the lightest column (side by
side) or row when that gives two chromosome-like parts. When most homolog pairs overlap,
the median itself is a pair's width and touching pairs are no longer told apart. Each crop is preprocessed as the paper (section 3): grayscale, square
padding to the biggest chromosome of that image, resize to `size`. When the chromosomes form
four rows, each crop's class comes from its row and group: the groups from the printed
labels under (or above) the rows, matched to the standard layout or the older one with X
after 12 and Y after 22, or from the widest horizontal gaps where the labels do not match.

Hand-written because no maintained library lays out or parses karyograms; the image steps
are OpenCV / scikit-image calls.
"""

import dataclasses

import cv2
import numpy as np
from scipy import ndimage

from kerasgan.chromosome.extraction import BACKGROUND, as_gray_float

LAYOUT = (
    ("1", "2", "3", "4", "5"),
    ("6", "7", "8", "9", "10", "11", "12"),
    ("13", "14", "15", "16", "17", "18"),
    ("19", "20", "21", "22", "X", "Y"),
)
# The older Denver-group layout some laboratories print: X after 12 in row 2, Y after 22.
LAYOUT_X_IN_ROW_2 = (
    ("1", "2", "3", "4", "5"),
    ("6", "7", "8", "9", "10", "11", "12", "X"),
    ("13", "14", "15", "16", "17", "18"),
    ("19", "20", "21", "22", "Y"),
)
LAYOUTS = (LAYOUT, LAYOUT_X_IN_ROW_2)
CLASSES = tuple(c for row in LAYOUT for c in row)
_ROW_OF = {c: r for r, row in enumerate(LAYOUT) for c in row}
SYNTHETIC_SOURCE = "SYNTHETIC renderer"
GENERATOR_SOURCE = "generator"


# ----------------------------------------------------------------------------- data classes


@dataclasses.dataclass
class PlacedChromosome:
    """One chromosome of a karyogram.

    Attributes:
        chromosome_class: its place in the layout, "1".."22", "X", "Y".
        name: ISCN name ("21", "der(22)t(9;22)(q34;q11.2)", ...).
        breakpoints: ISCN breakpoints of its abnormality (empty for a normal chromosome).
        abnormal: True for a structurally abnormal (or extra) chromosome.
        bbox: (x0, y0, x1, y1) of its pixels in the karyogram, x1/y1 exclusive.
        image: uint8 size x size, the chromosome as drawn (generator or SYNTHETIC renderer),
            background normalised to white; the model-size cell it was pasted from.
        banded_mask: uint8 size x size, 0 black band / 127 white band / 255 background, the
            generator's input for `image`.
        row: layout row (0-3); index: its position in the karyotype's chromosome tuple.
    """

    chromosome_class: str
    name: str
    breakpoints: tuple
    abnormal: bool
    bbox: tuple
    image: np.ndarray
    banded_mask: np.ndarray
    row: int
    index: int

    def manifest(self):
        return {
            "class": self.chromosome_class, "name": self.name, "breakpoints": list(self.breakpoints),
            "abnormal": bool(self.abnormal), "bbox": [int(v) for v in self.bbox], "row": int(self.row) + 1,
        }


@dataclasses.dataclass
class Karyogram:
    """A rendered karyogram: `image` (uint8 H x W, white background) and its `chromosomes`."""

    image: np.ndarray
    chromosomes: list
    iscn: str
    seed: int
    size: int
    chr1_length: float
    width: float
    source: str
    label_boxes: dict = dataclasses.field(default_factory=dict)

    @property
    def synthetic(self):
        return self.source == SYNTHETIC_SOURCE

    def manifest(self):
        """JSON-able description: karyotype, seed, image source, scale and every chromosome."""
        return {
            "iscn": self.iscn, "seed": int(self.seed), "image_source": self.source,
            "labelled": "SYNTHETIC" if self.synthetic else "generated from SYNTHETIC banded masks",
            "image_shape": [int(v) for v in self.image.shape], "cell_size": int(self.size),
            "chr1_length_px": round(float(self.chr1_length), 2), "width_px": round(float(self.width), 2),
            "layout": [list(row) for row in LAYOUT], "bbox_convention": "x0, y0, x1, y1; x1, y1 exclusive",
            "count": len(self.chromosomes),
            "chromosomes": [c.manifest() for c in self.chromosomes],
        }


@dataclasses.dataclass
class KaryogramCrop:
    """A chromosome cut from a karyogram or metaphase image.

    Attributes:
        image: uint8 size x size, the paper's preprocessing (grayscale, square padding to the
            biggest chromosome of the image, resized).
        bbox: (x0, y0, x1, y1) in the input image, x1/y1 exclusive.
        chromosome_class: "1".."22"/"X"/"Y" from the layout when the image is a karyogram, else None.
        row: layout row (0-3) or None.
        touching: the component was about twice as thick as a chromosome (two or more touching).
        separated: a touching component that was split into chromosome-like parts (this is one);
            touching and not separated: this crop holds more than one chromosome.
    """

    image: np.ndarray
    bbox: tuple
    chromosome_class: object = None
    row: object = None
    touching: bool = False
    separated: bool = False


# ----------------------------------------------------------------------------- karyotype input


def _as_karyotype(karyotype):
    if isinstance(karyotype, str):
        from kerasgan.chromosome.iscn import karyotype as parse

        return parse(karyotype)
    if not hasattr(karyotype, "chromosomes"):
        raise TypeError(f"karyotype must be an ISCN string or a Karyotype, got {type(karyotype).__name__}")
    return karyotype


def _check_generator_inputs(size, seed):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size must be an int of at least 32 pixels, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")


def _draw_cells(chromosomes, seed, size, chr1_length, width, generator, batch_size, upright=True):
    """Banded masks (and images) of `chromosomes` at one scale: (images, masks) N x size x size.

    With a generator, the masks come from `render_chromosome_mask` and every image from one
    batched generator call per `batch_size` masks; without, from the SYNTHETIC renderer."""
    images, masks = _draw_masks(chromosomes, seed, size, chr1_length, width, generator is None, upright)
    if generator is not None and len(masks):
        images = _generate(generator, masks, batch_size or len(masks))
    return images, masks


def _draw_masks(chromosomes, seed, size, chr1_length, width, with_images, upright=True):
    """(images or None, banded masks): the SYNTHETIC renderer's images when `with_images`."""
    from kerasgan.chromosome import synthetic

    pose = "upright" if upright else "random"
    masks = np.empty((len(chromosomes), size, size), np.uint8)
    images = np.empty_like(masks) if with_images else None
    for i, chromosome in enumerate(chromosomes):
        rng = np.random.default_rng([seed, i])
        own_width = width * rng.uniform(0.94, 1.06)
        if with_images:
            item = synthetic.render_chromosome(rng=rng, size=size, chromosome=chromosome,
                                               chr1_length=chr1_length, pose=pose, width=own_width)
            images[i], masks[i] = item.image, item.banded_mask
        else:
            masks[i], _ = synthetic.render_chromosome_mask(rng, size=size, chromosome=chromosome,
                                                           chr1_length=chr1_length, pose=pose, width=own_width)
    return images, masks


def _generate(generator, masks, batch_size):
    """uint8 images from banded masks, `batch_size` per generator call. A Keras model runs
    through `predict_on_batch` (its compiled predict function: 2-2.5x faster than an eager
    call for one 46-mask batch on 2 cores); any other callable is called eagerly."""
    from kerasgan.chromosome.extraction import to_model_input

    inputs = to_model_input(masks)
    run = getattr(generator, "predict_on_batch", None) or (lambda x: generator(x, training=False))
    outputs = [np.asarray(run(inputs[i : i + batch_size])) for i in range(0, len(inputs), batch_size)]
    images = np.concatenate(outputs)[..., 0]
    return np.round(np.clip((images + 1.0) * 127.5, 0, 255)).astype(np.uint8)


def _white_background(image, shape):
    """Scale a cell so its background (pixels away from the chromosome) is 255."""
    far = ~cv2.dilate(shape.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    level = float(np.median(image[far])) if far.any() else 255.0
    return np.clip(image.astype(np.float32) * (255.0 / max(level, 1.0)), 0, 255)


# ----------------------------------------------------------------------------- rendering


def _scale(rng, size):
    """One chr1 length and chromosome width per karyogram (the shared scale)."""
    chr1_length = rng.uniform(0.72, 0.82) * size
    return chr1_length, rng.uniform(0.09, 0.115) * chr1_length


def render_karyogram(karyotype, generator=None, seed=0, size=128, pair_gap=None, batch_size=None,
                     chr1_length=None, width=None):
    """Draw a karyotype as a clinical karyogram.

    Args:
        karyotype: an ISCN string ("47,XX,+21") or a `kc.karyotype(...)` result.
        generator: a banded-mask -> image Keras model (`kerasgan.zoo.load("chromosome")`);
            every chromosome's image is drawn by it from its banded mask in one batched call
            (or one per `batch_size` masks). None: the SYNTHETIC renderer's own images.
        seed: int; chromosome i of the karyotype uses the stream (seed, i).
        size: the cell side each chromosome is drawn in (the generator's input size).
        pair_gap: pixels between chromosomes of one class (default half a chromosome width,
            at least 3), or a dict class -> gap for some classes; 0 or negative makes those
            homologs touch (to test `crop_karyogram`).
        chr1_length, width: the karyogram's scale in cell pixels (default drawn from `seed`):
            length of a normal chromosome 1 and the chromosome width.
    Returns:
        Karyogram (image uint8 H x W, chromosomes: list of PlacedChromosome in karyotype
        order, manifest()).
    """
    prepared = _prepare(karyotype, seed, size, chr1_length, width, generator is None)
    return _finish(prepared, generator, batch_size, pair_gap)


def _prepare(karyotype, seed, size, chr1_length, width, with_images):
    _check_generator_inputs(size, seed)
    parsed = _as_karyotype(karyotype)
    chromosomes = list(parsed.chromosomes)
    for c in chromosomes:
        if str(c.chromosome_class) not in _ROW_OF:
            raise ValueError(f"karyotype chromosome {c.name!r} has class {c.chromosome_class!r}, "
                             f"not one of {', '.join(CLASSES)}")
    rng = np.random.default_rng([seed, 10**6])
    default_length, default_width = _scale(rng, size)
    chr1_length = float(chr1_length or default_length)
    width = float(width or default_width)
    images, masks = _draw_masks(chromosomes, seed, size, chr1_length, width, with_images)
    return parsed, chromosomes, images, masks, seed, size, chr1_length, width


def _finish(prepared, generator, batch_size, pair_gap):
    parsed, chromosomes, images, masks, seed, size, chr1_length, width = prepared
    if generator is not None and len(masks):
        images = _generate(generator, masks, batch_size or len(masks))
    return _compose(parsed, chromosomes, images, masks, seed, size, chr1_length, width,
                    SYNTHETIC_SOURCE if generator is None else GENERATOR_SOURCE, pair_gap)


def render_karyograms(karyotype, seeds, generator=None, size=128, batch_size=None, pair_gap=None):
    """`render_karyogram` for each seed, yielded in order. With a generator, the next
    karyogram's banded masks are drawn in a background thread while the generator runs on
    the current one (TensorFlow releases the GIL while it executes)."""
    parsed = _as_karyotype(karyotype)
    seeds = list(seeds)
    if generator is None:
        for seed in seeds:
            yield render_karyogram(parsed, None, seed=seed, size=size, pair_gap=pair_gap)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_prepare, parsed, seeds[0], size, None, None, False) if seeds else None
        for k in range(len(seeds)):
            prepared = pending.result()
            if k + 1 < len(seeds):
                pending = pool.submit(_prepare, parsed, seeds[k + 1], size, None, None, False)
            yield _finish(prepared, generator, batch_size, pair_gap)


def _font(size):
    scale = max(0.3, 0.4 * size / 128)
    (text_w, text_h), _ = cv2.getTextSize("22", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return scale, text_h


def _compose(parsed, chromosomes, images, masks, seed, size, chr1_length, width, source, pair_gap):
    shapes = masks != BACKGROUND
    boxes = []  # shape bbox in its cell: (x0, y0, x1, y1)
    for i, shape in enumerate(shapes):
        rows, cols = np.nonzero(shape)
        if rows.size == 0:
            raise ValueError(f"chromosome {chromosomes[i].name!r} drew no pixel (length too small at size {size})")
        boxes.append((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
    boxes = np.array(boxes, np.int64).reshape(-1, 4)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    reference = max(2, int(np.median(widths))) if len(widths) else max(2, int(width))
    default_gap = max(3, int(round(0.5 * reference)))
    if isinstance(pair_gap, dict):
        unknown = sorted(set(pair_gap) - set(CLASSES))
        if unknown:
            raise ValueError(f"pair_gap: unknown chromosome class {unknown[0]!r}")
        gaps = {c: int(pair_gap.get(c, default_gap)) for c in CLASSES}
    else:
        gaps = {c: default_gap if pair_gap is None else int(pair_gap) for c in CLASSES}
    group_gap = max(8, int(round(1.6 * reference)))
    margin = max(6, int(round(1.2 * reference)))
    font_scale, text_h = _font(size)
    line_gap = max(3, int(round(0.4 * reference)))

    members = {c: [] for c in CLASSES}
    for i, c in enumerate(chromosomes):
        members[str(c.chromosome_class)].append(i)

    def group_width(c):
        ids = members[c]
        return int(widths[ids].sum()) + gaps[c] * (len(ids) - 1) if ids else reference

    slot = max(group_width(c) for c in CLASSES) + group_gap
    canvas_w = 2 * margin + max(len(row) for row in LAYOUT) * slot
    row_tops, y = [], margin
    for row in LAYOUT:
        ids = [i for c in row for i in members[c]]
        row_h = int(heights[ids].max()) if ids else 2 * reference
        row_tops.append((y, row_h))
        y += row_h + 2 * line_gap + text_h + 3 + max(text_h, reference)  # line, label, row gap
    canvas_h = y - max(text_h, reference) + margin
    canvas = np.full((canvas_h, canvas_w), 255.0, np.float32)

    placed = [None] * len(chromosomes)
    label_boxes = {}
    for r, row in enumerate(LAYOUT):
        top, row_h = row_tops[r]
        baseline = top + row_h
        row_slot = (canvas_w - 2 * margin) / len(row)
        for g, c in enumerate(row):
            centre = margin + (g + 0.5) * row_slot
            x = int(round(centre - group_width(c) / 2))
            left = x
            for i in members[c]:
                cx0, cy0, cx1, cy1 = boxes[i]
                px, py = x, baseline - (cy1 - cy0)
                _paste(canvas, images[i], shapes[i], cx0, cy0, cx1, cy1, px, py)
                kind = chromosomes[i]
                placed[i] = PlacedChromosome(
                    chromosome_class=c, name=str(kind.name), breakpoints=tuple(getattr(kind, "breakpoints", ()) or ()),
                    abnormal=bool(getattr(kind, "abnormal", False)),
                    bbox=(int(px), int(py), int(px + cx1 - cx0), int(baseline)),
                    image=np.round(_white_background(images[i], shapes[i])).astype(np.uint8),
                    banded_mask=masks[i], row=r, index=i)
                x += (cx1 - cx0) + gaps[c]
            right = max(x - gaps[c], left + reference)
            line_y = baseline + line_gap
            cv2.line(canvas, (left - 1, line_y), (right, line_y), 0.0, 1)
            (text_w, _), _ = cv2.getTextSize(c, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            text_x = int(round(centre - text_w / 2))
            text_y = line_y + line_gap + text_h
            # Anti-aliased digits only where they stay thin next to the chromosomes.
            cv2.putText(canvas, c, (text_x, text_y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, 0.0, 1,
                        cv2.LINE_AA if size >= 96 else cv2.LINE_8)
            label_boxes[c] = (text_x, text_y - text_h, text_x + text_w, text_y + 1)
    image = np.round(np.clip(canvas, 0, 255)).astype(np.uint8)
    name = parsed.iscn if hasattr(parsed, "iscn") else str(parsed)
    return Karyogram(image=image, chromosomes=placed, iscn=str(name), seed=int(seed), size=int(size),
                     chr1_length=chr1_length, width=width, source=source, label_boxes=label_boxes)


def _paste(canvas, image, shape, cx0, cy0, cx1, cy1, px, py):
    """Paste the chromosome's pixels (its banded-mask shape) onto the canvas; darkest wins
    where two chromosomes overlap (pair_gap < 0)."""
    region = _white_background(image, shape)[cy0:cy1, cx0:cx1]
    inside = shape[cy0:cy1, cx0:cx1]
    target = canvas[py : py + (cy1 - cy0), px : px + (cx1 - cx0)]
    target[inside] = np.minimum(target[inside], region[inside])


def abnormal_chromosomes(karyotype):
    """The chromosomes that make a karyotype abnormal, each with why: "structural" (rearranged)
    or "extra copy" (an autosome class beyond two copies, or sex chromosomes beyond two in
    all: the last listed ones). Returns [(KaryotypeChromosome, reason)] in karyotype order."""
    parsed = _as_karyotype(karyotype)
    chosen = [(c, "structural") for c in parsed.chromosomes if c.abnormal]
    by_class = {}
    for c in parsed.chromosomes:
        by_class.setdefault(str(c.chromosome_class), []).append(c)
    for cls, members in by_class.items():
        if cls not in ("X", "Y") and len(members) > 2:
            chosen += [(c, "extra copy") for c in members[2:] if not c.abnormal]
    sex = [c for c in parsed.chromosomes if str(c.chromosome_class) in ("X", "Y")]
    if len(sex) > 2:
        chosen += [(c, "extra copy") for c in sex[2:] if not c.abnormal]
    order = {id(c): i for i, c in enumerate(parsed.chromosomes)}
    return sorted(chosen, key=lambda pair: order[id(pair[0])])


def render_karyogram_variant(karyotype, seed=0, cell=256):
    """A SYNTHETIC karyogram drawn unlike `render_karyogram`, to check `crop_karyogram` (tests,
    benchmark) on a layout it was not written against: bigger chromosomes (chr1 ~ 0.7 cell,
    width ~ 0.1 chr1), each tilted up to 8 degrees, centromeres aligned in each row (not a common baseline), the layout with X in
    row 2 for odd seeds, bold labels (thickness 2 from cell 192) under the groups, rules under half of the
    rows, a grey background with a gradient, noise, blur and JPEG compression, multiplicative
    (absorbance) compositing, the karyotype printed at the top.
    Returns (uint8 image, [(class, bbox)]) with bbox (x0, y0, x1, y1), x1/y1 exclusive."""
    from kerasgan.chromosome import synthetic

    rng = np.random.default_rng([seed, 99])
    layout = LAYOUT_X_IN_ROW_2 if seed % 2 else LAYOUT
    karyotype = _as_karyotype(karyotype)
    iscn = str(getattr(karyotype, "iscn", ""))
    chr1_length = rng.uniform(0.66, 0.76) * cell
    width = rng.uniform(0.085, 0.11) * chr1_length
    drawn = []
    for i, chromosome in enumerate(karyotype.chromosomes):
        item = synthetic.render_chromosome(rng=np.random.default_rng([seed, i, 5]), size=cell, chromosome=chromosome,
                                    chr1_length=chr1_length, pose="upright", width=width * rng.uniform(0.95, 1.05))
        angle = rng.uniform(-8, 8)
        turn = cv2.getRotationMatrix2D((cell / 2, cell / 2), angle, 1.0)
        image = cv2.warpAffine(item.image, turn, (cell, cell), flags=cv2.INTER_LINEAR, borderValue=255)
        shape = cv2.warpAffine((item.banded_mask != 255).astype(np.uint8), turn, (cell, cell), flags=cv2.INTER_NEAREST)
        rows, cols = np.nonzero(shape)
        box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        centromere = chromosome.centromere if chromosome.centromere is not None else 0.5
        drawn.append((chromosome.chromosome_class, image, box, box[1] + centromere * (box[3] - box[1])))
    members = {c: [d for d in drawn if d[0] == c] for row in layout for c in row}
    pair_gap, group_gap, margin = int(0.6 * width), int(2.2 * width), int(2 * width)
    group_width = {c: sum(d[2][2] - d[2][0] for d in m) + pair_gap * max(len(m) - 1, 0) or int(width)
                   for c, m in members.items()}
    canvas_w = 2 * margin + max(sum(group_width[c] + group_gap for c in row) for row in layout)
    font, scale, thickness = cv2.FONT_HERSHEY_DUPLEX, rng.uniform(0.8, 1.1) * cell / 256, 2 if cell >= 192 else 1
    text_h = cv2.getTextSize("22", font, scale, thickness)[0][1]
    y, placements, labels = margin + text_h * 2, [], []
    for r, row in enumerate(layout):
        ids = [d for c in row for d in members[c]]
        above = max((d[3] - d[2][1] for d in ids), default=width)
        below = max((d[2][3] - d[3] for d in ids), default=width)
        centre_line = y + above
        row_slot = (canvas_w - 2 * margin) / len(row)
        for g, c in enumerate(row):
            x = int(margin + (g + 0.5) * row_slot - group_width[c] / 2)
            left = x
            for cls, image, box, centromere in members[c]:
                top = int(round(centre_line - (centromere - box[1])))
                placements.append((cls, image, box, x, top))
                x += box[2] - box[0] + pair_gap
            labels.append((c, left, max(x - pair_gap, left + int(width)), int(centre_line + below)))
        y = centre_line + below + 3 * text_h + int(width)
    canvas = np.full((int(y + margin), canvas_w), 1.0, np.float32)
    truth = []
    for cls, image, (x0, y0, x1, y1), x, top in placements:
        pad = 3
        region = image[max(y0 - pad, 0):y1 + pad, max(x0 - pad, 0):x1 + pad].astype(np.float32) / 255.0
        ox, oy = x - (x0 - max(x0 - pad, 0)), top - (y0 - max(y0 - pad, 0))
        target = canvas[oy:oy + region.shape[0], ox:ox + region.shape[1]]
        target *= region[: target.shape[0], : target.shape[1]] / max(float(np.median(image)) / 255.0, 1e-3)
        truth.append((cls, (x, top, x + x1 - x0, top + y1 - y0)))
    canvas = np.clip(canvas, 0, 1) * 255.0
    rule = rng.random(len(layout)) < 0.5
    for c, left, right, bottom in labels:
        r = next(i for i, row in enumerate(layout) if c in row)
        if rule[r]:
            cv2.line(canvas, (left, bottom + 6), (right, bottom + 6), 20.0, 2)
        (tw, _), _ = cv2.getTextSize(c, font, scale, thickness)
        cv2.putText(canvas, c, (int((left + right) / 2 - tw / 2), bottom + 10 + text_h), font, scale, 20.0,
                    thickness, cv2.LINE_AA)
    cv2.putText(canvas, iscn, (margin, margin + text_h), font, scale, 20.0, thickness, cv2.LINE_AA)
    h, w = canvas.shape
    yy, xx = np.mgrid[0:h, 0:w]
    background = rng.uniform(0.86, 0.95) + 0.04 * (xx / w - 0.5) + 0.03 * (yy / h - 0.5)
    image = cv2.GaussianBlur(canvas * background, (0, 0), 0.7) + rng.normal(0, 3, canvas.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 90))])
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), truth


def karyotype_chromosomes(karyotype, generator=None, seed=0, size=128, count=1, abnormal_only=True,
                          batch_size=None, pose="random"):
    """Single chromosomes of a karyotype (by default only its abnormal ones), `count` each.

    Args:
        karyotype: ISCN string or Karyotype. generator: banded mask -> image model, or None
            for the SYNTHETIC renderer. seed, size: as `render_karyogram`. pose: "random"
            (bent, any angle, as in a metaphase) or "upright".
        abnormal_only: only the chromosomes `abnormal_chromosomes` names (rearranged ones and
            extra copies; ValueError naming the karyotype when it has none); False: all.
    Returns: list of PlacedChromosome (bbox = its box in its own cell, row from the layout,
    abnormal True for the chosen abnormal ones).
    """
    _check_generator_inputs(size, seed)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    if pose not in ("random", "upright"):
        raise ValueError(f"pose must be 'random' or 'upright', got {pose!r}")
    parsed = _as_karyotype(karyotype)
    if abnormal_only:
        chosen = [c for c, _ in abnormal_chromosomes(parsed)]
        if not chosen:
            raise ValueError(f"karyotype {getattr(parsed, 'iscn', karyotype)!r} has no abnormal chromosome "
                             "(pass abnormal_only=False for all of them)")
    else:
        chosen = list(parsed.chromosomes)
    selection = [c for _ in range(count) for c in chosen]
    rng = np.random.default_rng([seed, 10**6])
    chr1_length, width = _scale(rng, size)
    images, masks = _draw_cells(selection, seed, size, chr1_length, width, generator, batch_size,
                                upright=pose == "upright")
    out = []
    for i, (kind, image, mask) in enumerate(zip(selection, images, masks)):
        rows, cols = np.nonzero(mask != BACKGROUND)
        bbox = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
        out.append(PlacedChromosome(
            chromosome_class=str(kind.chromosome_class), name=str(kind.name),
            breakpoints=tuple(getattr(kind, "breakpoints", ()) or ()),
            abnormal=bool(abnormal_only or kind.abnormal),
            bbox=bbox, image=np.round(_white_background(image, mask != BACKGROUND)).astype(np.uint8),
            banded_mask=mask, row=_ROW_OF[str(kind.chromosome_class)], index=i))
    return out


# ----------------------------------------------------------------------------- cutting


def _foreground(gray):
    """Dark-object mask after flat-fielding: pixels more than `weak` below the background
    (unsmoothed, so edges stay where they are), in components that reach `strong` on the
    lightly smoothed image (noise alone does not)."""
    low, high = float(np.percentile(gray, 0.5)), float(np.percentile(gray, 99.5))
    if high - low < 1e-6:
        return np.zeros(gray.shape, bool), np.zeros(gray.shape, np.float32)
    unit = (gray - low) / (high - low)
    side = int(max(15, min(gray.shape) // 12)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    background = cv2.morphologyEx(cv2.GaussianBlur(unit, (0, 0), 1.0), cv2.MORPH_CLOSE, kernel)
    background = cv2.GaussianBlur(background, (0, 0), side / 4)
    darkness = np.clip(background - unit, 0, None)
    smooth = cv2.GaussianBlur(darkness, (0, 0), 0.7)
    # Noise level of the background (robust: median absolute deviation of its darkness).
    quiet = darkness[smooth < np.percentile(smooth, 50)]
    noise = 1.4826 * float(np.median(np.abs(quiet - np.median(quiet)))) if quiet.size else 0.0
    weak = max(0.04, 3 * noise)
    strong = max(0.15, 2 * weak)
    candidate = darkness > weak
    labels, count = ndimage.label(candidate, structure=np.ones((3, 3)))
    if count == 0:
        return candidate, darkness
    seeded = np.zeros(count + 1, bool)
    seeded[np.unique(labels[smooth > strong])] = True
    seeded[0] = False
    # Holes are not filled here: a digit's loop ("6", "8") filled would look as wide as a chromosome.
    return seeded[labels], darkness


def _run_width(component):
    """(median pixels per row, median pixels per column) of a component: about one
    chromosome width across an upright (rows) or lying (columns) chromosome, about two for
    two chromosomes touching side by side."""
    rows = component.sum(1)
    cols = component.sum(0)
    return float(np.median(rows[rows > 0])), float(np.median(cols[cols > 0]))


@dataclasses.dataclass
class _Object:
    mask: np.ndarray  # bool, its bbox region
    bbox: tuple  # x0, y0, x1, y1
    touching: bool = False
    separated: bool = False

    @property
    def centre(self):
        return ((self.bbox[0] + self.bbox[2]) / 2, (self.bbox[1] + self.bbox[3]) / 2)


def _components(mask):
    """Connected components with bbox, area (holes filled) and stroke width (2 x the largest
    inscribed radius of the unfilled shape)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    filled = ndimage.binary_fill_holes(mask)
    labels = _hole_owner(labels, filled)
    stats[1:, cv2.CC_STAT_AREA] = np.bincount(labels.ravel(), minlength=count)[1:count]
    radius = ndimage.maximum(distance, labels, np.arange(1, count)) if count > 1 else np.zeros(0)
    parts = []
    for k in range(1, count):
        x, y, w, h, area = stats[k]
        parts.append({"label": k, "bbox": (int(x), int(y), int(x + w), int(y + h)), "area": int(area),
                      "stroke": 2.0 * float(radius[k - 1])})
    return labels, parts


def _hole_owner(labels, filled):
    """`labels` with every hole pixel given the label of the component around it (the pixel
    left of a hole's leftmost pixel in its top row is on that component: holes are
    4-connected)."""
    holes, count = ndimage.label(filled & (labels == 0))
    out = labels.copy()
    for k, box in enumerate(ndimage.find_objects(holes), start=1):
        top = box[0].start
        cols = np.nonzero(holes[top, box[1]] == k)[0]
        x = box[1].start + cols[0]
        out[box][holes[box] == k] = labels[top, x - 1]
    return out


def _merge_fragments(objects, labels_mask, width):
    """Join pieces of one chromosome split at a pale band: vertically adjacent (gap < 0.6
    widths), overlapping in x by more than half of the narrower one."""
    merged = True
    while merged:
        merged = False
        for a in range(len(objects)):
            for b in range(a + 1, len(objects)):
                (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = objects[a]["bbox"], objects[b]["bbox"]
                overlap = min(ax1, bx1) - max(ax0, bx0)
                gap = max(ay0, by0) - min(ay1, by1)
                if overlap > 0.5 * min(ax1 - ax0, bx1 - bx0) and 0 <= gap < 0.6 * width:
                    objects[a] = {"labels": objects[a]["labels"] + objects[b]["labels"],
                                  "bbox": (min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)),
                                  "area": objects[a]["area"] + objects[b]["area"],
                                  "stroke": max(objects[a]["stroke"], objects[b]["stroke"])}
                    del objects[b]
                    merged = True
                    break
            if merged:
                break
    return objects


def _split(mask, darkness, width, axis):
    """Split touching chromosomes at the lightest line across `axis` (1: a column, two side by
    side; 0: a row, two end to end) in the middle of the component: the summed darkness there
    must fall below 0.7 of the peaks on both sides. Returns two masks or None."""
    profile = (darkness * mask).sum(axis=1 - axis)
    n = profile.size
    lo, hi = int(0.6 * width), n - int(0.6 * width)
    if hi - lo < 1:
        return None
    cut = lo + int(np.argmin(profile[lo:hi]))
    if profile[cut] > 0.85 * min(profile[:cut + 1].max(), profile[cut:].max()):
        return None
    first, second = mask.copy(), mask.copy()
    if axis == 1:
        first[:, cut:] = False
        second[:, : cut + 1] = False
    else:
        first[cut:] = False
        second[: cut + 1] = False
    return first, second


def _chromosome_width(parts):
    """Stroke width of the chromosomes: median of the widest quarter of the components."""
    strokes = np.sort([p["stroke"] for p in parts])[::-1]
    return float(np.median(strokes[: max(1, int(np.ceil(0.25 * len(strokes))))])) if len(strokes) else 0.0


def _rules(mask, width):
    """Thin horizontal lines (rules under karyogram groups, one as short as a chromosome's
    width under a lone Y): runs at least one chromosome width long and thinner than half a
    width."""
    run = max(7, int(round(width)))
    horizontal = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    thick = cv2.morphologyEx(horizontal, cv2.MORPH_OPEN, np.ones((max(2, int(0.5 * width)), 1), np.uint8))
    return (horizontal > 0) & (thick == 0)


def _find_objects(gray):
    """Chromosome objects (masks, bboxes, touching flags) and label boxes of an image."""
    mask, darkness = _foreground(gray)
    labels, parts = _components(mask)
    if not parts:
        return [], [], 0.0
    width = _chromosome_width(parts)
    if width < 3.0:  # nothing wider than a text stroke
        return [], parts, width
    # Edges at 0.35 of the darkest of the chromosome along the same row (bands run
    # across an upright chromosome, so a pale band is compared with itself): blur and JPEG
    # halos below that are background, and stop bridging neighbours.
    span = int(max(5, round(0.6 * width))) | 1
    row_peak = cv2.dilate(np.where(mask, darkness, 0).astype(np.float32), np.ones((1, span), np.uint8))
    mask = mask & (darkness >= 0.35 * row_peak)
    rules = _rules(mask, width)
    mask = mask & ~rules  # lines under the groups may touch the chromosomes standing on them
    labels, parts = _components(mask)
    width = _chromosome_width(parts)
    wide = [p for p in parts if p["stroke"] >= 0.6 * width]
    thin = [p for p in parts if p["stroke"] < 0.6 * width]
    # Pieces of one chromosome split at a pale band are joined before small specks are dropped.
    chromosome_like = _merge_fragments([dict(p, labels=[p["label"]]) for p in wide], labels, width)
    chromosome_like = [p for p in chromosome_like if p["area"] >= 0.3 * width**2
                       and max(p["bbox"][2] - p["bbox"][0], p["bbox"][3] - p["bbox"][1]) >= 0.7 * width]
    objects = []
    for p in chromosome_like:
        x0, y0, x1, y1 = p["bbox"]
        own = np.isin(labels[y0:y1, x0:x1], p["labels"])
        objects.append((own, (x0, y0, x1, y1)))
    if not objects:
        return [], thin, width
    runs = np.array([_run_width(own) for own, _ in objects])
    across = runs.min(1)
    typical = float(np.median(across))
    out = []
    for (own, (x0, y0, x1, y1)), (along_rows, along_cols) in zip(objects, runs):
        # Single chromosomes of rendered karyograms stay below 1.2 x the median.
        if min(along_rows, along_cols) <= 1.4 * typical or len(objects) < 3:
            out.append(_Object(own, (x0, y0, x1, y1)))
            continue
        # Too wide across: touching. Side by side (the rows are the short way) splits at a column.
        axis = 1 if along_rows <= along_cols else 0
        parts = _split(own, darkness[y0:y1, x0:x1], width, axis)
        if parts is not None and all(p.sum() >= 0.3 * width**2 and min(_run_width(p)) <= 1.5 * typical
                                     for p in parts):
            for part in parts:
                rows, cols = np.nonzero(part)
                box = (x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1)
                sub = part[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
                out.append(_Object(sub, tuple(int(v) for v in box), touching=True, separated=True))
        else:
            out.append(_Object(own, (x0, y0, x1, y1), touching=True))
    return out, thin, width


def _rows(objects):
    """Group objects into rows: two objects share a row when their vertical extents overlap by
    at least 30 % of the shorter one (transitively), so the tip of a long chromosome reaching
    into the next row does not join the rows. Rows are returned top to bottom."""
    parent = list(range(len(objects)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(len(objects)):
        ay0, ay1 = objects[a].bbox[1], objects[a].bbox[3]
        for b in range(a + 1, len(objects)):
            by0, by1 = objects[b].bbox[1], objects[b].bbox[3]
            if min(ay1, by1) - max(ay0, by0) >= 0.3 * min(ay1 - ay0, by1 - by0):
                parent[root(a)] = root(b)
    groups = {}
    for i in range(len(objects)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda r: min(objects[i].bbox[1] for i in r))


def _label_centres(thin, y_low, y_high, width):
    """x centres of printed labels (digit groups) between two heights; lines are skipped."""
    glyphs = []
    for p in thin:
        x0, y0, x1, y1 = p["bbox"]
        w, h = x1 - x0, y1 - y0
        if not (y_low <= (y0 + y1) / 2 < y_high) or h < 3 or w > 2.5 * h or h > 4 * width:
            continue
        glyphs.append([x0, y0, x1, y1])
    if glyphs:  # rule ends and specks are much lower than the printed digits
        tallest = max(b[3] - b[1] for b in glyphs)
        glyphs = [b for b in glyphs if b[3] - b[1] >= 0.5 * tallest]
    glyphs.sort()
    merged = []
    for box in glyphs:
        # Digits of one number side by side, or pieces of one glyph (a "Y" split at its fork).
        if merged and box[0] - merged[-1][2] < 0.6 * (box[3] - box[1]) and (
                min(box[3], merged[-1][3]) > max(box[1], merged[-1][1]) or box[0] < merged[-1][2]):
            merged[-1] = [merged[-1][0], min(merged[-1][1], box[1]), max(merged[-1][2], box[2]),
                          max(merged[-1][3], box[3])]
        else:
            merged.append(box)
    return [(b[0] + b[2]) / 2 for b in merged]


def _groups_by_gaps(xs, count, flexible):
    """Split sorted x positions into `count` groups at the widest gaps (`flexible`: count or
    count - 1, whichever leaves the clearer gap)."""
    if len(xs) <= 1:
        return [0] * len(xs)
    gaps = np.diff(xs)
    order = np.argsort(gaps)[::-1]
    choices = [count, count - 1] if flexible else [count]
    best, best_ratio = None, -1.0
    for k in choices:
        k = min(k, len(xs))
        if k < 1:
            continue
        cut = order[: k - 1]
        chosen = gaps[cut].min() if k > 1 else np.inf
        rest = np.delete(gaps, cut)
        ratio = chosen / (rest.max() if rest.size else 1.0)
        if ratio > best_ratio:
            best, best_ratio = np.sort(cut), ratio
    group = np.zeros(len(xs), int)
    for c in best:
        group[c + 1:] += 1
    return group.tolist()


def _drop_text_rows(objects, thin, width):
    """Rows made only of compact objects (long side < 2.2 widths, area < 3 widths squared) are
    bold labels or a title that passed the stroke test: when removing them leaves exactly the
    four rows of a karyogram, they move to the label glyphs. (Every karyogram row holds a
    long chromosome: 1, 6, 13, and X in row 4.)"""
    rows = _rows(objects)
    if len(rows) < len(LAYOUT):
        return objects, thin

    def compact(o):
        x0, y0, x1, y1 = o.bbox
        return max(x1 - x0, y1 - y0) < 2.2 * width and o.mask.sum() < 3 * width**2

    text = [r for r in rows if all(compact(objects[i]) for i in r)]
    if len(rows) - len(text) != len(LAYOUT):
        return objects, thin
    dropped = {i for r in text for i in r}
    for r in rows:  # a label hanging below its row (joined to it through a long chromosome)
        if r not in text and len(r) >= 3:
            bottom = float(np.median([objects[i].bbox[3] for i in r]))
            dropped |= {i for i in r if compact(objects[i]) and objects[i].bbox[1] >= bottom}
    glyphs = [{"bbox": objects[i].bbox, "stroke": 0.0, "area": int(objects[i].mask.sum())} for i in sorted(dropped)]
    return [o for i, o in enumerate(objects) if i not in dropped], thin + glyphs


def _classify(objects, thin, width):
    """Class of each object from a karyogram layout, or None when the rows match none.

    Four rows of chromosomes make a karyogram. The printed labels between the rows (under or
    above each group) give the groups; the layout (standard, or X in row 2) and the label
    side are the ones whose label counts match the most rows. A row whose labels do not
    match is split at its widest horizontal gaps."""
    rows = _rows(objects)
    # Four rows, each with about two chromosomes per group (a metaphase spread is not).
    if len(rows) != len(LAYOUT) or any(len(r) < len(names) for r, names in zip(rows, LAYOUT)):
        return [None] * len(objects), [None] * len(objects)
    classes, row_of = [None] * len(objects), [None] * len(objects)
    extents = [(min(objects[i].bbox[1] for i in r), max(objects[i].bbox[3] for i in r)) for r in rows]
    below = [_label_centres(thin, extents[r][1], extents[r + 1][0] if r + 1 < len(rows) else np.inf, width)
             for r in range(len(rows))]
    above = [_label_centres(thin, extents[r - 1][1] if r else -np.inf, extents[r][0], width)
             for r in range(len(rows))]
    best = None
    for layout in LAYOUTS:  # the standard layout first: it wins ties (no labels at all)
        for labels in (below, above):
            matches = sum(len(found) == len(row) for found, row in zip(labels, layout))
            if best is None or matches > best[0]:
                best = (matches, layout, labels)
    _, layout, labels = best
    for r, members in enumerate(rows):
        names = layout[r]
        members = sorted(members, key=lambda i: objects[i].centre[0])
        xs = [objects[i].centre[0] for i in members]
        if len(labels[r]) == len(names):
            centres = np.array(labels[r])
            groups = [int(np.argmin(np.abs(centres - x))) for x in xs]
        else:  # a sex-chromosome group may be empty (no Y): one group fewer is allowed
            groups = _groups_by_gaps(xs, len(names), flexible=bool({"X", "Y"} & set(names)))
        for i, g in zip(members, groups):
            classes[i] = names[min(g, len(names) - 1)]
            row_of[i] = r
    return classes, row_of


def crop_karyogram(image, size=128, name="image"):
    """Cut single chromosomes out of a karyogram (or metaphase) image.

    Args:
        image: H x W grayscale or RGB (uint8, uint16 or float), dark chromosomes on a light
            background; labels, digits and rules may be present.
        size: output side (128 in the paper).
    Returns:
        list of KaryogramCrop in reading order (rows top to bottom, left to right), each with
        image (uint8 size x size: grayscale, square padding to the biggest chromosome of this
        image, resized), bbox, chromosome_class (from the layout, None when the image is not a
        standard karyogram), row, touching and separated flags.
    Raises:
        ValueError when no chromosome is found (naming `name`), TypeError for a non-image.
    """
    gray = as_gray_float(image, name)
    inverted = _dark_background(gray)
    if inverted:  # light chromosomes on a dark background (e.g. fluorescence): flip
        gray = gray.max() + gray.min() - gray
    objects, thin, width = _find_objects(gray)
    objects, thin = _drop_text_rows(objects, thin, width)
    if not objects:
        raise ValueError(f"{name}: no chromosome found (expected dark chromosomes on a light background, "
                         "wider than text strokes)")
    classes, rows = _classify(objects, thin, width)
    from kerasgan.chromosome.data import _to_uint8, preprocess_image

    gray8 = _to_uint8(np.asarray(image) if np.asarray(image).ndim == 2 and not inverted else gray)
    fill = int(np.percentile(gray8, 90))
    side = max(9, max(max(o.bbox[2] - o.bbox[0], o.bbox[3] - o.bbox[1]) for o in objects)) + 4
    crops = []
    for obj, cls, row in zip(objects, classes, rows):
        x0, y0, x1, y1 = obj.bbox
        region = gray8[y0:y1, x0:x1].copy()
        # Other chromosomes reaching into the box are painted over with the background.
        keep = cv2.dilate(obj.mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        region[~keep] = fill
        pad_y, pad_x = max(2, (9 - region.shape[0]) // 2 + 1), max(2, (9 - region.shape[1]) // 2 + 1)
        region = cv2.copyMakeBorder(region, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=fill)
        crops.append(KaryogramCrop(image=preprocess_image(region, size, canvas=side), bbox=obj.bbox,
                                   chromosome_class=cls, row=row, touching=obj.touching, separated=obj.separated))
    order = sorted(range(len(crops)), key=lambda i: (crops[i].row if crops[i].row is not None else 0,
                                                       crops[i].bbox[0] if crops[i].row is not None else crops[i].bbox[1],
                                                       crops[i].bbox[1]))
    return [crops[i] for i in order]


def _dark_background(gray):
    """True when most of the image (the background) is darker than the middle of its range."""
    low, high = np.percentile(gray, [0.5, 99.5])
    return bool(np.median(gray) < (low + high) / 2)


def looks_like_karyogram(image, minimum=10):
    """True when an image holds at least `minimum` chromosome-like components (a karyogram or
    metaphase, not a single crop)."""
    gray = as_gray_float(image)
    if _dark_background(gray):
        gray = gray.max() + gray.min() - gray
    objects, _, _ = _find_objects(gray)
    return len(objects) >= minimum


def bbox_iou(a, b):
    """Intersection over union of two (x0, y0, x1, y1) boxes (x1, y1 exclusive)."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
