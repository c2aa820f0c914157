"""Issue 14: the glomeruli model carries its structure-map threshold (zoo card, run folders) and
`make_condition` / `generate glomeruli` use it by default; a per-patch Otsu only when asked."""

import json

import numpy as np
import pytest
from skimage import data as skimage_data
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

from kerasgan.glomeruli import data as glomeruli_data

# A brown, dark, low-contrast 64 px patch of the IHC image (DAB-stained epithelium, grey level
# about 0.37 +- 0.10, all of it below the training threshold).
BROWN = np.s_[0:64, 192:256]


def _hand_otsu(images):
    """Otsu of the grey level by hand: skimage's rgb2gray of the uint8 RGB / 255, pooled."""
    grey = np.concatenate([rgb2gray(np.asarray(image) / 255.0).ravel() for image in images])
    return float(threshold_otsu(grey))


def _card_threshold():
    import kerasgan.zoo

    return float(kerasgan.zoo.metadata("glomeruli")["preprocessing"]["structure_threshold"])


def test_stored_threshold_is_the_training_otsu():
    """The zoo card's threshold is Otsu's of the grey levels of the very training patches its
    "data" record names (H&E, 1024 patches of 128 px, seed 0), pooled; computed here by hand
    from the region file and the patch positions."""
    import re

    import kerasgan.zoo

    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    card = kerasgan.zoo.metadata("glomeruli")
    record, size = card["data"], int(card["architecture"]["image_size"])
    assert record == {"source": "he", "train_patches": 1024, "test_patches": 64, "seed": 0}
    train = glomeruli_data.he_patches(size, record["train_patches"], "train", seed=record["seed"])
    with tifffile.TiffFile(glomeruli_data.he_region_path()) as tiff:
        region = tiff.pages[0].asarray()
    windows = []
    for name in train.names:
        row, column = map(int, re.fullmatch(r"he_train_r(\d+)_c(\d+)_o\d", name).groups())
        windows.append(region[row:row + size, column:column + size])
    expected = _hand_otsu(windows)
    assert card["preprocessing"]["structure_threshold"] == pytest.approx(expected, abs=1e-6)
    assert glomeruli_data.zoo_structure_threshold() == pytest.approx(expected, abs=1e-6)
    from kerasgan.glomeruli.commands import preprocessing

    assert preprocessing(train)["structure_threshold"] == pytest.approx(expected, abs=1e-6)


def test_ihc_training_data_keep_their_own_threshold():
    image = skimage_data.immunohistochemistry()
    expected = _hand_otsu([image])
    train = glomeruli_data.ihc_patches(32, 8, "train", seed=0)
    assert train.structure_threshold == pytest.approx(expected, abs=1e-6)
    np.testing.assert_array_equal(
        glomeruli_data.with_structure_threshold(train, expected).structure_maps, train.structure_maps)


def test_brown_patch_uses_the_training_threshold_not_its_own_otsu():
    image = skimage_data.immunohistochemistry()
    patch = image[BROWN]
    mask = glomeruli_data.nucleus_mask(image)[BROWN]
    grey = rgb2gray(patch / 255.0)
    stored = _card_threshold()
    own = float(threshold_otsu(grey))
    assert own < stored - 0.15  # its own Otsu is far from the training one

    default = glomeruli_data.make_condition(mask, patch)
    explicit_own = glomeruli_data.make_condition(mask, patch, threshold="otsu")
    np.testing.assert_array_equal(default[0, ..., 1] > 0, grey <= stored)
    np.testing.assert_array_equal(explicit_own[0, ..., 1] > 0, grey <= own)
    # The training threshold calls the dark brown tissue structure; its own Otsu calls half of
    # it background (which a generator then paints as light, empty glass).
    assert (default[0, ..., 1] > 0).mean() > 0.95
    assert (explicit_own[0, ..., 1] > 0).mean() < 0.7


def test_train_run_records_its_threshold_and_generate_uses_it(tmp_path):
    """`train glomeruli --data` stores one threshold (Otsu of the training grey levels pooled)
    in OUT/preprocessing.json and `generate glomeruli RUN` cuts the maps at it."""
    from kerasgan.cli import main
    from kerasgan.data.image_io import read_image, write_image

    image = skimage_data.immunohistochemistry()
    tile = image[BROWN][:32, :32]
    mask = (glomeruli_data.nucleus_mask(image)[BROWN][:32, :32, 0] > 0).astype(np.uint8) * 255
    pairs = tmp_path / "pairs"
    for index in range(6):  # copies of one tile: the pooled Otsu is this tile's own
        write_image(pairs / "images" / f"p{index}.png", tile)
        write_image(pairs / "masks" / f"p{index}.png", mask)
    expected = _hand_otsu([tile])
    run = tmp_path / "run"
    assert main(["train", "glomeruli", "--data", str(pairs), "--image-size", "32", "--filters", "4",
                 "--batch-size", "2", "--epochs", "1", "--steps-per-epoch", "1",
                 "--tensorboard", "none", "--out", str(run)]) == 0
    record = json.loads((run / "preprocessing.json").read_text())
    assert record["structure_threshold"] == pytest.approx(expected, abs=1e-6)

    # New conditions from another (lighter) tile: cut at the run's threshold, not the tile's own.
    other_tile = image[256:288, 256:288]
    other_grey = rgb2gray(other_tile / 255.0)
    assert np.mean((other_grey <= expected) != (other_grey <= threshold_otsu(other_grey))) > 0.1
    other = tmp_path / "other"
    write_image(other / "images" / "q.png", other_tile)
    write_image(other / "masks" / "q.png", mask)
    out = tmp_path / "generated"
    assert main(["generate", "glomeruli", str(run), "--data", str(other), "--count", "1",
                 "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["structure_threshold"] == pytest.approx(expected, abs=1e-6)
    written = read_image(out / "structure_000.png")[..., 0] > 127
    np.testing.assert_array_equal(written, other_grey <= expected)


def test_generate_from_the_zoo_uses_the_card_threshold(tmp_path):
    from kerasgan.cli import main
    from kerasgan.data.image_io import read_image, write_image

    image = skimage_data.immunohistochemistry()
    stored = _card_threshold()
    brown = image[0:128, 128:256]  # the model's size: no resizing before the cut
    mask = (glomeruli_data.nucleus_mask(image)[0:128, 128:256, 0] > 0).astype(np.uint8) * 255
    write_image(tmp_path / "brown" / "images" / "b.png", brown)
    write_image(tmp_path / "brown" / "masks" / "b.png", mask)
    out = tmp_path / "zoo"
    assert main(["generate", "glomeruli", "--zoo", "--data", str(tmp_path / "brown"), "--count", "1",
                 "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["structure_threshold"] == pytest.approx(stored, abs=1e-6)
    written = read_image(out / "structure_000.png")[..., 0] > 127
    np.testing.assert_array_equal(written, rgb2gray(brown / 255.0) <= stored)


def test_paired_folder_cuts_every_map_at_one_pooled_threshold(tmp_path):
    from kerasgan.data.image_io import write_image

    image = skimage_data.immunohistochemistry()
    tiles = [image[BROWN][:32, :32], image[256:288, 256:288]]  # dark brown, lighter tissue
    mask = np.zeros((32, 32), np.uint8)
    mask[4:12, 4:12] = 255
    for index, tile in enumerate(tiles):
        write_image(tmp_path / "images" / f"t{index}.png", tile)
        write_image(tmp_path / "masks" / f"t{index}.png", mask)
    pooled = _hand_otsu(tiles)
    loaded = glomeruli_data.load_paired_folder(tmp_path, progress=False)
    assert loaded.structure_threshold == pytest.approx(pooled, abs=1e-6)
    for tile, structure in zip(tiles, loaded.structure_maps):
        np.testing.assert_array_equal(structure[..., 0] > 0, rgb2gray(tile / 255.0) <= pooled)
    own = glomeruli_data.load_paired_folder(tmp_path, structure_threshold="otsu", progress=False)
    assert own.structure_threshold is None
    grey = rgb2gray(tiles[0] / 255.0)
    np.testing.assert_array_equal(own.structure_maps[0, ..., 0] > 0, grey <= threshold_otsu(grey))
    assert not np.array_equal(own.structure_maps, loaded.structure_maps)
