"""SynCGAN unsupervised nucleus masks and the SYNTHETIC cytology renderer."""

import numpy as np
import pytest

from kerasgan.syncgan.masks import dice, nucleus_masks, stretch_histogram
from kerasgan.syncgan.renderer import render_cytology


@pytest.fixture(scope="module")
def rendered():
    return render_cytology(count_per_class=4, image_size=64, seed=5)


def test_renderer_shapes_labels_and_determinism(rendered):
    images, masks, labels = rendered
    assert images.shape == (8, 64, 64, 3) and images.dtype == np.uint8
    assert masks.shape == (8, 64, 64, 1) and set(np.unique(masks)) <= {0, 1}
    assert np.bincount(labels).tolist() == [4, 4]
    again = render_cytology(count_per_class=4, image_size=64, seed=5)
    assert np.array_equal(again[0], images)
    other = render_cytology(count_per_class=4, image_size=64, seed=6)
    assert not np.array_equal(other[0], images)


def test_renderer_malignant_nuclei_larger_and_darker():
    images, masks, labels = render_cytology(count_per_class=8, image_size=64, seed=1)
    area = masks.reshape(len(masks), -1).sum(1) / masks[0].size
    gray = images.mean(-1)
    darkness = np.array([gray[i][masks[i, ..., 0] == 1].mean() for i in range(len(images))])
    assert area[labels == 1].mean() > 1.5 * area[labels == 0].mean()
    assert darkness[labels == 1].mean() < darkness[labels == 0].mean()


def test_nucleus_masks_match_ground_truth(rendered):
    images, masks, _ = rendered
    predicted = nucleus_masks(images)
    assert predicted.shape == masks.shape and predicted.dtype == np.uint8
    assert set(np.unique(predicted)) <= {0, 1}
    assert dice(predicted, masks).mean() >= 0.9


def test_nucleus_masks_single_image_equals_batch_entry(rendered):
    images, _, _ = rendered
    single = nucleus_masks(images[2])
    assert single.shape == (64, 64, 1)
    assert np.array_equal(single, nucleus_masks(images)[2])


def test_nucleus_masks_float_input_same_as_uint8(rendered):
    images, _, _ = rendered
    assert np.array_equal(nucleus_masks(images[:2]), nucleus_masks(images[:2].astype(np.float32) / 255.0))


def test_blank_image_gives_empty_mask_with_a_warning():
    blank = np.full((1, 32, 32, 3), 200, np.uint8)
    with pytest.warns(UserWarning, match=r"masks\[0\] is empty"):
        assert nucleus_masks(blank).sum() == 0


def test_stretch_histogram_maps_percentiles_to_unit_range(rendered):
    stretched = stretch_histogram(rendered[0], (0.0, 100.0))
    assert stretched.min() == 0.0 and stretched.max() == 1.0


@pytest.mark.parametrize(
    "images, error",
    [
        (np.zeros((2, 16, 16, 2), np.uint8), ValueError),
        (np.zeros((0, 16, 16, 3), np.uint8), ValueError),
        (np.full((1, 16, 16, 3), np.nan, np.float32), ValueError),
        (np.full((1, 16, 16, 3), 70000, np.int32), ValueError),
        (np.full((1, 16, 16, 3), "a"), TypeError),
    ],
)
def test_nucleus_masks_bad_input(images, error):
    with pytest.raises(error, match="image"):
        nucleus_masks(images)


def test_nucleus_masks_bad_parameters(rendered):
    with pytest.raises(ValueError, match="mixture_components"):
        nucleus_masks(rendered[0][:1], mixture_components=0)
    with pytest.raises(ValueError, match="polarity"):
        nucleus_masks(rendered[0][:1], polarity="fluorescent")
    with pytest.raises(ValueError, match="percentiles"):
        nucleus_masks(rendered[0][:1], stretch_percentiles=(50, 10))


def test_dice_values():
    a = np.zeros((1, 4, 4, 1), np.uint8)
    a[0, :2] = 1
    b = np.zeros_like(a)
    b[0, :1] = 1
    assert dice(a, a)[0] == pytest.approx(1.0)
    assert dice(a, b)[0] == pytest.approx(2 * 4 / (8 + 4))
    with pytest.raises(ValueError, match="shape"):
        dice(a, a[:, :2])


# ---------------------------------------------------------------- data-driven choices (issue 18)
from kerasgan.syncgan.masks import (  # noqa: E402
    check_mask_plausibility,
    detect_polarity,
    estimate_nucleus_radius,
    format_mask_report,
    mask_report,
    overlay_masks,
    select_mixture,
)

BACKGROUND = (235, 230, 235)
DARK_NUCLEUS = (70, 45, 120)      # hyperchromatic, hematoxylin blue-violet
PALE_NUCLEUS = (140, 115, 175)    # the same stain, fainter
RED_CELL = (215, 95, 105)         # eosin red: as dark in gray as the pale nuclei


def _discs(size, centres, radius):
    """Boolean (size, size) union of discs of `radius` at (row, column) centres."""
    rows, columns = np.mgrid[:size, :size]
    out = np.zeros((size, size), bool)
    for row, column in centres:
        out |= (rows - row) ** 2 + (columns - column) ** 2 <= radius**2
    return out


def _grid(size, spacing, offset=0):
    return [(r, c) for r in range(spacing // 2 + offset, size - spacing // 3, spacing)
            for c in range(spacing // 2 + offset, size - spacing // 3, spacing)]


def _paint(shape_masks_colours, size, noise=3.0, seed=0):
    rng = np.random.default_rng(seed)
    image = np.ones((size, size, 3), np.float32) * np.array(BACKGROUND, np.float32)
    for mask, colour in shape_masks_colours:
        image[mask] = colour
    image += rng.normal(0.0, noise, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _dice(a, b):
    a, b = np.asarray(a).astype(bool).squeeze(), np.asarray(b).astype(bool).squeeze()
    return 2.0 * np.sum(a & b) / (a.sum() + b.sum())


def test_bic_picks_the_number_of_colour_clusters():
    # A hand-made mixture image: 64x64 pixels, each drawn from one of k tight, well-apart
    # RGB clusters. BIC must find k; a fixed count would not.
    rng = np.random.default_rng(0)
    centres = np.array([[0.2, 0.1, 0.5], [0.8, 0.3, 0.3], [0.6, 0.6, 0.7]])
    for k in (1, 2, 3):
        labels = rng.integers(0, k, 64 * 64)
        pixels = centres[labels] + rng.normal(0.0, 0.02, (64 * 64, 3))
        mixture, bic = select_mixture(pixels, max_components=4, seed=0)
        assert mixture.n_components == k, bic
        assert set(bic) == {1, 2, 3, 4} and min(bic, key=bic.get) == k
    mixture, bic = select_mixture(pixels, components=2)
    assert mixture.n_components == 2 and set(bic) == {2}


@pytest.mark.parametrize("radius", [4, 6, 10])
def test_nucleus_radius_estimated_from_discs_of_known_radius(radius):
    size = 24 * radius
    spacing = 6 * radius
    # Most nuclei touch a neighbour (pairs with centres 2r apart, merged into one object by
    # the first pass): their area would say r * sqrt(2); the inscribed radius still says r.
    centres = _grid(size, spacing)
    centres += [(row, column + 2 * radius) for row, column in centres[:-2]]
    nuclei = _discs(size, centres, radius)
    # One large dark clump (radius 2.5 r): the typical nucleus is the median, not the largest.
    nuclei |= _discs(size, [(size - 2.6 * radius, size - 2.6 * radius)], 2.5 * radius)
    image = _paint([(nuclei, DARK_NUCLEUS)], size)
    from kerasgan.syncgan.masks import nuclear_stain

    estimate = estimate_nucleus_radius(nuclear_stain(image.astype(np.float32) / 255.0))
    assert abs(estimate - radius) <= 1.0, estimate
    # The threshold neighbourhood follows it: block = 8 r (sigma = 2 r).
    masks, details = nucleus_masks(image, return_details=True)
    assert details[0]["block_size"] == int(round(8 * details[0]["nucleus_radius"]))
    assert abs(details[0]["block_size"] - 8 * radius) <= 8
    assert _dice(masks, nuclei) >= 0.9
    assert estimate_nucleus_radius(np.zeros((16, 16))) is None


def test_nuclei_component_is_the_stained_one_not_the_darkest_or_the_gray_dark():
    # Dark and pale nuclei (one stain, two strengths) and red cells as dark in gray as the
    # pale nuclei. Nuclei = both nucleus shades; the red cells are dropped.
    size = 128
    dark = _discs(size, [(20, 20), (20, 64), (64, 20)], 7)
    pale = _discs(size, [(64, 64), (108, 108), (20, 108)], 7)
    red = _discs(size, [(64, 108), (108, 20), (108, 64)], 6)
    image = _paint([(dark, DARK_NUCLEUS), (pale, PALE_NUCLEUS), (red, RED_CELL)], size)
    gray = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114])
    assert abs(gray[pale].mean() - gray[red].mean()) < 10  # the premise: gray cannot tell them apart
    masks, details = nucleus_masks(image, return_details=True)
    mask = masks[..., 0].astype(bool)
    assert _dice(mask, dark | pale) >= 0.9
    assert mask[red].mean() < 0.05
    assert details[0]["polarity"] == "dark" and details[0]["mixture_components"] >= 2


def test_fluorescence_is_detected_inverted_and_said():
    size = 96
    nuclei = _discs(size, _grid(size, 32), 8)
    rng = np.random.default_rng(1)
    gray = np.where(nuclei, 200.0, 15.0) + rng.normal(0.0, 4.0, (size, size))
    gray = np.clip(gray, 0, 255).astype(np.uint8)  # bright nuclei on black, one channel (H, W)
    with pytest.warns(UserWarning, match="fluorescence"):
        masks, details = nucleus_masks(gray, return_details=True)
    assert masks.shape == (size, size, 1)
    assert details[0]["polarity"] == "bright" and details[0]["polarity_detected"]
    assert _dice(masks, nuclei) >= 0.9
    # Forced brightfield on it would mask the background, not the nuclei.
    with pytest.warns(UserWarning):
        forced = nucleus_masks(gray, polarity="dark")
    assert _dice(forced, nuclei) < 0.5
    # The user-inverted image gives the same masks as the detected inversion.
    assert _dice(nucleus_masks(255 - gray, polarity="dark"), masks) >= 0.95


def test_detect_polarity_cases():
    rng = np.random.default_rng(2)
    size = 96
    spots = _discs(size, _grid(size, 32), 8)
    fluorescence = np.where(spots, 0.8, 0.05) + rng.normal(0, 0.01, (size, size))
    assert detect_polarity(fluorescence, fluorescence) == "bright"
    assert detect_polarity(1.0 - fluorescence, 1.0 - fluorescence) == "dark"
    # Tissue (mid gray) with a patch of bright glass: right-skewed, but not dark overall.
    tissue = np.full((size, size), 0.45) + rng.normal(0, 0.02, (size, size))
    tissue[:, :20] = 0.97
    tissue[spots] = 0.2
    assert detect_polarity(tissue, tissue) == "dark"
    # A 12-bit brightfield camera image in uint16: dark in absolute terms, left-skewed.
    assert detect_polarity(1.0 - fluorescence, (1.0 - fluorescence) / 16.0) == "dark"


def test_grayscale_input_every_layout_gives_the_same_masks():
    size = 64
    nuclei = _discs(size, _grid(size, 21), 5)
    gray = _paint([(nuclei, (80, 80, 80))], size)[..., 0]
    expected = nucleus_masks(np.stack([gray] * 3, -1))
    assert _dice(expected, nuclei) >= 0.9
    assert np.array_equal(nucleus_masks(gray), expected)
    assert np.array_equal(nucleus_masks(gray[..., None]), expected)
    batch = nucleus_masks(np.stack([gray, gray])[..., None])
    assert batch.shape == (2, size, size, 1) and np.array_equal(batch[1], expected)
    assert np.array_equal(nucleus_masks(gray.astype(np.float32) / 255.0), expected)


def test_implausible_masks_warn_and_strict_raises_naming_the_image():
    size = 64
    good = _paint([(_discs(size, _grid(size, 21), 5), DARK_NUCLEUS)], size)
    blank = np.full((size, size, 3), 200, np.uint8)
    with pytest.warns(UserWarning, match=r"1 of 2 image\(s\): masks\[1\] is empty"):
        nucleus_masks(np.stack([good, blank]))
    with pytest.raises(ValueError, match=r"masks\[1\] is empty"):
        nucleus_masks(np.stack([good, blank]), strict=True)
    full = np.ones((2, 8, 8, 1), np.uint8)
    full[0, :4] = 0
    with pytest.warns(UserWarning, match=r"masks\[1\] is near full: foreground 1.000 > 0.6"):
        report = check_mask_plausibility(full)
    assert [row["problem"] is None for row in report] == [True, False]
    with pytest.raises(ValueError, match="near full"):
        check_mask_plausibility(full, strict=True)
    sparse = np.zeros((1, 100, 100, 1), np.uint8)
    sparse[0, 5, 5] = 1   # one pixel of 10 000: below 0.1 %
    with pytest.raises(ValueError, match=r"masks\[0\] is near empty: foreground 0.0001 < 0.001"):
        check_mask_plausibility(sparse, strict=True)


def test_mask_report_numbers_by_hand():
    mask = np.zeros((6, 6), np.uint8)
    mask[0:2, 0:2] = 1            # area 4
    mask[5, 0:5] = 1              # area 5
    mask[2, 4] = mask[3, 5] = 1   # area 2 (diagonal neighbours: 8-connected)
    (row,) = mask_report(mask)
    assert row["foreground_fraction"] == pytest.approx(11 / 36)
    assert row["nucleus_count"] == 3
    assert (row["area_min"], row["area_median"], row["area_max"]) == (2, 4.0, 5)
    assert row["area_mean"] == pytest.approx(11 / 3)
    assert row["problem"] is None
    (row,) = mask_report(mask, max_foreground=0.2)
    assert row["problem"].startswith("near full")
    text = format_mask_report(mask_report(np.stack([mask, mask * 0])[..., None]))
    assert "2 image(s)" in text and "implausible: 1" in text and "2/4/5" in text
    with pytest.raises(ValueError, match="foreground range"):
        mask_report(mask, min_foreground=0.5, max_foreground=0.1)


def test_overlay_draws_outlines_on_the_first_images():
    images = np.full((3, 16, 16, 3), 100, np.uint8)
    masks = np.zeros((3, 16, 16, 1), np.uint8)
    masks[0, 4:9, 4:9] = 1
    grid = overlay_masks(images, masks, count=2, columns=2, min_side=16)
    assert grid.shape == (20, 40, 3)
    tile = grid[2:18, 2:18]
    green = np.all(tile == (0, 255, 0), axis=-1)
    assert green[4, 4] and green[8, 6] and not green[6, 6] and green.sum() == 16
    assert not np.any(np.all(grid[2:18, 22:38] == (0, 255, 0), axis=-1))
    # Small images are enlarged (16 px -> x8 for a 128 px minimum side) before the outline.
    assert overlay_masks(images, masks, count=1).shape == (132, 132, 3)


def test_train_command_mask_report_and_overlay(tmp_path, capsys):
    from kerasgan.data.image_io import read_image
    from kerasgan.syncgan.commands import unsupervised_masks_with_report

    images, truth, _ = render_cytology(count_per_class=2, image_size=64, seed=3)
    masks = unsupervised_masks_with_report(images, tmp_path / "run", overlay_count=3)
    assert masks.shape == truth.shape and dice(masks, truth).mean() >= 0.85
    printed = capsys.readouterr().out
    assert "nucleus masks of 4 image(s)" in printed and "implausible: 0" in printed
    overlay = read_image(tmp_path / "run" / "masks_overlay.png")
    assert overlay.shape == (132, 3 * 132, 3)   # 3 tiles of 64 px x2 (+2 px frame each side), one row
    import json

    rows = json.loads((tmp_path / "run" / "masks_report.json").read_text())
    assert len(rows) == 4 and rows[0]["nucleus_count"] >= 1 and rows[0]["polarity"] == "dark"


def test_train_command_strict_masks_stops_before_training(tmp_path, capsys):
    from kerasgan.cli import main
    from kerasgan.data.image_io import write_image

    for name in ("benign", "malignant"):
        write_image(tmp_path / "data" / name / "blank.png", np.full((32, 32, 3), 200, np.uint8))
    code = main(["train", "syncgan", "--data", str(tmp_path / "data"), "--image-size", "32",
                 "--strict-masks", "--out", str(tmp_path / "run" / "p.keras")])
    assert code != 0
    err = capsys.readouterr().err
    assert "kerasgan: error: implausible nucleus mask(s) in 2 of 2 image(s): masks[0] is empty" in err
    assert not (tmp_path / "run" / "p.keras").exists()


@pytest.fixture(scope="module")
def dsb_nuclei():
    """The real 2018 DSB fluorescence nuclei image with expert labels (benchmarks/data, PROVENANCE.md)."""
    import pathlib

    from kerasgan.data.image_io import read_image

    folder = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "data"
    image = read_image(folder / "dsb2018_nuclei_image.png")[..., 0]
    labels = read_image(folder / "dsb2018_nuclei_labels.png")[..., 0]
    inverted = (255 - np.round(image / image.max() * 255.0)).astype(np.uint8)
    return image, inverted, labels > 0


def test_real_nuclei_dice_against_expert_labels(dsb_nuclei):
    # Issue 18: the former defaults gave Dice 0.245 here, plain Otsu 0.826 (benchmarks/syncgan.py).
    import cv2

    raw, inverted, truth = dsb_nuclei
    masks = nucleus_masks(np.stack([inverted] * 3, -1))
    assert _dice(masks, truth) >= 0.88
    assert abs(masks.mean() - truth.mean()) < 0.04
    # Half the magnification: the data-driven neighbourhood follows the smaller nuclei.
    half = cv2.resize(inverted, (256, 256), interpolation=cv2.INTER_AREA)
    half_truth = cv2.resize(truth.astype(np.uint8), (256, 256), interpolation=cv2.INTER_NEAREST)
    assert _dice(nucleus_masks(half), half_truth) >= 0.83
    # The raw fluorescence (uint16, one channel): polarity detected, same quality.
    with pytest.warns(UserWarning, match="fluorescence"):
        assert _dice(nucleus_masks(raw), truth) >= 0.88


def test_specks_smaller_than_a_quarter_nucleus_are_dropped():
    size = 96
    nuclei = _discs(size, _grid(size, 32), 6)          # area 113 px each
    specks = np.zeros_like(nuclei)
    for row, column in [(30, 30), (62, 62), (30, 62), (62, 30)]:
        specks[row:row + 4, column:column + 4] = True     # 16 px < 113 / 4: debris, not nuclei
    image = _paint([(nuclei, DARK_NUCLEUS), (specks, DARK_NUCLEUS)], size)
    masks, details = nucleus_masks(image, return_details=True)
    assert details[0]["min_size"] == int(round(0.25 * np.sum(_discs(size, [(48, 48)], 6))))
    assert masks[..., 0][specks].sum() == 0
    assert _dice(masks, nuclei) >= 0.9
