"""The SYNTHETIC renderer drawing real human chromosomes (ideogram bands, centromere, length),
the class-aware ChromosomeSet and the per-class evaluation (the paper's Figure 4).

Expected values come from the cytoband table read here as plain text (the data, not the code
under test) or are worked out by hand.
"""

import pathlib
import types

import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.chromosome import synthetic
from kerasgan.chromosome.commands import parse_synthetic_spec
from kerasgan.chromosome.data import ChromosomeSet
from kerasgan.chromosome.evaluation import evaluate_generator, format_class_table

BED = pathlib.Path(kc.__file__).parent / "ideogram_data" / "cytobands_chm13.bed"


def _table():
    rows = {}
    for line in BED.read_text().splitlines():
        chrom, start, end, name, stain = line.split("\t")[:5]
        rows.setdefault(chrom.removeprefix("chr"), []).append((int(start), int(end), name, stain.strip()))
    return rows


TABLE = _table()


def _length(chrom):
    return TABLE[chrom][-1][1]


def _centromere(chrom):
    # The p/q boundary: end of the last p-arm acen band.
    return max(end for start, end, name, stain in TABLE[chrom] if stain == "acen" and name.startswith("p"))


def _rows(mask):
    """(first row, last row, per-row widths) of an upright banded mask."""
    inside = mask != 255
    rows = np.flatnonzero(inside.any(1))
    return rows[0], rows[-1], inside.sum(1)


def _fake(stains, total=100.0):
    """A chromosome with equal bands of the given stains, pter first."""
    step = total / len(stains)
    bands = tuple(kc.Band(f"q{i + 1}", i * step, (i + 1) * step, stain, "F") for i, stain in enumerate(stains))
    return types.SimpleNamespace(bands=bands, length=total, centromere_fraction=0.5, relative_length=1.0)


@pytest.mark.parametrize("chrom", ["1", "5", "13"])
def test_upright_constriction_sits_at_the_ideogram_centromere(chrom):
    expected = _centromere(chrom) / _length(chrom)  # chr1 0.499, chr5 0.265, chr13 acrocentric
    errors = []
    for seed in range(4):
        mask, _ = kc.render_chromosome_mask(seed=seed, chromosome=chrom, chr1_length=100, pose="upright",
                                            width=14)
        top, bottom, widths = _rows(mask)
        length = bottom - top + 1
        margin = 8  # the rounded caps are narrower than the constriction
        interior = np.arange(top + margin, bottom - margin + 1)
        narrowest = interior[np.argmin(widths[interior])]
        errors.append(abs((narrowest - top) / length - expected))
    assert np.median(errors) < 0.06, (chrom, expected, errors)


def test_relative_lengths_follow_the_ideogram_at_one_scale():
    expected = _length("21") / _length("1")  # 45.1 Mb / 248.4 Mb = 0.18
    ratios = []
    for seed in range(3):
        extents = {}
        for chrom in ("1", "21"):
            mask, _ = kc.render_chromosome_mask(seed=seed, chromosome=chrom, chr1_length=100, pose="upright")
            top, bottom, _ = _rows(mask)
            extents[chrom] = bottom - top + 1
        ratios.append(extents["21"] / extents["1"])
        assert 95 <= extents["1"] <= 102
    assert abs(np.mean(ratios) - expected) < 0.03, (ratios, expected)


def test_upright_pose_puts_pter_at_the_top():
    fake = _fake(["gpos100"] * 3 + ["gneg"] * 3)  # black p half, white q half
    item = kc.render_chromosome(seed=0, chromosome=fake, chr1_length=90, pose="upright", width=12)
    top, bottom, _ = _rows(item.banded_mask)
    mid = (top + bottom) // 2
    upper, lower = item.banded_mask[top + 3 : mid - 3], item.banded_mask[mid + 3 : bottom - 3]
    assert np.all(upper[upper != 255] == 0)
    assert np.all(lower[lower != 255] == 127)
    # The pattern is sampled from pter: first half black (0), second half white (1).
    half = len(item.pattern) // 2
    assert item.pattern[: half - 4].max() == 0 and item.pattern[half + 4 :].min() == 1


def test_grey_levels_set_the_stain_darkness():
    fake = _fake(["gneg", "gneg", "gpos50", "gpos50", "gpos100", "gpos100"])
    means = np.zeros(3)
    for seed in range(3):
        item = kc.render_chromosome(seed=seed, chromosome=fake, chr1_length=96, pose="upright", width=14)
        top, bottom, _ = _rows(item.banded_mask)
        third = (bottom - top) / 3
        for k in range(3):
            rows = slice(int(top + k * third + 4), int(top + (k + 1) * third - 4))
            inside = item.banded_mask[rows] != 255
            means[k] += item.image[rows][inside].mean()
    gneg, gpos50, gpos100 = means / 3
    assert gneg > gpos50 + 15 and gpos50 > gpos100 + 15, means / 3


def test_mask_path_draws_the_same_shape_and_bands_as_the_image_path():
    for seed, chrom, pose in ((3, "7", "upright"), (4, "X", "random"), (5, "22", "upright")):
        mask, pattern = kc.render_chromosome_mask(seed=seed, chromosome=chrom, chr1_length=90, pose=pose,
                                                  resolution=400)
        item = kc.render_chromosome(seed=seed, chromosome=chrom, chr1_length=90, pose=pose, resolution=400)
        np.testing.assert_array_equal(mask, item.banded_mask)
        np.testing.assert_array_equal(pattern, item.pattern)


def test_backgrounds_are_white_as_in_karyotypes():
    for seed in range(5):
        for chromosome in (None, "2"):
            item = kc.render_chromosome(seed=seed, chromosome=chromosome)
            far = item.banded_mask == 255
            assert np.median(item.image[far]) >= 228, (seed, chromosome)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="chr1_length"):
        kc.render_chromosome(seed=0, chr1_length=80)
    with pytest.raises(ValueError, match="chr1_length"):
        kc.render_chromosome(seed=0, chromosome="1", chr1_length=200)
    with pytest.raises(ValueError, match="pose"):
        kc.render_chromosome(seed=0, chromosome="1", pose="sideways")
    with pytest.raises(ValueError, match="23"):
        kc.render_chromosome(seed=0, chromosome="23")
    with pytest.raises(ValueError, match="kind"):
        kc.render_dataset(2, kind="karyogram")
    with pytest.raises(TypeError, match="count"):
        kc.render_dataset(2.5)


def test_ideogram_dataset_draws_every_class_once_per_24():
    images, masks, patterns, classes = kc.render_dataset(24, seed=4, kind="ideogram", return_classes=True)
    assert sorted(classes) == sorted(synthetic.CLASSES)
    assert images.shape == masks.shape == (24, 128, 128)
    # Chromosome 1 is the longest drawn, 21 among the shortest (own random scale per image,
    # chr1 at 0.62-0.82 of the canvas, chr21 at 0.18 of that).
    extent = {c: np.ptp(np.argwhere(m != 255), axis=0).max() for c, m in zip(classes, masks)}
    assert extent["1"] > 2 * extent["21"]


def test_spec_parsing():
    assert parse_synthetic_spec("ideogram:10:3") == ("ideogram", 10, 3)
    assert parse_synthetic_spec("synthetic:5") == ("random", 5, 0)
    assert parse_synthetic_spec("some/folder") is None
    for bad in ("ideogram:x", "ideogram:0", "synthetic:1:2:3"):
        with pytest.raises(ValueError, match="--data"):
            parse_synthetic_spec(bad)


@pytest.fixture(scope="module")
def ideogram_set():
    return ChromosomeSet.synthetic_set(24, seed=4, kind="ideogram")


def test_chromosome_set_keeps_classes_through_save_subset_and_concatenate(ideogram_set, tmp_path):
    assert len(ideogram_set.classes) == len(ideogram_set)
    loaded = ChromosomeSet.load(ideogram_set.save(tmp_path / "set.npz"))
    assert loaded.classes == ideogram_set.classes
    part = ideogram_set.subset([3, 1])
    assert part.classes == [ideogram_set.classes[3], ideogram_set.classes[1]]
    random_set = ChromosomeSet.synthetic_set(2, seed=1)
    assert random_set.classes is None
    joined = ChromosomeSet.concatenate([ideogram_set, random_set])
    assert joined.classes == ideogram_set.classes + ["", ""]
    assert len(joined) == len(ideogram_set) + 2


def _drawing_generator(invert=False):
    """Draws a banded mask as a flat image: black band dark, white band light (or swapped)."""
    def generator(inputs, training=False):
        x = np.asarray(inputs)
        dark, light = (0.35, -0.5) if invert else (-0.5, 0.35)
        return np.where(x < -0.5, dark, np.where(x < 0.5, light, 0.95)).astype(np.float32)
    return generator


def test_per_class_scores_group_images_by_class(ideogram_set):
    good = evaluate_generator(_drawing_generator(), ideogram_set, sources=("real", "ideogram"))
    bad = evaluate_generator(_drawing_generator(invert=True), ideogram_set, sources=("real",))
    counts = {c: ideogram_set.classes.count(c) for c in set(ideogram_set.classes)}
    assert set(good["per_class"]) == set(counts)
    for name, entry in good["per_class"].items():
        assert entry["real"]["count"] == counts[name]
        assert entry["real"]["dice"] > 0.85, (name, entry)
        assert entry["ideogram"]["count"] == counts[name]
        assert bad["per_class"][name]["real"]["dice"] < 0.35, (name, bad["per_class"][name])
    assert good["real"]["dice"] > 0.85 and bad["real"]["dice"] < 0.35
    table = format_class_table(good)
    assert table.splitlines()[2].startswith("1 ")  # classes in karyotype order: 1, 2, ..., X, Y
    assert table.splitlines()[-1].startswith("Y ")


def test_per_class_scores_follow_each_image_to_its_class(ideogram_set):
    # The generator draws images at even positions right and at odd positions inverted, so
    # each class's Dice must follow the position of its own image (all 24 in one batch).
    good, bad = _drawing_generator(), _drawing_generator(invert=True)

    def alternating(inputs, training=False):
        out = good(inputs)
        out[1::2] = bad(inputs[1::2])
        return out

    report = evaluate_generator(alternating, ideogram_set, sources=("real",), batch_size=64)
    for index, name in enumerate(ideogram_set.classes):
        dice = report["per_class"][name]["real"]["dice"]
        if index % 2 == 0:
            assert dice > 0.85, (index, name, dice)
        else:
            assert dice < 0.35, (index, name, dice)


def test_ideogram_source_needs_classes():
    random_set = ChromosomeSet.synthetic_set(2, seed=1)
    with pytest.raises(ValueError, match="classes"):
        evaluate_generator(_drawing_generator(), random_set, sources=("ideogram",))
