"""Chromosome data: folder loading, extraction cache and the tf.data pipelines."""

import numpy as np
import pytest

from kerasgan import chromosome as kc
from kerasgan.chromosome.data import ChromosomeSet, load_folder, mask_dataset, masks_to_uint8, pair_dataset
from kerasgan.data.image_io import write_image


@pytest.fixture(scope="module")
def small_set():
    return ChromosomeSet.synthetic_set(6, seed=11, size=64)


def test_set_holds_patterns_and_index_maps(small_set):
    assert len(small_set) == 6 and small_set.synthetic
    assert small_set.images.shape == (6, 64, 64) and small_set.index_maps.dtype == np.int16
    for i in range(len(small_set)):
        index = small_set.index_maps[i]
        assert index.max() == len(small_set.patterns[i]) - 1 or index.max() < len(small_set.patterns[i])
        direct = kc.back_project(small_set.patterns[i], kc.shape_mask(small_set.images[i]))
        assert (small_set.banded_mask(i) != 255).sum() == (direct != 255).sum()


def test_set_save_load_round_trip(small_set, tmp_path):
    path = small_set.save(tmp_path / "set.npz")
    loaded = ChromosomeSet.load(path)
    np.testing.assert_array_equal(loaded.images, small_set.images)
    np.testing.assert_array_equal(loaded.index_maps, small_set.index_maps)
    for a, b in zip(loaded.patterns, small_set.patterns):
        np.testing.assert_array_equal(a, b)
    assert loaded.names == small_set.names and loaded.synthetic
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        ChromosomeSet.load(tmp_path / "missing.npz")


def test_pair_dataset_matches_numpy_back_projection(small_set):
    masks, images = next(iter(pair_dataset(small_set, batch_size=4, augment=False, shuffle=False)))
    assert masks.shape == (4, 64, 64, 1) and images.shape == (4, 64, 64, 1)
    assert float(np.min(images)) >= -1.0 and float(np.max(images)) <= 1.0
    expected = np.stack([small_set.banded_mask(i) for i in range(4)])
    np.testing.assert_array_equal(masks_to_uint8(masks.numpy()[..., 0]), expected)
    np.testing.assert_allclose(images.numpy()[..., 0], small_set.images[:4] / 127.5 - 1.0, atol=1e-6)


def test_augmentation_moves_mask_and_image_together(small_set):
    masks, images = next(iter(pair_dataset(small_set, batch_size=6, augment=True, seed=3)))
    for mask, image in zip(masks.numpy()[..., 0], images.numpy()[..., 0]):
        inside = mask < 0.99
        # The chromosome (dark) sits where the mask says chromosome, after any flip/transpose.
        assert image[inside].mean() < image[~inside].mean()


@pytest.mark.parametrize("source", ["real", "perlin", "edited"])
def test_mask_dataset_sources(small_set, source):
    bank = kc.PerlinBank(tracks=4, track_length=256, cache_dir=None) if source == "perlin" else None
    batches = list(mask_dataset(small_set, pattern=source, batch_size=4, bank=bank))
    masks = np.concatenate([b.numpy() for b in batches])
    assert masks.shape == (6, 64, 64, 1)
    uint8 = masks_to_uint8(masks[..., 0])
    for i in range(6):
        # Same shape as the real mask, whatever the pattern.
        np.testing.assert_array_equal(uint8[i] != 255, small_set.banded_mask(i) != 255)
    with pytest.raises(ValueError, match="pattern must be"):
        mask_dataset(small_set, pattern="random")


def test_load_folder_preprocesses_like_the_paper(tmp_path):
    item = kc.render_chromosome(seed=1, size=96)
    write_image(tmp_path / "a.png", item.image[10:90, 20:70])  # not square
    write_image(tmp_path / "b.tif", (item.image.astype(np.uint16) * 257))  # 16-bit
    rgb = np.dstack([item.image] * 3)
    write_image(tmp_path / "c.png", rgb)
    images, paths = load_folder(tmp_path, size=64)
    assert images.shape == (3, 64, 64) and images.dtype == np.uint8
    assert [p.name for p in paths] == ["a.png", "b.tif", "c.png"]
    # Padding uses the background: corners stay light.
    assert images[0, 0, 0] > 150
    chromosomes = ChromosomeSet.from_folder(tmp_path, size=64)
    assert len(chromosomes) == 3


def test_load_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no"):
        load_folder(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        load_folder(tmp_path)


def test_from_images_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        ChromosomeSet.from_images(np.zeros((2, 64, 32), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        ChromosomeSet.from_images(np.zeros((2, 64, 64), np.float32))
    with pytest.warns(RuntimeWarning, match="skipped"), pytest.raises(ValueError, match="no image"):
        ChromosomeSet.from_images(np.full((2, 64, 64), 200, np.uint8))
