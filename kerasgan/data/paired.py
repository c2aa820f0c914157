"""tf.data pipeline of paired images for pix2pix-style training.

Two layouts, as the reference pix2pix datasets:
  * "aligned": one folder, each file holds condition | target side by side (A|B);
  * "folders": two folders, files matched by name (stem), condition in one and target in the other.

Decoding runs OpenCV through `tf.numpy_function` in parallel (`AUTOTUNE`), so PNG, JPEG and
TIFF, 8- or 16-bit, grayscale or colour all load; values are scaled by the dtype's range to
[-1, 1]. Training jitter is pix2pix's: resize to 286/256 of the output size, random crop back,
random horizontal flip, the same crop and flip on both images of a pair.
"""

import pathlib

import numpy as np

from kerasgan._args import check_int
from kerasgan.data.image_io import (convert_channels, decode_image, image_info,
                                    list_images, to_unit_float)

# TensorFlow is imported inside paired_image_dataset: find_pairs and check_pairs run in the
# CLI before it, so a wrong path fails in a fraction of a second.

LAYOUTS = ("auto", "aligned", "folders")


def _by_stem(files):
    """{stem: path}; two files with one stem (x.png and x.jpg) are refused naming both."""
    found = {}
    for path in files:
        if path.stem in found:
            raise ValueError(f"'{found[path.stem]}' and '{path}' have the same name '{path.stem}': "
                             "they cannot both be paired or written; remove or rename one")
        found[path.stem] = path
    return found


def match_by_name(condition_dir, target_dir, condition_label="condition", target_label="target"):
    """Files of two folders paired by file name (stem): (conditions, targets), sorted by name.

    Raises ValueError for an empty folder, or naming an example of each unmatched side, e.g.
    "2 condition(s) without a target (e.g. 'A/x.png')".
    """
    conditions = _by_stem(list_images(condition_dir))
    targets = _by_stem(list_images(target_dir))
    if not conditions:
        raise ValueError(f"no images (.png .jpg .jpeg .tif .tiff .bmp) in {condition_label} folder '{condition_dir}'")
    if not targets:
        raise ValueError(f"no images (.png .jpg .jpeg .tif .tiff .bmp) in {target_label} folder '{target_dir}'")
    unmatched_conditions = sorted(set(conditions) - set(targets))
    unmatched_targets = sorted(set(targets) - set(conditions))
    if unmatched_conditions or unmatched_targets:
        parts = []
        if unmatched_conditions:
            parts.append(f"{len(unmatched_conditions)} {condition_label}(s) without a {target_label} "
                         f"(e.g. '{conditions[unmatched_conditions[0]]}')")
        if unmatched_targets:
            parts.append(f"{len(unmatched_targets)} {target_label}(s) without a {condition_label} "
                         f"(e.g. '{targets[unmatched_targets[0]]}')")
        raise ValueError(f"files in '{condition_dir}' and '{target_dir}' do not pair by file name: "
                         + "; ".join(parts))
    names = sorted(conditions)
    return [str(conditions[n]) for n in names], [str(targets[n]) for n in names]


def find_pairs(source, target_dir=None, layout="auto"):
    """Resolve the files of a paired data set.

    Returns (layout, condition_files, target_files); for "aligned", target_files is None.
    `layout="auto"`: two folders when `target_dir` is given or `source` has subfolders A/ and B/
    (or condition/ and target/), else aligned A|B files in `source`.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    source = pathlib.Path(source)
    if not source.exists():
        raise FileNotFoundError(f"data folder '{source}' does not exist")
    if target_dir is None and layout in ("auto", "folders"):
        for a, b in (("A", "B"), ("condition", "target"), ("masks", "images")):
            if (source / a).is_dir() and (source / b).is_dir():
                source, target_dir = source / a, source / b
                break
    if target_dir is not None:
        conditions, targets = match_by_name(source, target_dir)
        return "folders", conditions, targets
    if layout == "folders":
        raise ValueError(f"layout='folders' needs target_dir or subfolders A/ and B/ in '{source}'")
    files = [str(p) for p in _by_stem(list_images(source)).values()]
    if not files:
        raise ValueError(f"no images (.png .jpg .jpeg .tif .tiff .bmp) in '{source}'")
    return "aligned", files, None


def _check_nonempty(paths):
    for path in paths:
        if pathlib.Path(path).stat().st_size == 0:
            raise ValueError(f"image file '{path}' is empty (0 bytes)")


def _scale(image, source):
    # The value-range rule of read_image / to_unit_float, so both read a file alike.
    return to_unit_float(image, f"image file {source}") * 2.0 - 1.0


def check_pairs(layout, conditions, targets=None):
    """Check a paired data set's files before training; returns (condition_channels,
    target_channels) of the files (1 grey, 3 colour).

    Refused with a ValueError naming the files: an aligned A|B file that is not twice as
    wide as high; a condition and target of different sizes; grey and colour files mixed in
    one folder (the first file would decide and the others be converted silently).
    Reads the image headers only (PIL), not the pixels.
    """
    def channels_of(files, label):
        first_path, first = None, None
        for path in files:
            height, width, channels = image_info(path)
            if first is None:
                first_path, first = path, channels
            elif channels != first:
                kinds = {1: "grey", 3: "colour"}
                raise ValueError(f"{label} folder mixes {kinds[first]} and {kinds[channels]} images "
                                 f"('{first_path}' is {kinds[first]}, '{path}' is {kinds[channels]}); "
                                 "convert them to one kind")
            yield path, height, width, channels

    if layout == "aligned":
        channels = None
        for path, height, width, channels in channels_of(conditions, "aligned data"):
            if width != 2 * height:
                raise ValueError(f"aligned A|B file '{path}' is {width}x{height} pixels; aligned files "
                                 "hold two square halves side by side (width = 2 x height). For other "
                                 "shapes use two folders (A/ and B/) matched by file name")
        return channels, channels
    condition_info = list(channels_of(conditions, "condition"))
    target_info = list(channels_of(targets, "target"))
    for (c_path, c_h, c_w, _), (t_path, t_h, t_w, _) in zip(condition_info, target_info):
        if (c_h, c_w) != (t_h, t_w):
            raise ValueError(f"pair of different sizes: '{c_path}' is {c_w}x{c_h} but '{t_path}' is "
                             f"{t_w}x{t_h}; a condition and its target must have the same size")
    return condition_info[0][3], target_info[0][3]


def _load(path, channels):
    path = path.decode() if isinstance(path, bytes) else str(path)
    with open(path, "rb") as handle:
        data = handle.read()
    image = decode_image(data, f"'{path}'")
    if channels is not None and image.shape[-1] != channels:
        try:  # grayscale <-> colour and dropping alpha are safe; anything else is an error
            image = convert_channels(image, channels, f"'{path}'")
        except ValueError:
            raise ValueError(
                f"image file '{path}' has {image.shape[-1]} channels; this data set uses {channels}"
            ) from None
    return _scale(image, f"'{path}'")


def paired_image_dataset(
    source,
    target_dir=None,
    *,
    layout="auto",
    image_size=256,
    condition_channels=None,
    target_channels=None,
    batch_size=1,
    shuffle=True,
    jitter=True,
    direction="AtoB",
    seed=None,
    repeat=False,
    num_shards=1,
    shard_index=0,
    drop_remainder=False,
):
    """Build a batched `tf.data.Dataset` of (condition, target) pairs in [-1, 1].

    Args:
        source: folder of aligned A|B images, or the condition folder (with `target_dir`), or a
            folder holding A/ and B/ subfolders.
        image_size: output side (int) or (height, width).
        condition_channels, target_channels: 1 or 3; default from the first pair's files.
            A grayscale/colour mismatch is converted; any other mismatch raises naming the file.
        jitter: pix2pix's resize-to-286/256 + random crop + horizontal flip (training only).
        direction: "AtoB" (left/first folder is the condition) or "BtoA".
        num_shards, shard_index: shard by *file* (each worker of a multi-host run reads its
            own files); tf.data's auto-sharding is then turned off on purpose.
    """
    import tensorflow as tf

    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
    batch_size = check_int(batch_size, "batch_size")
    if isinstance(image_size, (str, bytes)) or (not np.isscalar(image_size) and len(tuple(image_size)) != 2):
        raise TypeError(f"image_size must be an int or (height, width), got {image_size!r}")
    height, width = (image_size, image_size) if np.isscalar(image_size) else tuple(image_size)
    height, width = check_int(height, "image_size"), check_int(width, "image_size")
    num_shards = check_int(num_shards, "num_shards")
    shard_index = check_int(shard_index, "shard_index", minimum=0)
    if shard_index >= num_shards:
        raise ValueError(f"shard_index must be below num_shards={num_shards}, got {shard_index}")
    for label, value in (("condition_channels", condition_channels), ("target_channels", target_channels)):
        if value is not None:
            check_int(value, label)
    layout, conditions, targets = find_pairs(source, target_dir, layout)
    _check_nonempty(conditions + (targets or []))
    file_condition_channels, file_target_channels = check_pairs(layout, conditions, targets)
    if num_shards > len(conditions):
        raise ValueError(f"num_shards={num_shards} is more than the {len(conditions)} pairs: "
                         "some shards would be empty")
    aligned = layout == "aligned"
    if direction == "BtoA" and not aligned:
        conditions, targets = targets, conditions

    if direction == "BtoA" and not aligned:
        file_condition_channels, file_target_channels = file_target_channels, file_condition_channels
    condition_channels = condition_channels or file_condition_channels
    target_channels = target_channels or file_target_channels

    if aligned:
        files = tf.data.Dataset.from_tensor_slices(conditions)
    else:
        files = tf.data.Dataset.from_tensor_slices((conditions, targets))
    if num_shards > 1:
        files = files.shard(num_shards, shard_index)
    if shuffle:
        files = files.shuffle(len(conditions), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        files = files.repeat()

    def load_aligned(path):
        channels = max(condition_channels, target_channels)
        both = tf.numpy_function(lambda p: _load(p, channels), [path], tf.float32)
        both.set_shape([None, None, channels])
        half = tf.shape(both)[1] // 2
        left, right = both[:, :half, :condition_channels], both[:, half:, :target_channels]
        if direction == "BtoA":
            left, right = both[:, :half, :target_channels], both[:, half:, :condition_channels]
            return right, left
        return left, right

    def load_folders(condition_path, target_path):
        condition = tf.numpy_function(lambda p: _load(p, condition_channels), [condition_path], tf.float32)
        target = tf.numpy_function(lambda p: _load(p, target_channels), [target_path], tf.float32)
        condition.set_shape([None, None, condition_channels])
        target.set_shape([None, None, target_channels])
        return condition, target

    def prepare(index, condition, target):
        size = jitter_size if jitter else [height, width]
        stacked = tf.concat(
            [tf.image.resize(condition, size, antialias=True), tf.image.resize(target, size, antialias=True)],
            axis=-1,
        )
        if jitter:
            # Stateless ops seeded by (seed, element index): the same epoch gives the same crops
            # in a resumed run as in an uninterrupted one.
            element_seed = tf.stack([tf.cast(seed or 0, tf.int64), index])
            crop_seed = tf.random.experimental.stateless_fold_in(element_seed, 0)
            flip_seed = tf.random.experimental.stateless_fold_in(element_seed, 1)
            stacked = tf.image.stateless_random_crop(
                stacked, [height, width, condition_channels + target_channels], seed=crop_seed
            )
            stacked = tf.image.stateless_random_flip_left_right(stacked, seed=flip_seed)
        stacked = tf.clip_by_value(stacked, -1.0, 1.0)
        return stacked[..., :condition_channels], stacked[..., condition_channels:]

    jitter_size = [int(round(height * 286 / 256)), int(round(width * 286 / 256))]
    load = load_aligned if aligned else load_folders
    dataset = files.enumerate().map(
        lambda index, paths: (index, *(load(paths) if aligned else load(*paths))),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if seed is None:
        # Unseeded runs still jitter differently per epoch.
        dataset = dataset.map(lambda i, c, t: (i + tf.random.uniform([], 0, 2**31, tf.int64), c, t))
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    if num_shards > 1:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    options.deterministic = seed is not None
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
