"""kerasgan.example_data: layouts, counts, and the package's readers accept what it writes."""

import sys

import numpy as np
import pytest

from kerasgan import example_data
from kerasgan.cli import main


def _pngs(folder):
    return sorted(path.name for path in folder.iterdir() if path.suffix == ".png")


def test_pix2pix_pairs_layout_and_paired_image_dataset(tmp_path):
    out = example_data.write("pix2pix-pairs", tmp_path / "pairs", count=4)
    for split, count in (("train", 4), ("val", 2)):  # val: max(2, count // 4)
        a, b = _pngs(out / split / "A"), _pngs(out / split / "B")
        assert a == b == [f"pair_{i:03d}.png" for i in range(count)]
    assert "REAL" in (out / "README.txt").read_text() and "immunohistochemistry" in (out / "README.txt").read_text()
    from kerasgan.data import paired_image_dataset

    dataset = paired_image_dataset(out / "train", image_size=32, batch_size=4, shuffle=False, jitter=False)
    condition, target = next(iter(dataset))
    assert tuple(condition.shape) == (4, 32, 32, 1) and tuple(target.shape) == (4, 32, 32, 3)
    # A is a binary mask: only (about) the two extreme values after resizing 64 -> 32 by area.
    from kerasgan.data.image_io import read_image

    mask = read_image(out / "train" / "A" / "pair_000.png")
    assert set(np.unique(mask)) <= {0, 255} and 0 < (mask == 255).mean() < 1


def test_chromosomes_read_by_chromosome_set(tmp_path):
    out = example_data.write("chromosomes", tmp_path / "crops", count=3)
    assert _pngs(out) == ["chromosome_000_chr1.png", "chromosome_001_chr2.png", "chromosome_002_chr3.png"]
    from kerasgan.chromosome import ChromosomeSet

    chromosomes = ChromosomeSet.from_folder(out)
    assert len(chromosomes) == 3
    assert "SYNTHETIC" in (out / "README.txt").read_text()


def test_karyograms_are_cut_into_46_chromosomes(tmp_path):
    out = example_data.write("karyograms", tmp_path / "k", count=1)
    assert _pngs(out) == ["karyogram_000_46_XX.png"]
    from kerasgan.chromosome.data import load_folder

    images, paths = load_folder(out)
    assert len(images) == 46  # a karyogram, not read as one chromosome
    assert all("#" in str(path) for path in paths)


def test_cytology_class_folders(tmp_path):
    out = example_data.write("cytology", tmp_path / "cells", count=3)
    from kerasgan.syncgan.folders import load_image_folders

    images, labels, classes, _ = load_image_folders(out, image_size=64)
    assert classes == ["benign", "malignant"]
    assert images.shape == (6, 64, 64, 3) and np.bincount(labels).tolist() == [3, 3]


def test_image_mask_read_by_glomeruli_loader(tmp_path):
    out = example_data.write("image-mask", tmp_path / "pairs", count=16)
    assert len(_pngs(out / "images")) == len(_pngs(out / "masks")) == 16
    from kerasgan.glomeruli.data import load_paired_folder

    # The loader refuses an empty mask by default: every pair has nuclei (a few of the
    # raw IHC patches have none).
    pairs = load_paired_folder(out, progress=False)
    assert len(pairs) == 16 and pairs.images.shape == (16, 64, 64, 3)


def test_nifti_and_dicom_read_by_medical_io(tmp_path):
    pytest.importorskip("nibabel")
    pytest.importorskip("pydicom")
    from kerasgan.medisingan.io import read_medical

    nifti = example_data.write("nifti", tmp_path / "nifti")
    assert {p.name for p in nifti.iterdir()} == {"README.txt", "anatomical.nii", "example4d.nii.gz",
                                                   "volume_0.nii.gz", "volume_1.nii.gz"}
    first, second = read_medical(nifti / "volume_0.nii.gz"), read_medical(nifti / "volume_1.nii.gz")
    assert first.shape == second.shape and not np.array_equal(first, second)
    dicom = example_data.write("dicom", tmp_path / "dicom")
    assert read_medical(dicom / "CT_small.dcm").shape[:2] == (128, 128)
    assert "MIT" in (dicom / "README.txt").read_text()


def test_missing_medical_extra_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom now raises ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[medical\]"'):
        example_data.write("dicom", tmp_path / "dicom")
    assert not (tmp_path / "dicom").exists()


def test_refuses_a_non_empty_out_unless_overwrite(tmp_path):
    out = tmp_path / "cells"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        example_data.write("cytology", out, count=1)
    assert _pngs(out) == [] and not (out / "benign").exists()
    example_data.write("cytology", out, count=1, overwrite=True)
    assert (out / "mine.txt").read_text() == "keep me" and len(_pngs(out / "benign")) == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        example_data.write("cytology", tmp_path / "file", count=1)


def test_bad_name_and_count(tmp_path):
    with pytest.raises(ValueError, match="unknown example data 'pairs'.*pix2pix-pairs"):
        example_data.write("pairs", tmp_path / "x")
    with pytest.raises(ValueError, match="count must be at least 1"):
        example_data.write("cytology", tmp_path / "x", count=0)
    with pytest.raises(ValueError, match="fixed files"):
        example_data.write("dicom", tmp_path / "x", count=3)
    assert not (tmp_path / "x").exists()


def test_cli_writes_and_refuses_in_one_line(tmp_path, capsys):
    out = tmp_path / "crops"
    assert main(["example-data", "chromosomes", "--out", str(out), "--count", "2"]) == 0
    assert f"wrote chromosomes example data to {out}" in capsys.readouterr().out
    assert len(_pngs(out)) == 2
    assert main(["example-data", "chromosomes", "--out", str(out), "--count", "2"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kerasgan: error: out ") and "not empty" in error and error.count("\n") == 1
    assert main(["example-data", "chromosomes", "--out", str(out), "--count", "0"]) == 2
