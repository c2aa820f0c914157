import numpy as np
import pytest

from kerasgan.data import list_images, paired_image_dataset, read_image, write_image
from kerasgan.transforms import from_minus_one_one, pad_to_square, resize, to_minus_one_one, to_uint8


def make_pairs(folder, count=4, condition_dtype=np.uint16, size=40):
    rng = np.random.RandomState(0)
    (folder / "A").mkdir(parents=True)
    (folder / "B").mkdir()
    for i in range(count):
        top = np.iinfo(condition_dtype).max
        write_image(folder / "A" / f"case {i}.png", (rng.rand(size, size, 1) * top).astype(condition_dtype))
        write_image(folder / "B" / f"case {i}.tif", (rng.rand(size, size, 3) * 255).astype(np.uint8))


@pytest.mark.parametrize("dtype, channels", [(np.uint8, 1), (np.uint8, 3), (np.uint16, 1), (np.uint16, 3)])
@pytest.mark.parametrize("extension", [".png", ".tif"])
def test_read_write_round_trip_keeps_dtype_and_channels(tmp_path, dtype, channels, extension):
    image = (np.random.RandomState(1).rand(9, 7, channels) * np.iinfo(dtype).max).astype(dtype)
    path = tmp_path / f"ünïcode name{extension}"
    write_image(path, image)
    np.testing.assert_array_equal(read_image(path), image)


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png.*0 bytes"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="text.png"):
        read_image(tmp_path / "text.png")
    write_image(tmp_path / "ok.png", np.zeros((8, 8, 3), np.uint8))
    truncated = (tmp_path / "ok.png").read_bytes()[:20]
    (tmp_path / "truncated.png").write_bytes(truncated)
    with pytest.raises(ValueError, match="truncated.png"):
        read_image(tmp_path / "truncated.png")


def test_channel_conversion():
    pass_through = np.zeros((4, 4, 3), np.uint8)
    pass_through[..., 0] = 255
    from kerasgan.data.image_io import convert_channels

    gray = convert_channels(pass_through, 1)
    assert gray.shape == (4, 4, 1) and 70 < gray[0, 0, 0] < 80  # ITU-R 601 red weight 0.299
    assert convert_channels(gray, 3).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="2 channels"):
        convert_channels(np.zeros((4, 4, 2), np.uint8), 3)


def test_paired_folders_dataset_shapes_and_range(tmp_path):
    make_pairs(tmp_path)
    batches = list(paired_image_dataset(tmp_path, image_size=32, batch_size=3, seed=0))
    assert [b[0].shape[0] for b in batches] == [3, 1]
    condition, target = batches[0]
    assert condition.shape == (3, 32, 32, 1) and target.shape == (3, 32, 32, 3)
    for tensor in (condition, target):
        values = tensor.numpy()
        assert values.min() >= -1.0 and values.max() <= 1.0 and values.std() > 0.1


def test_seeded_jitter_is_reproducible_and_differs_between_seeds(tmp_path):
    make_pairs(tmp_path)

    def first(seed):
        return next(iter(paired_image_dataset(tmp_path, image_size=32, batch_size=4, seed=seed)))[0].numpy()

    np.testing.assert_array_equal(first(5), first(5))
    assert not np.array_equal(first(5), first(6))


def test_aligned_layout_splits_halves(tmp_path):
    left = np.full((16, 16, 3), 10, np.uint8)
    right = np.full((16, 16, 3), 240, np.uint8)
    write_image(tmp_path / "pair.jpg", np.concatenate([left, right], axis=1))
    condition, target = next(iter(paired_image_dataset(tmp_path, image_size=16, jitter=False)))
    assert condition.numpy().mean() < -0.8 and target.numpy().mean() > 0.8
    condition, target = next(iter(paired_image_dataset(tmp_path, image_size=16, jitter=False, direction="BtoA")))
    assert condition.numpy().mean() > 0.8


def test_mismatched_and_bad_files_are_named(tmp_path):
    make_pairs(tmp_path)
    write_image(tmp_path / "B" / "orphan.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="orphan.png"):
        paired_image_dataset(tmp_path, image_size=32)
    (tmp_path / "B" / "orphan.png").unlink()
    (tmp_path / "A" / "case 0.png").write_bytes(b"")
    with pytest.raises(ValueError, match="case 0.png.*0 bytes"):
        paired_image_dataset(tmp_path, image_size=32)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        paired_image_dataset(tmp_path / "nowhere")


def test_wrong_channel_count_names_the_file(tmp_path):
    make_pairs(tmp_path)
    write_image(tmp_path / "B" / "case 1.tif", np.zeros((40, 40, 4), np.uint8))
    data = paired_image_dataset(tmp_path, image_size=32, target_channels=3, shuffle=False)
    # 4 -> 3 (alpha dropped) is converted ...
    assert all(batch[1].shape[-1] == 3 for batch in data)
    # ... a 1-channel condition where 2 are expected is not, and the error names the file.
    data = paired_image_dataset(tmp_path, image_size=32, condition_channels=2, shuffle=False)
    # Decoding runs in parallel, so which file is reported first is not fixed.
    with pytest.raises(Exception, match=r"case \d\.png' has 1 channels; this data set uses 2"):
        list(data)


def test_transforms():
    image = np.array([[0, 255]], np.uint8)[..., None]
    scaled = to_minus_one_one(image)
    np.testing.assert_allclose(scaled[..., 0], [[-1.0, 1.0]])
    np.testing.assert_array_equal(to_uint8(scaled), image)
    np.testing.assert_allclose(from_minus_one_one(scaled), [[[0.0], [1.0]]])
    square = pad_to_square(np.zeros((4, 10, 1), np.uint8), value=255)
    assert square.shape == (10, 10, 1) and square[0, 0, 0] == 255 and square[5, 5, 0] == 0
    assert resize(np.zeros((10, 20, 3), np.uint16), (5, 8)).shape == (5, 8, 3)
    with pytest.raises(ValueError, match="NaN"):
        to_minus_one_one(np.array([[np.nan]], np.float32))
    with pytest.raises(ValueError, match="empty"):
        pad_to_square(np.zeros((0, 3)))


def test_list_images_filters_and_sorts(tmp_path):
    for name in ("b.PNG", "a.jpg", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG"]
