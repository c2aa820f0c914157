"""MediSinGAN input/output (DICOM, NIfTI, 16-bit, stacking) and the single-image metrics."""

import numpy as np
import pytest

import kerasgan  # noqa: F401
from kerasgan.medisingan import examples, io
from kerasgan.metrics.sifid import frechet_distance, patch_statistic_distance, sifid


# ------------------------------------------------------------------ readers (real offline files)
def test_read_dicom_ct_in_hounsfield_units():
    ct = io.read_medical(examples.pydicom_file("CT_small.dcm"))  # real CT slice (pydicom test data)
    assert ct.shape == (128, 128) and ct.dtype == np.float32
    assert ct.min() < -500  # RescaleIntercept -1024 applied: air/fat below -500 HU


def test_read_dicom_mr_and_bad_files(tmp_path):
    mr = io.read_dicom(examples.pydicom_file("MR_small.dcm"))  # real MR slice (pydicom test data)
    assert mr.shape == (64, 64)
    with pytest.raises(FileNotFoundError, match="missing.dcm"):
        io.read_medical(tmp_path / "missing.dcm")
    (tmp_path / "broken.dcm").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="broken.dcm"):
        io.read_medical(tmp_path / "broken.dcm")


def test_read_nifti_slices_and_volumes():
    path = examples.nibabel_file("example4d.nii.gz")  # nibabel test data, 128x96x24x2
    first, second = io.read_nifti(path, volume=0), io.read_nifti(path, volume=1)
    assert first.shape == (96, 128) == second.shape
    with pytest.raises(ValueError, match="volume"):
        io.read_nifti(path, volume=5)
    t1 = io.read_medical(examples.nibabel_file("anatomical.nii"), slice_index=3)  # small real T1
    assert t1.ndim == 2 and np.isfinite(t1).all()


def test_read_16_bit_png(tmp_path):
    from kerasgan.data.image_io import write_image

    image = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    write_image(tmp_path / "scan.png", image[..., None])
    loaded = io.read_medical(tmp_path / "scan.png")
    assert loaded.shape == (64, 64) and loaded.max() == image.max()


# ------------------------------------------------------------------ scaling, stacking, splitting
def test_normalize_per_channel_and_back():
    rng = np.random.default_rng(0)
    image = np.stack([rng.normal(100, 10, (20, 20)), rng.normal(-1000, 300, (20, 20))], axis=-1)
    scaled, ranges = io.normalize(image, percentiles=None)
    assert scaled.min() == -1 and scaled.max() == 1
    for channel in range(2):
        assert scaled[..., channel].min() == -1 and scaled[..., channel].max() == 1
    np.testing.assert_allclose(io.denormalize(scaled, ranges), image, rtol=1e-4, atol=1e-2)
    with pytest.raises(ValueError, match="NaN"):
        io.normalize(np.full((4, 4), np.nan))


def test_stack_modalities_and_split_back():
    rng = np.random.default_rng(1)
    t1, t2, flair = (rng.uniform(0, 4000, (30, 40)) for _ in range(3))
    stacked, layout, ranges = io.stack_channels({"T1": t1, "T2": t2, "FLAIR": flair})
    assert stacked.shape == (30, 40, 3) and layout == {"T1": 1, "T2": 1, "FLAIR": 1} and len(ranges) == 3
    parts = io.split_channels(stacked[None], layout)
    np.testing.assert_array_equal(parts["FLAIR"][0, ..., 0], stacked[..., 2])
    with pytest.raises(ValueError, match="same size"):
        io.stack_channels({"T1": t1, "T2": t2[:10]})
    with pytest.raises(ValueError, match="channels"):
        io.split_channels(stacked, {"T1": 1})


def test_histology_with_mask_is_four_channels():
    channels, description = examples.load_example("histology-nuclei")
    assert "DERIVED" in description
    stacked, layout, _ = io.stack_channels(channels)
    assert stacked.shape == (512, 512, 4) and layout == {"image": 3, "mask": 1}
    mask = stacked[..., 3]
    assert set(np.unique(mask)) == {-1.0, 1.0} and 0.05 < (mask > 0).mean() < 0.6


def test_he_nuclei_example_is_the_named_window_of_the_cc0_region():
    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    from kerasgan.data.histology import he_region_path

    channels, description = examples.load_example("he-nuclei")
    with tifffile.TiffFile(he_region_path()) as tiff:
        region = tiff.pages[0].asarray()
    np.testing.assert_array_equal(channels["image"], region[1024:1280, 1024:1280, :3])
    mask = channels["mask"]
    assert mask.dtype == bool and mask.shape == (256, 256)
    # Nuclei are the hematoxylin-dark pixels: darker than the rest of the window on average.
    grey = channels["image"].astype(float).mean(axis=-1)
    assert 0.05 < mask.mean() < 0.4 and grey[mask].mean() < grey[~mask].mean() - 30
    assert "rows 1024-1279" in description and "CC0" in description


def test_paste_lesion_marks_region():
    image = np.zeros((32, 32, 1), np.float32)
    composite, mask = examples.paste_lesion(image, center=(16, 16), radius=4, intensity=0.8)
    assert mask.sum() > 40 and np.all(composite[~mask] == 0) and composite[mask].mean() > 0.5
    with pytest.raises(ValueError, match="outside"):
        examples.paste_lesion(image, center=(100, 100), radius=2)


# ------------------------------------------------------------------ metrics
def test_frechet_distance_of_gaussians():
    assert frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(3)) == pytest.approx(0, abs=1e-8)
    # 1-D closed form: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1 + 1)


def test_patch_statistic_distance_orders_images():
    from skimage import data, transform

    real = transform.resize(data.immunohistochemistry(), (64, 64), anti_aliasing=True) * 2 - 1
    shifted = np.roll(real, 7, axis=1)  # same patches, different layout
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape)
    values = patch_statistic_distance(real, np.stack([real, shifted, noise]))
    assert values[0] == pytest.approx(0, abs=1e-6)
    assert values[1] < values[2] and values[1] < 0.1 * values[2]


def test_sifid_uses_the_given_feature_model():
    real = np.random.default_rng(0).uniform(-1, 1, (16, 16, 3)).astype(np.float32)

    def features(images):  # per-position identity features: SIFID on pixels
        return np.asarray(images)

    values = sifid(real, np.stack([real, real * 0.5]), features)
    assert values.shape == (2,) and values[0] == pytest.approx(0, abs=1e-6) and values[1] > 0
    with pytest.raises(ValueError, match="feature_model"):
        sifid(real, real[None], None)
    with pytest.raises(ValueError, match="channels"):
        patch_statistic_distance(real, real[None, ..., :2])
