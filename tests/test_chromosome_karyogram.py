"""Karyograms in and out: layout, scale, manifest, crop_karyogram, batching, CLI errors.

Tiny settings: chromosomes are drawn in 48-64 px cells by the SYNTHETIC renderer (a fake,
call-counting generator for the batched path), so the whole file runs in seconds.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.chromosome.iscn import ISCNError, karyotype
from kerasgan.data.image_io import write_image

# The standard clinical layout, written out here (not read from the code under test).
ROWS = [["1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10", "11", "12"],
        ["13", "14", "15", "16", "17", "18"], ["19", "20", "21", "22", "X", "Y"]]
ROW_OF = {c: r for r, row in enumerate(ROWS) for c in row}
ORDER = {c: i for i, c in enumerate(c for row in ROWS for c in row)}


def iou(a, b):
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def trisomy():
    return kc.render_karyogram("47,XX,+21", seed=0, size=64)


def test_layout_classes_pairs_and_rows(trisomy):
    parsed = karyotype("47,XX,+21")
    placed = trisomy.chromosomes
    assert [p.chromosome_class for p in placed] == [c.chromosome_class for c in parsed.chromosomes]
    assert [p.name for p in placed] == [c.name for c in parsed.chromosomes]
    assert sum(p.chromosome_class == "21" for p in placed) == 3 and len(placed) == 47
    for p in placed:
        assert p.row == ROW_OF[p.chromosome_class], p.chromosome_class
    for r in range(4):
        row = sorted((p for p in placed if p.row == r), key=lambda p: p.bbox[0])
        # Left to right the classes follow the layout, so the copies of a class are adjacent.
        order = [ORDER[p.chromosome_class] for p in row]
        assert order == sorted(order), [p.chromosome_class for p in row]
        if r < 3:  # every chromosome of a row lies above every chromosome of the next
            below = [p for p in placed if p.row == r + 1]
            assert max(p.bbox[3] for p in row) < min(p.bbox[1] for p in below)
    # Classes are printed under their group: the label centre is under the group's span.
    for c in ("1", "12", "21", "X"):
        group = [p.bbox for p in placed if p.chromosome_class == c]
        x0, y0, x1, y1 = trisomy.label_boxes[c]
        centre = (x0 + x1) / 2
        assert min(b[0] for b in group) - 2 <= centre <= max(b[2] for b in group) + 2
        assert y0 > max(b[3] for b in group)


def test_one_scale_across_the_karyogram():
    kg = kc.render_karyogram("46,XY", seed=5, size=128)
    parsed = karyotype("46,XY")
    heights = {}
    for p, c in zip(kg.chromosomes, parsed.chromosomes):
        height = p.bbox[3] - p.bbox[1]
        # Upright and nearly straight: the box height is the drawn length (tolerance 10 %,
        # at least 2 px: rounded caps, slight tilt, pixel coverage at the ends).
        expected = c.relative_length * kg.chr1_length
        assert abs(height - expected) <= max(2.0, 0.1 * expected), (c.name, height, expected)
        heights.setdefault(p.chromosome_class, []).append(height)
    # chr1 / chr21 in proportion to their relative lengths (CHM13: 248.4 / 45.1 Mb = 5.51),
    # within 15 % (chr21 is ~18 px long at this size, so one pixel is 5 %).
    ratio = np.mean(heights["1"]) / np.mean(heights["21"])
    expected_ratio = parsed.chromosomes[0].relative_length / next(
        c.relative_length for c in parsed.chromosomes if c.chromosome_class == "21")
    assert 5.2 < expected_ratio < 5.8
    assert abs(ratio / expected_ratio - 1) < 0.15, (ratio, expected_ratio)


def test_manifest_boxes_are_where_the_chromosomes_are(trisomy):
    image = trisomy.image
    manifest = json.loads(json.dumps(trisomy.manifest()))
    assert manifest["iscn"] == "47,XX,+21" and manifest["image_source"] == "SYNTHETIC renderer"
    assert [m["bbox"] for m in manifest["chromosomes"]] == [list(p.bbox) for p in trisomy.chromosomes]
    boxes = [tuple(m["bbox"]) for m in manifest["chromosomes"]]
    occupied = np.zeros(image.shape, bool)
    for x0, y0, x1, y1 in boxes:
        occupied[y0:y1, x0:x1] = True
    for x0, y0, x1, y1 in boxes:
        inside = image[y0:y1, x0:x1]
        # Tight: every edge row and column of the box holds chromosome pixels ...
        for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
            assert edge.min() < 250
        # ... and the 1-px ring around it is background (where no other box lies).
        ring = np.zeros(image.shape, bool)
        ring[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = True
        ring[y0:y1, x0:x1] = False
        assert (image[ring & ~occupied] == 255).all()


@pytest.mark.parametrize("iscn, seed", [("46,XY", 1), ("47,XX,+21", 2), ("46,XX,t(9;22)(q34;q11.2)", 3),
                                        ("45,X", 4)])
def test_crop_karyogram_recovers_boxes_and_classes(iscn, seed):
    kg = kc.render_karyogram(iscn, seed=seed, size=64)
    crops = kc.crop_karyogram(kg.image, size=48)
    assert len(crops) == len(kg.chromosomes)
    for placed in kg.chromosomes:
        best = max(crops, key=lambda crop: iou(crop.bbox, placed.bbox))
        assert iou(best.bbox, placed.bbox) >= 0.9, (placed.chromosome_class, best.bbox, placed.bbox)
        assert best.chromosome_class == placed.chromosome_class
        assert not best.touching
    for crop in crops:
        assert crop.image.shape == (48, 48) and crop.image.dtype == np.uint8
        # Grayscale, light background, a dark chromosome in the middle.
        assert crop.image[0].mean() > 230 and crop.image.min() < 200


def test_crops_share_one_padding_scale(trisomy):
    # Square padding to the biggest chromosome of the karyogram (the paper): a crop's dark
    # extent is in proportion to the chromosome's height in the karyogram.
    crops = kc.crop_karyogram(trisomy.image, size=64)
    side = max(max(c.bbox[2] - c.bbox[0], c.bbox[3] - c.bbox[1]) for c in crops) + 4
    for crop in crops:
        rows = np.nonzero((crop.image < 250).any(1))[0]
        expected = (crop.bbox[3] - crop.bbox[1]) * 64 / side
        assert abs((rows.max() - rows.min() + 1) - expected) <= 3


def test_digits_and_lines_are_dropped(trisomy):
    crops = kc.crop_karyogram(trisomy.image, size=48)
    assert len(crops) == 47
    for crop in crops:
        for label in trisomy.label_boxes.values():
            assert iou(crop.bbox, label) == 0.0
    # Labels and rules alone are no chromosomes.
    text_only = trisomy.image.copy()
    for p in trisomy.chromosomes:
        x0, y0, x1, y1 = p.bbox
        text_only[y0:y1, x0:x1] = 255
    assert (text_only < 128).sum() > 100  # the digits and lines are still there
    with pytest.raises(ValueError, match="no chromosome"):
        kc.crop_karyogram(text_only)


def test_touching_chromosomes_are_reported_never_silently_merged():
    kg = kc.render_karyogram("46,XY", seed=2, size=64, pair_gap={"1": -1, "7": 0, "13": -2})
    crops = kc.crop_karyogram(kg.image, size=48)
    assert any(c.touching for c in crops)
    for crop in crops:
        covered = [p for p in kg.chromosomes if iou(crop.bbox, p.bbox) > 0.25]
        if len(covered) > 1 or crop.chromosome_class in ("1", "7", "13"):
            assert crop.touching, (crop.bbox, [p.chromosome_class for p in covered])
    # Homologs that only touch (gap 0) or overlap by a pixel are split at the lightest column:
    # each one found as a separated crop of its own class (the overlap pixel goes to one side).
    for c in ("1", "7"):
        for placed in (p for p in kg.chromosomes if p.chromosome_class == c):
            best = max(crops, key=lambda crop: iou(crop.bbox, placed.bbox))
            assert best.separated and best.chromosome_class == c and iou(best.bbox, placed.bbox) >= 0.75
    # The pairs that were not pushed together are still found one by one.
    for placed in kg.chromosomes:
        if placed.chromosome_class not in ("1", "7", "13"):
            best = max(crops, key=lambda crop: iou(crop.bbox, placed.bbox))
            assert iou(best.bbox, placed.bbox) >= 0.9 and not best.touching


class CountingGenerator:
    """Stands in for the Keras generator: records each call's batch; draws background white,
    black bands at -0.8 and white bands at +0.3 (so its output is recognisable)."""

    def __init__(self):
        self.batches = []

    def __call__(self, inputs, training=False):
        inputs = np.asarray(inputs)
        self.batches.append(inputs.copy())
        return np.where(inputs > 0.5, 1.0, np.where(inputs < -0.5, -0.8, 0.3)).astype(np.float32)


def test_generator_draws_every_chromosome_in_one_batched_call():
    generator = CountingGenerator()
    kg = kc.render_karyogram("46,XX", generator=generator, seed=1, size=48)
    assert len(generator.batches) == 1 and generator.batches[0].shape == (46, 48, 48, 1)
    assert kg.manifest()["image_source"] == "generator"
    for i, placed in enumerate(kg.chromosomes):
        np.testing.assert_allclose(generator.batches[0][i, ..., 0], placed.banded_mask / 127.5 - 1.0, atol=1e-6)
        # The drawn image is the generator's output, (v + 1) * 127.5: 25.5 and 165.75.
        mask = placed.banded_mask
        assert (np.abs(placed.image[mask == 0] - 25.5) <= 1).all()
        assert (np.abs(placed.image[mask == 127] - 165.75) <= 1).all()
        x0, y0, x1, y1 = placed.bbox
        assert (kg.image[y0:y1, x0:x1] < 30).sum() == (mask == 0).sum()
    generator = CountingGenerator()
    kc.render_karyogram("46,XX", generator=generator, seed=1, size=48, batch_size=16)
    assert [len(b) for b in generator.batches] == [16, 16, 14]


def test_single_abnormal_chromosomes():
    items = kc.karyotype_chromosomes("46,XY,del(5)(p15.2)", seed=0, size=64, count=2)
    assert [i.name for i in items] == ["del(5)(p15.2)"] * 2
    assert items[0].chromosome_class == "5" and items[0].breakpoints == ("5p15.2",)
    gained = kc.karyotype_chromosomes("47,XY,+21", seed=0, size=64)
    assert [(i.chromosome_class, i.abnormal) for i in gained] == [("21", True)]
    with pytest.raises(ValueError, match="no abnormal chromosome"):
        kc.karyotype_chromosomes("46,XX", size=64)


def test_errors():
    with pytest.raises(ValueError, match="no chromosome"):
        kc.crop_karyogram(np.full((120, 200), 245, np.uint8))
    with pytest.raises(ISCNError, match="46"):
        kc.render_karyogram("46,XX,+21", size=64)
    with pytest.raises(ValueError, match="size"):
        kc.render_karyogram("46,XX", size=16)
    with pytest.raises(TypeError, match="karyotype"):
        kc.render_karyogram(46, size=64)


_RUNNER = """
import contextlib, io, json, sys
from kerasgan.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
assert "tensorflow" not in sys.modules, "TensorFlow imported"
print(json.dumps(results))
"""


def _cli(*commands):
    """Run `kerasgan` commands in one fresh interpreter that must not import TensorFlow;
    returns [(exit code, stdout, stderr)]."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(list(commands))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_refuses_bad_input_before_tensorflow(tmp_path):
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "out")
    cases = [
        (["generate", "karyotype", "--out", out, "--iscn", "46,XX,+21"], "46"),  # count disagrees
        (["generate", "karyotype", "--out", out, "--iscn", "46,XY,del(5)(p99)"], "p99"),
        (["generate", "karyotype", "--out", out, "--iscn", "47,XX,+21", "--count", "0"], "--count"),
        (["generate", "karyotype", "--out", str(tmp_path / "file"), "--iscn", "46,XX"], "is a file"),
        (["generate", "chromosome", "--out", out, "--iscn", "46,XX"], "no abnormal chromosome"),
    ]
    for (code, _, stderr), (argv, message) in zip(_cli(*[argv for argv, _ in cases]), cases):
        assert code == 2, (argv, stderr)
        assert "kerasgan" in stderr and "error" in stderr and message in stderr, stderr
        assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_cli_writes_karyograms_crops_masks_and_manifests(tmp_path):
    out = tmp_path / "out"
    written, again, single = _cli(
        ["generate", "karyotype", "--iscn", "45,X", "--count", "2", "--out", str(out), "--generator", "none",
         "--size", "48", "--seed", "7"],
        ["generate", "karyotype", "--iscn", "45,X", "--out", str(out), "--generator", "none", "--size", "48"],
        ["generate", "chromosome", "--iscn", "46,XX,t(9;22)(q34;q11.2)", "--count", "3",
         "--out", str(tmp_path / "single"), "--generator", "none"])
    assert written[0] == 0, written[2]
    assert "45 chromosomes" in written[1]
    for k in range(2):
        manifest = json.loads((out / f"karyogram_{k:03d}.json").read_text())
        assert manifest["seed"] == 7 + k and manifest["iscn"] == "45,X"
        assert [c["class"] for c in manifest["chromosomes"]] == [c.chromosome_class for c in karyotype("45,X").chromosomes]
        for entry in manifest["chromosomes"]:
            assert (out / entry["files"]["image"]).stat().st_size > 0
            assert (out / entry["files"]["banded_mask"]).stat().st_size > 0
        assert (out / manifest["image"]).stat().st_size > 0
    assert (out / "contact_sheet.png").stat().st_size > 0
    assert again[0] == 2 and "--overwrite" in again[2]
    assert single[0] == 0, single[2]
    manifest = json.loads((tmp_path / "single" / "manifest.json").read_text())
    assert [item["abnormality"]["chromosome"] for item in manifest["images"]] == [
        "der(9)t(9;22)(q34;q11.2)", "der(22)t(9;22)(q34;q11.2)", "der(9)t(9;22)(q34;q11.2)"]
    assert {a["why"] for a in manifest["abnormal_chromosomes"]} == {"structural"}


def test_train_folder_accepts_karyograms_beside_crops(tmp_path, trisomy):
    write_image(tmp_path / "karyogram.png", trisomy.image)
    single = kc.render_chromosome(seed=3, size=64)
    write_image(tmp_path / "single.png", single.image)
    messages = []
    images, names, classes = kc.load_folder(tmp_path, size=64, return_classes=True, log=messages.append)
    assert len(images) == 48 and images.shape[1:] == (64, 64)
    assert "47 chromosomes" in messages[0]
    assert sorted(c for c in classes if c) == sorted(p.chromosome_class for p in trisomy.chromosomes)
    assert classes.count("") == 1 and any(str(n).endswith("single.png") for n in names)


def test_crop_karyogram_on_another_layout():
    # Drawn unlike render_karyogram: tilted chromosomes, centromeres aligned, the layout with X
    # after 12 (odd seed), bold labels, a grey noisy JPEG background, the karyotype as a title.
    image, truth = kc.render_karyogram_variant("47,XY,+21", seed=1, cell=160)
    crops = kc.crop_karyogram(image, size=48)
    assert len(crops) == len(truth) == 47
    right = 0
    for cls, box in truth:
        best = max(crops, key=lambda crop: iou(crop.bbox, box))
        assert iou(best.bbox, box) >= 0.7, (cls, best.bbox, box)  # blur and JPEG widen the edges
        right += best.chromosome_class == cls
    assert right >= 45, right  # >= 95 %


def test_pipelined_karyograms_equal_one_by_one():
    generator = CountingGenerator()
    many = list(kc.render_karyograms("45,X", [3, 4], generator=generator, size=48))
    assert [len(b) for b in generator.batches] == [45, 45]
    for seed, karyogram in zip([3, 4], many):
        single = kc.render_karyogram("45,X", generator=CountingGenerator(), seed=seed, size=48)
        np.testing.assert_array_equal(karyogram.image, single.image)
        assert karyogram.manifest() == single.manifest()


def test_rules_touching_the_chromosomes_are_cut_off(trisomy):
    image = trisomy.image.copy()
    row = [p for p in trisomy.chromosomes if p.row == 1]
    baseline = max(p.bbox[3] for p in row)
    # A 1-px rule right under row 2 (6-12), touching every chromosome standing on it.
    image[baseline, min(p.bbox[0] for p in row) - 3:max(p.bbox[2] for p in row) + 3] = 0
    crops = kc.crop_karyogram(image, size=48)
    assert len(crops) == 47
    for placed in row:
        best = max(crops, key=lambda crop: iou(crop.bbox, placed.bbox))
        assert iou(best.bbox, placed.bbox) >= 0.9 and best.chromosome_class == placed.chromosome_class


def test_a_metaphase_like_scatter_gets_no_classes():
    # Chromosomes scattered at random angles (not rows): crops, but no class from a layout.
    rng = np.random.default_rng(0)
    canvas = np.full((260, 260), 255, np.uint8)
    for i in range(12):
        item = kc.render_chromosome(seed=i, size=64)
        y, x = rng.integers(0, 196, 2)
        canvas[y:y + 64, x:x + 64] = np.minimum(canvas[y:y + 64, x:x + 64], item.image)
    crops = kc.crop_karyogram(canvas, size=48)
    assert len(crops) >= 6
    assert all(c.chromosome_class is None and c.row is None for c in crops)


def test_rows_are_not_joined_by_a_tip_reaching_into_the_next_row():
    from kerasgan.chromosome.karyogram import _Object, _rows

    def box(y0, y1, x):
        return _Object(np.ones((y1 - y0, 5), bool), (x, y0, x + 5, y1))

    # Row one (chromosomes 1, 21 and a middle one), row two starts 6 px above row one's end.
    objects = [box(0, 100, 0), box(70, 100, 10), box(40, 100, 20), box(94, 170, 0), box(120, 170, 10)]
    assert _rows(objects) == [[0, 1, 2], [3, 4]]


def test_light_chromosomes_on_a_dark_background_are_flipped(trisomy):
    crops = kc.crop_karyogram(255 - trisomy.image, size=48)
    assert len(crops) == 47
    for placed in trisomy.chromosomes:
        best = max(crops, key=lambda crop: iou(crop.bbox, placed.bbox))
        assert iou(best.bbox, placed.bbox) >= 0.9 and best.chromosome_class == placed.chromosome_class
    assert all(crop.image[0].mean() > 230 for crop in crops)  # crops come out dark on light
