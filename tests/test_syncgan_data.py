"""SynCGAN folder loader, mask checks, traditional augmentation and the 3:1:1 split."""

import numpy as np
import pytest

from kerasgan.data.image_io import write_image
from kerasgan.syncgan.folders import load_image_folders, prepare_images
from kerasgan.syncgan.pipeline import check_masks
from kerasgan.syncgan.study import split_3_1_1, traditional_augmentation


def _write(folder, name, shape, value=100):
    folder.mkdir(parents=True, exist_ok=True)
    write_image(folder / name, np.full(shape, value, np.uint8))


def test_loader_resizes_any_size_and_labels_by_folder(tmp_path):
    _write(tmp_path / "benign", "a.png", (40, 50, 3))
    _write(tmp_path / "benign", "b.jpg", (64, 64, 3))
    _write(tmp_path / "malignant", "c.png", (20, 30, 3), 30)
    images, labels, classes, paths = load_image_folders(tmp_path, image_size=32)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    assert classes == ["benign", "malignant"] and labels.tolist() == [0, 0, 1]
    assert [p.name for p in paths] == ["a.png", "b.jpg", "c.png"]


def test_loader_empty_class_folder(tmp_path):
    _write(tmp_path / "benign", "a.png", (16, 16, 3))
    (tmp_path / "malignant").mkdir()
    with pytest.raises(ValueError, match="malignant.*no images"):
        load_image_folders(tmp_path, 16)


def test_loader_one_class_only(tmp_path):
    _write(tmp_path / "benign", "a.png", (16, 16, 3))
    with pytest.raises(ValueError, match="at least two"):
        load_image_folders(tmp_path, 16)


def test_loader_mixed_channel_counts(tmp_path):
    _write(tmp_path / "benign", "a.png", (16, 16, 3))
    _write(tmp_path / "malignant", "gray.png", (16, 16, 1))
    with pytest.raises(ValueError, match="mixed channel counts.*gray.png"):
        load_image_folders(tmp_path, 16)


def test_loader_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does_not_exist"):
        load_image_folders(tmp_path / "does_not_exist", 16)


def test_prepare_images_list_of_sizes_and_errors():
    prepared = prepare_images([np.zeros((10, 12, 3), np.uint8), np.ones((40, 40, 3), np.float32)], 16)
    assert prepared.shape == (2, 16, 16, 3) and prepared[1].min() == 255
    with pytest.raises(ValueError, match="channel counts"):
        prepare_images([np.zeros((8, 8, 3)), np.zeros((8, 8, 1))], 8)
    with pytest.raises(ValueError, match="NaN"):
        prepare_images(np.full((1, 8, 8, 3), np.nan, np.float32), 8)


def test_all_background_mask_is_rejected_with_its_index():
    masks = np.zeros((3, 8, 8, 1), np.uint8)
    masks[0, 2, 2] = masks[2, 3, 3] = 1
    with pytest.raises(ValueError, match=r"masks\[1\] \(class 'malignant'\) is all background"):
        check_masks(masks, np.array([0, 1, 0]), ["benign", "malignant"])
    masks[1, 0, 0] = 1
    assert check_masks(masks).sum() == 3


def test_traditional_augmentation_changes_images_keeps_range():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 16, 16, 3)).astype(np.uint8)
    augmented = traditional_augmentation(images, copies=2, seed=1)
    assert augmented.shape == (6, 16, 16, 3) and augmented.dtype == np.uint8
    assert not np.array_equal(augmented[0], images[0])
    assert np.array_equal(augmented, traditional_augmentation(images, copies=2, seed=1))


def test_split_3_1_1_is_stratified_and_disjoint():
    labels = np.repeat([0, 1], 75)
    train, validation, test = split_3_1_1(labels, seed=0)
    assert (len(train), len(validation), len(test)) == (90, 30, 30)
    assert len(set(train) | set(validation) | set(test)) == 150
    assert np.bincount(labels[test]).tolist() == [15, 15]
    with pytest.raises(ValueError, match="at least 5"):
        split_3_1_1(np.array([0, 0, 1, 1, 1, 1, 1]))
