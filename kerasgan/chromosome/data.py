"""Chromosome data: folder loading (the paper's preprocessing) and tf.data pipelines of
(banded mask, image) pairs built on the fly.

Extraction f_BPE runs once per image (`ChromosomeSet`, cacheable to .npz); it keeps each
image's pattern and the projection index map of its perpendicular lines (which axis point
every chromosome pixel takes its value from). Back-projection f_SEG of any pattern onto that
shape is then one gather, done inside the tf.data graph per sample:

    mask = where(index_map >= 0, 127 * pattern[resampled(index_map)], 255)

so a pipeline can draw a different pattern per sample (the image's own, a Perlin pattern
from a `PerlinBank`, or a structurally edited one) at thousands of pairs per second.

Paper preprocessing (section 3): grayscale, square padding, resize to 128 x 128.
"""

import dataclasses
import os
import pathlib

import cv2
import numpy as np

from kerasgan.chromosome import extraction
from kerasgan.chromosome.extraction import BACKGROUND, WHITE

DEFAULT_SIZE = 128


# ----------------------------------------------------------------------------- preprocessing


def _to_uint8(image):
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image.astype(np.float32) / 257.0).astype(np.uint8)
    gray = extraction.as_gray_float(image)
    low, high = float(gray.min()), float(gray.max())
    if low >= 0.0 and high <= 1.0:
        return np.round(gray * 255).astype(np.uint8)
    return np.round((gray - low) / max(high - low, 1e-12) * 255).astype(np.uint8)


def preprocess_image(image, size=DEFAULT_SIZE, canvas=None):
    """The paper's preprocessing: grayscale, square padding (background value), resize.

    Args:
        image: H x W or H x W x C array (uint8, uint16 or float; colour -> luminance).
        size: output side (128 in the paper).
        canvas: pad to this square side first (the paper pads a karyotype's chromosomes to
            its biggest one, so relative sizes survive); None pads to the image's longer side.
    Returns: uint8 size x size.
    """
    gray = extraction.as_gray_float(image)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = gray  # luminance in the original value scale
    elif array.ndim == 3:
        array = array[..., 0]
    array = _to_uint8(array if array.dtype in (np.uint8, np.uint16) else gray)
    height, width = array.shape
    side = max(height, width) if canvas is None else int(canvas)
    if side < max(height, width):
        raise ValueError(f"canvas {side} is smaller than the image ({height} x {width})")
    # Pad with the background level: the bright end of the border (a tight crop's border
    # also crosses the chromosome, so not its median).
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    value = int(np.percentile(border, 90))
    top, left = (side - height) // 2, (side - width) // 2
    padded = cv2.copyMakeBorder(
        array, top, side - height - top, left, side - width - left, cv2.BORDER_CONSTANT, value=value
    )
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(padded, (size, size), interpolation=interpolation)


KARYOGRAM_MINIMUM = 10  # chromosome-like components that make an image a karyogram


def load_folder(folder, size=DEFAULT_SIZE, canvas="largest", recursive=False, karyograms="auto",
                return_classes=False, log=None):
    """Read a folder of single-chromosome images and/or karyograms, preprocessed as the paper.

    Args:
        folder: path with .png/.jpg/.tif/.bmp files (grayscale or colour, 8/16 bit).
        size: output side (128).
        canvas: "largest" pads every single-chromosome image to the largest side among them
            (keeps relative chromosome sizes, as the paper pads a karyotype to its biggest
            chromosome); "own" pads each image to its own longer side; an int pads to that side.
        karyograms: "auto" treats an image with at least KARYOGRAM_MINIMUM chromosome-like
            components as a karyogram (or metaphase) and cuts it with `kc.crop_karyogram`
            (padded to that karyogram's biggest chromosome); "never" reads every file as one
            chromosome.
        return_classes: also return each image's class ("" for single images and crops whose
            class the layout did not give).
        log: a print-like callable told how many chromosomes each karyogram gave.
    Returns: (images uint8 N x size x size, list of paths [, classes]); a crop's path is
    "FILE#INDEX".
    Raises FileNotFoundError for a missing folder, ValueError for a folder without images or
    an unreadable file (the message names it).
    """
    from kerasgan.data.image_io import list_images, read_image

    if karyograms not in ("auto", "never"):
        raise ValueError(f"karyograms must be 'auto' or 'never', got {karyograms!r}")
    if not (canvas in ("largest", "own") or (isinstance(canvas, (int, np.integer)) and not isinstance(canvas, bool))):
        raise ValueError(f"canvas must be 'largest', 'own' or an int, got {canvas!r}")
    paths = list_images(folder, recursive=recursive)
    if not paths:
        raise ValueError(f"image folder '{os.fspath(folder)}' holds no .png/.jpg/.tif/.bmp image")
    raw = [read_image(path, channels=1)[..., 0] for path in paths]
    singles, crops = [], []  # (index into paths, image) / (name, image, class)
    for index, image in enumerate(raw):
        if karyograms == "auto" and max(image.shape) > 2 * size:
            from kerasgan.chromosome.karyogram import crop_karyogram, looks_like_karyogram

            if looks_like_karyogram(image, KARYOGRAM_MINIMUM):
                cut = crop_karyogram(image, size=size, name=f"karyogram '{paths[index]}'")
                classes = [c.chromosome_class for c in cut if c.chromosome_class]
                if log is not None:
                    log(f"karyogram {paths[index]}: {len(cut)} chromosomes"
                        + (f", {len(classes)} with a class from the layout" if classes else ", no layout classes")
                        + (f", {sum(c.touching for c in cut)} touching" if any(c.touching for c in cut) else ""))
                crops += [(f"{paths[index]}#{j:02d}", c.image, c.chromosome_class or "") for j, c in enumerate(cut)]
                continue
        singles.append((index, image))
    side = None
    if canvas == "largest" and singles:
        side = max(max(image.shape) for _, image in singles)
    elif canvas != "own" and canvas != "largest":
        side = int(canvas)
    images = [preprocess_image(image, size, side) for _, image in singles] + [image for _, image, _ in crops]
    names = [paths[index] for index, _ in singles] + [name for name, _, _ in crops]
    classes = [""] * len(singles) + [cls for _, _, cls in crops]
    images = np.stack(images)
    return (images, names, classes) if return_classes else (images, names)


# ----------------------------------------------------------------------------- extraction cache


def _extract_one(image):
    try:
        result = extraction.extract(image)
    except ValueError as error:
        return None, str(error)
    index = result.lines.index_map
    return (result.pattern, index.astype(np.int16)), None


def extract_many(images, workers=None, progress=False):
    """Run f_BPE on many images; returns a list of (pattern, index_map) or None, and errors.

    `workers` > 1 uses that many processes (extraction is single-threaded numpy/OpenCV).
    """
    images = list(images)
    workers = int(workers or 1)
    iterator = None
    if workers > 1 and len(images) > 64:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with context.Pool(workers) as pool:
            iterator = pool.imap(_extract_one, images, chunksize=32)
            results = list(_progress(iterator, len(images), progress))
    else:
        results = [_extract_one(image) for image in _progress(images, len(images), progress)]
    return [value for value, _ in results], [error for _, error in results]


def _progress(iterable, total, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="extracting banding patterns", unit="img")


@dataclasses.dataclass
class ChromosomeSet:
    """Images with their extracted patterns and projection index maps (f_BPE done once).

    Attributes:
        images: uint8 N x S x S (dark chromosome on light background).
        patterns: list of N uint8 {0,1} vectors (0 = black band).
        index_maps: int16 N x S x S, axis index per chromosome pixel, -1 for background.
        names: N labels (file paths or "synthetic-<i>").
        synthetic: True when the images come from the SYNTHETIC renderer.
        classes: N chromosome classes ("1".."22", "X", "Y"; "" where unknown), or None when
            no image has a known class. Per-class scores (the paper's Figure 4) use them.
    """

    images: np.ndarray
    patterns: list
    index_maps: np.ndarray
    names: list
    synthetic: bool = False
    classes: list = None

    def __post_init__(self):
        if self.classes is not None:
            self.classes = [str(c) for c in self.classes]
            if len(self.classes) != len(self.images):
                raise ValueError(f"classes has {len(self.classes)} entries for {len(self.images)} images")
            if not any(self.classes):
                self.classes = None

    def __len__(self):
        return len(self.images)

    @property
    def size(self):
        return int(self.images.shape[1])

    @classmethod
    def from_images(cls, images, names=None, workers=None, progress=False, synthetic=False, classes=None):
        """Extract every image; images where extraction fails are skipped with a warning."""
        images = np.asarray(images)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or images.shape[1] != images.shape[2]:
            raise ValueError(f"images must be N x S x S (square, grayscale), got shape {images.shape}")
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8 (use preprocess_image first), got {images.dtype}")
        names = list(names) if names is not None else [f"image-{i}" for i in range(len(images))]
        results, errors = extract_many(images, workers=workers, progress=progress)
        keep = [i for i, value in enumerate(results) if value is not None]
        skipped = [(names[i], errors[i]) for i in range(len(images)) if results[i] is None]
        if skipped:
            import warnings

            shown = "; ".join(f"{name}: {error}" for name, error in skipped[:3])
            warnings.warn(f"skipped {len(skipped)} of {len(images)} images whose banding pattern "
                          f"could not be extracted ({shown})", RuntimeWarning, stacklevel=2)
        if not keep:
            raise ValueError("no image yielded a banding pattern (is it a dark chromosome on a light background?)")
        return cls(
            images=images[keep],
            patterns=[results[i][0] for i in keep],
            index_maps=np.stack([results[i][1] for i in keep]),
            names=[names[i] for i in keep],
            synthetic=synthetic,
            classes=None if classes is None else [str(classes[i]) for i in keep],
        )

    @classmethod
    def from_folder(cls, folder, size=DEFAULT_SIZE, canvas="largest", workers=None, progress=False):
        images, paths, classes = load_folder(folder, size=size, canvas=canvas, return_classes=True,
                                             log=print if progress else None)
        return cls.from_images(images, names=[str(p) for p in paths], workers=workers, progress=progress,
                               classes=classes)

    @classmethod
    def synthetic_set(cls, count, seed=0, size=DEFAULT_SIZE, workers=None, progress=False, kind="random"):
        """`count` SYNTHETIC chromosomes (renderer), extracted like real images.

        kind "random" (random banding) or "ideogram" (the 24 human chromosome classes, with
        their classes recorded); see `kerasgan.chromosome.synthetic.render_dataset`.
        """
        from kerasgan.chromosome.synthetic import render_dataset

        images, _, _, classes = render_dataset(count, seed=seed, size=size, progress=progress, kind=kind,
                                               return_classes=True)
        prefix = "synthetic" if kind == "random" else f"synthetic-{kind}"
        names = [f"{prefix}-{seed}-{i}" for i in range(count)]
        return cls.from_images(images, names=names, workers=workers, progress=progress, synthetic=True,
                               classes=classes)

    @classmethod
    def concatenate(cls, sets):
        """One set of several (same image size); classes kept where known."""
        sets = list(sets)
        if not sets:
            raise ValueError("concatenate needs at least one ChromosomeSet")
        sizes = {s.size for s in sets}
        if len(sizes) != 1:
            raise ValueError(f"cannot concatenate chromosome sets of different image sizes {sorted(sizes)}")
        classes = None
        if any(s.classes is not None for s in sets):
            classes = [c for s in sets for c in (s.classes if s.classes is not None else [""] * len(s))]
        return cls(np.concatenate([s.images for s in sets]), [p for s in sets for p in s.patterns],
                   np.concatenate([s.index_maps for s in sets]), [n for s in sets for n in s.names],
                   all(s.synthetic for s in sets), classes)

    def save(self, path):
        """Cache to a compressed .npz (patterns stored padded with their lengths)."""
        from kerasgan.data.image_io import atomic_write_bytes
        import io

        lengths = np.array([len(p) for p in self.patterns], np.int32)
        padded = np.zeros((len(self), max(lengths.max(), 1)), np.uint8)
        for row, pattern in enumerate(self.patterns):
            padded[row, : len(pattern)] = pattern
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=self.images, patterns=padded, lengths=lengths,
                            index_maps=self.index_maps, names=np.array(self.names),
                            synthetic=np.array(self.synthetic),
                            classes=np.array(self.classes if self.classes is not None else [""] * len(self)))
        atomic_write_bytes(path, buffer.getvalue())
        return pathlib.Path(path)

    @classmethod
    def load(cls, path):
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"chromosome set cache '{path}' does not exist")
        with np.load(path, allow_pickle=False) as data:
            lengths = data["lengths"]
            patterns = [data["patterns"][i, :n].copy() for i, n in enumerate(lengths)]
            classes = [str(c) for c in data["classes"]] if "classes" in data.files else None
            return cls(data["images"], patterns, data["index_maps"], [str(n) for n in data["names"]],
                       bool(data["synthetic"]), classes)

    def split(self, fractions=(0.7, 0.15, 0.15), seed=0):
        """Random train/validation/test split (the paper's 0.7/0.15/0.15)."""
        if abs(sum(fractions) - 1.0) > 1e-6:
            raise ValueError(f"fractions must sum to 1, got {fractions}")
        order = np.random.default_rng(seed).permutation(len(self))
        bounds = np.round(np.cumsum(fractions)[:-1] * len(self)).astype(int)
        return [self.subset(part) for part in np.split(order, bounds)]

    def subset(self, indices):
        indices = np.asarray(indices, np.int64)
        classes = None if self.classes is None else [self.classes[i] for i in indices]
        return ChromosomeSet(self.images[indices], [self.patterns[i] for i in indices],
                             self.index_maps[indices], [self.names[i] for i in indices], self.synthetic, classes)

    def banded_mask(self, i, pattern=None):
        """f_SEG of `pattern` (default the image's own) onto shape i, in numpy."""
        pattern = self.patterns[i] if pattern is None else extraction.check_pattern(pattern)
        index = self.index_maps[i].astype(np.int64)
        length = len(self.patterns[i])
        values = extraction.resample_pattern(pattern, length) * np.uint8(WHITE)
        out = np.full(index.shape, BACKGROUND, np.uint8)
        inside = index >= 0
        out[inside] = values[index[inside]]
        return out

    def edited_patterns(self, per_image=4, seed=0):
        """Random structural edits of each image's pattern (resampled to its own length)."""
        from kerasgan.chromosome import patterns as pattern_module

        rng = np.random.default_rng(seed)
        out = np.zeros((len(self), per_image, max(len(p) for p in self.patterns)), np.uint8)
        for i, pattern in enumerate(self.patterns):
            for j in range(per_image):
                edited = random_edit(pattern, rng, pattern_module)
                out[i, j, : len(pattern)] = extraction.resample_pattern(edited, len(pattern))
        return out


def random_edit(pattern, rng, pattern_module=None):
    """One random named structural edit (deletion, duplication, inversion, insertion)."""
    if pattern_module is None:
        from kerasgan.chromosome import patterns as pattern_module
    kind = rng.choice(["deletion", "duplication", "inversion", "insertion"])
    start = rng.uniform(0.05, 0.7)
    end = min(start + rng.uniform(0.1, 0.3), 0.95)
    if kind == "insertion":
        donor = pattern[int(start * len(pattern)) : max(int(end * len(pattern)), int(start * len(pattern)) + 1)]
        return pattern_module.edit(pattern, insertion=(rng.uniform(0.1, 0.9), donor[::-1]))
    return pattern_module.edit(pattern, **{kind: (start, end)})


# ----------------------------------------------------------------------------- tf.data


def _padded_patterns(chromosomes):
    lengths = np.array([len(p) for p in chromosomes.patterns], np.int32)
    padded = np.zeros((len(chromosomes), int(lengths.max())), np.uint8)
    for row, pattern in enumerate(chromosomes.patterns):
        padded[row, : len(pattern)] = pattern
    return padded, lengths


def _project(tf, patterns, index_maps):
    """Batch back-projection in the graph: patterns B x K (uint8), index maps B x S x S."""
    index = tf.cast(index_maps, tf.int32)
    values = tf.gather(tf.cast(patterns, tf.int32), tf.maximum(index, 0), batch_dims=1)
    return tf.where(index >= 0, values * WHITE, BACKGROUND)


def _augment(tf, tensors, seed):
    """Same random dihedral transform (flips, transpose) on every tensor of a batch element."""
    batch = tf.shape(tensors[0])[0]
    draws = tf.random.stateless_uniform([3, batch], seed=seed)
    out = []
    for x in tensors:
        flip_x = tf.reshape(draws[0] < 0.5, [-1, 1, 1, 1])
        flip_y = tf.reshape(draws[1] < 0.5, [-1, 1, 1, 1])
        transpose = tf.reshape(draws[2] < 0.5, [-1, 1, 1, 1])
        x = tf.where(flip_x, tf.reverse(x, [2]), x)
        x = tf.where(flip_y, tf.reverse(x, [1]), x)
        x = tf.where(transpose, tf.transpose(x, [0, 2, 1, 3]), x)
        out.append(x)
    return out


JITTERS = ("dihedral", "reference", "none")


def resize_pair(mask, image, size):
    """Mask and image batches (B x S x S x 1) resized to `size`: nearest for the mask (its three
    levels stay exact), bilinear for the image."""
    import tensorflow as tf

    size = [int(size), int(size)]
    return (tf.image.resize(mask, size, method="nearest"),
            tf.image.resize(image, size, method="bilinear"))


def reference_load_size(size):
    """pix2pix's load size for a crop of `size`: 286 for 256 (scaled alike for other sizes)."""
    return int(round(size * 286 / 256))


def reference_jitter(mask, image, seed, size=None):
    """pix2pix's training jitter on a batch: resize to 286, random 256 crop, random horizontal
    flip, each example drawn alone and the same draw on its mask and image.

    `size` is the crop (default: the input size); the load size is `reference_load_size`.
    """
    import tensorflow as tf

    size = int(size or mask.shape[1])
    load = reference_load_size(size)
    mask, image = resize_pair(mask, image, load)
    batch = tf.shape(mask)[0]
    draws = tf.random.stateless_uniform([3, batch], seed=seed)
    span = load - size + 1
    top = tf.minimum(tf.cast(draws[0] * span, tf.int32), span - 1)
    left = tf.minimum(tf.cast(draws[1] * span, tf.int32), span - 1)
    flip = tf.reshape(draws[2] < 0.5, [-1, 1, 1, 1])
    rows = top[:, None] + tf.range(size)[None]
    columns = left[:, None] + tf.range(size)[None]
    out = []
    for x in (mask, image):
        x = tf.gather(x, rows, axis=1, batch_dims=1)
        x = tf.gather(x, columns, axis=2, batch_dims=1)
        out.append(tf.where(flip, tf.reverse(x, [2]), x))
    return tuple(out)


def _perlin_patterns(tf, bank_noise, lengths, max_length, seed, mean_band):
    """Draw one Perlin pattern per example from a bank (random track, stretch, window)."""
    from kerasgan.chromosome.patterns import PerlinBank

    batch = tf.shape(lengths)[0]
    tracks, track_length = bank_noise.shape
    draws = tf.random.stateless_uniform([3, batch], seed=seed)
    step = PerlinBank.reference_band / (mean_band * (0.6 + draws[0]))
    step = tf.minimum(step, (track_length - 1) / tf.maximum(tf.cast(lengths - 1, tf.float32), 1.0))
    span = step * tf.cast(lengths - 1, tf.float32)
    track = tf.cast(draws[1] * tracks, tf.int32)
    start = draws[2] * (track_length - 1 - span)
    positions = start[:, None] + step[:, None] * tf.range(max_length, dtype=tf.float32)[None]
    positions = tf.clip_by_value(tf.cast(tf.round(positions), tf.int32), 0, track_length - 1)
    rows = tf.gather(tf.constant(bank_noise, tf.float16), tf.minimum(track, tracks - 1))
    values = tf.gather(rows, positions, batch_dims=1)
    return tf.cast(values < 0, tf.uint8)


def pair_dataset(chromosomes, batch_size=32, augment=True, shuffle=True, repeat=True, seed=0,
                 drop_remainder=True, image_size=None, jitter=None):
    """(banded mask, image) training pairs, both float32 B x S x S x 1 in [-1, 1].

    The mask is f_SEG(f_BPE(image), shape(image)) made in the graph per sample. `image_size`
    (e.g. 256, the paper) upscales both from the data's size (nearest for the mask, bilinear
    for the image). `jitter`: "dihedral" (the same random flip/transpose on mask and image),
    "reference" (`reference_jitter`: resize 286, crop 256, flip) or "none"; None means
    "dihedral" when `augment` else "none". Batched, parallel, prefetched.
    """
    if jitter is None:
        jitter = "dihedral" if augment else "none"
    if jitter not in JITTERS:
        raise ValueError(f"jitter must be one of {JITTERS}, got {jitter!r}")
    import tensorflow as tf

    patterns, _ = _padded_patterns(chromosomes)
    count = len(chromosomes)
    if count == 0:
        raise ValueError("pair_dataset got an empty ChromosomeSet")
    images = tf.constant(chromosomes.images)
    index_maps = tf.constant(chromosomes.index_maps)
    pattern_table = tf.constant(patterns)

    def make_batch(indices, step):
        mask = _project(tf, tf.gather(pattern_table, indices), tf.gather(index_maps, indices))
        mask = tf.cast(mask, tf.float32)[..., None] / 127.5 - 1.0
        image = tf.cast(tf.gather(images, indices), tf.float32)[..., None] / 127.5 - 1.0
        if image_size is not None and int(image_size) != chromosomes.size:
            mask, image = resize_pair(mask, image, image_size)
        draw_seed = tf.stack([tf.cast(seed, tf.int64), step])
        if jitter == "dihedral":
            mask, image = _augment(tf, [mask, image], draw_seed)
        elif jitter == "reference":
            mask, image = reference_jitter(mask, image, draw_seed)
        return mask, image

    dataset = tf.data.Dataset.range(count)
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder and repeat)
    dataset = dataset.enumerate().map(lambda step, idx: make_batch(idx, step),
                                      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def mask_dataset(chromosomes, pattern="perlin", batch_size=32, seed=0, bank=None,
                 edits_per_image=4, mean_band=None, repeat=False, with_images=False):
    """Banded masks on the set's real shapes with a chosen pattern source (no augmentation).

    pattern: "real" (each image's own), "perlin" (the paper's test_perlin, from a
    `PerlinBank`), or "edited" (random deletion/duplication/inversion/insertion of the own
    pattern). Yields B x S x S x 1 float32 masks in [-1, 1] in set order, or (mask, image)
    with `with_images`.
    """
    import tensorflow as tf

    from kerasgan.chromosome.patterns import DEFAULT_MEAN_BAND, PerlinBank

    if pattern not in ("real", "perlin", "edited"):
        raise ValueError(f"pattern must be 'real', 'perlin' or 'edited', got {pattern!r}")
    padded, lengths = _padded_patterns(chromosomes)
    max_length = padded.shape[1]
    index_maps = tf.constant(chromosomes.index_maps)
    length_table = tf.constant(lengths)
    images = tf.constant(chromosomes.images)
    if pattern == "edited":
        table = tf.constant(chromosomes.edited_patterns(edits_per_image, seed))
    else:
        table = tf.constant(padded)
    noise = None
    if pattern == "perlin":
        noise = (bank or PerlinBank()).noise.astype(np.float16)
    mean_band = float(mean_band or DEFAULT_MEAN_BAND)

    def make_batch(step, indices):
        batch_lengths = tf.gather(length_table, indices)
        batch_seed = tf.stack([tf.cast(seed, tf.int64), step])
        if pattern == "perlin":
            chosen = _perlin_patterns(tf, noise, batch_lengths, max_length, batch_seed, mean_band)
        elif pattern == "edited":
            which = tf.random.stateless_uniform([tf.shape(indices)[0]], batch_seed, 0, edits_per_image, tf.int32)
            chosen = tf.gather(tf.gather(table, indices), which, batch_dims=1)
        else:
            chosen = tf.gather(table, indices)
        mask = tf.cast(_project(tf, chosen, tf.gather(index_maps, indices)), tf.float32)[..., None] / 127.5 - 1.0
        if with_images:
            return mask, tf.cast(tf.gather(images, indices), tf.float32)[..., None] / 127.5 - 1.0
        return mask

    dataset = tf.data.Dataset.range(len(chromosomes))
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size).enumerate()
    dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def masks_to_uint8(masks):
    """[-1, 1] float masks (any shape) -> uint8 0/127/255, snapped to the nearest level."""
    values = (np.asarray(masks, np.float32) + 1.0) * 127.5
    levels = np.array([0, WHITE, BACKGROUND], np.float32)
    return levels[np.argmin(np.abs(values[..., None] - levels), axis=-1)].astype(np.uint8)
