"""Hostile input at the entry points of issue 13 (hypothesis): the zoo's loader registry and
file rules, the pix2pix CLI's output folder and resume rules, the pairing rules, exit codes.

KERASGAN_HOSTILE_REPORT=path.json records how many cases each entry point saw.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import CASES, write_report
from kerasgan import zoo
from kerasgan.cli import main, one_line
from kerasgan.data import write_image
from kerasgan.data.paired import check_pairs, find_pairs

SOME = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


OPENED = []


def read_two_files(folder, card, **kwargs):
    """A registered test loader that opens its weights and one more file ("extra.bin")."""
    OPENED.append((folder / "weights.bin").read_bytes())
    OPENED.append((folder / "extra.bin").read_bytes())
    return "model"


def _entry(root, name="lab", loader="lab-test", files=("weights.bin",), extra=True):
    entry = root / name
    entry.mkdir(parents=True)
    (entry / "weights.bin").write_bytes(b"weights")
    if extra:
        (entry / "extra.bin").write_bytes(b"zeros")
    (entry / "MODEL_CARD.md").write_text("# lab\n")
    card = {"name": name, "title": "t", "paper": "p", "loader": loader,
            "files": {f: zoo.sha256(entry / f) if (entry / f).is_file() else "0" * 64 for f in files}}
    (entry / "card.json").write_text(json.dumps(card))
    return entry


@pytest.fixture
def lab_registry(monkeypatch):
    monkeypatch.setattr(zoo, "LOADERS", dict(zoo.LOADERS))
    monkeypatch.setattr(zoo, "_REGISTERED_CALLABLES", dict(zoo._REGISTERED_CALLABLES))
    zoo.register_loader("lab-test", read_two_files)
    OPENED.clear()


# -- zoo -----------------------------------------------------------------------------------

@SOME
@given(loader=st.one_of(st.sampled_from(["shutil:rmtree", "os:remove", "builtins:exec", "test_zoo:load_tiny",
                                         "kerasgan.zoo:seal", "chromosome ", "CHROMOSOME", ""]),
                        st.text(min_size=1, max_size=30)))
def test_card_naming_an_unregistered_loader_is_refused(tmp_path_factory, monkeypatch, lab_registry, loader):
    if loader in zoo.LOADERS or loader in zoo.LOADERS.values():
        return
    root = tmp_path_factory.mktemp("zoo")
    entry = _entry(root, loader=loader)
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(root))
    CASES["zoo.load"] += 1
    with pytest.raises(zoo.ZooError, match=r"card\.json.*not in kerasgan's loader registry"):
        zoo.load("lab")
    CASES["zoo.verify"] += 1
    with pytest.raises(zoo.ZooError, match="loader registry"):
        zoo.verify("lab")
    assert (entry / "weights.bin").read_bytes() == b"weights" and not OPENED


@SOME
@given(name=st.sampled_from(["../outside.bin", "/etc/passwd", "sub/../../outside.bin", "..", "C:\\x.bin",
                             "link.bin", "linkdir/weights.bin"]))
def test_listed_files_must_stay_inside_the_entry(tmp_path_factory, monkeypatch, lab_registry, name):
    root = tmp_path_factory.mktemp("zoo")
    (root / "outside.bin").write_bytes(b"outside")
    entry = _entry(root, files=())
    os.symlink(root / "outside.bin", entry / "link.bin")
    os.symlink(root, entry / "linkdir")
    card = json.loads((entry / "card.json").read_text())
    card["files"] = {"weights.bin": zoo.sha256(entry / "weights.bin"), name: zoo.sha256(root / "outside.bin")}
    (entry / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(root))
    CASES["zoo.verify"] += 1
    with pytest.raises(zoo.ZooError, match="entry folder|symlink"):
        zoo.verify("lab", try_loader=False)
    assert not OPENED


def test_loader_opening_an_unlisted_file_fails_verify_and_load(tmp_path, monkeypatch, lab_registry):
    # extra.bin exists in the folder but the card lists only weights.bin: its sha256 is never
    # checked, so neither verify nor load may let the loader read it.
    _entry(tmp_path, files=("weights.bin",))
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(tmp_path))
    assert zoo.verify("lab", try_loader=False) == {"lab": "ok"}  # the checksums alone pass
    with pytest.raises(zoo.ZooError, match=r"opens .*extra\.bin.*does not list"):
        zoo.verify("lab")
    with pytest.raises(zoo.ZooError, match=r"extra\.bin"):
        zoo.load("lab")
    assert OPENED == [b"weights", b"weights"]  # read the verified copy, never extra.bin
    _entry(tmp_path / "second", files=("weights.bin", "extra.bin"))
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(tmp_path / "second"))
    assert zoo.load("lab") == "model" and OPENED[-2:] == [b"weights", b"zeros"]


def test_loader_reads_the_checked_copy(tmp_path, monkeypatch, lab_registry):
    entry = _entry(tmp_path, files=("weights.bin", "extra.bin"))
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(tmp_path))
    (entry / "extra.bin").write_bytes(b"swapped after sealing")
    with pytest.raises(zoo.ZooError, match="sha256"):
        zoo.load("lab")
    assert not OPENED


@pytest.mark.parametrize("text", ["{", "[]", '{"name": 1}', "\xff"])
def test_corrupt_cards_are_zoo_errors(tmp_path, monkeypatch, text):
    entry = tmp_path / "lab"
    entry.mkdir()
    (entry / "card.json").write_bytes(text.encode("latin-1"))
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(tmp_path))
    with pytest.raises(zoo.ZooError, match="card.json"):
        zoo.load("lab")


# -- pairing rules -------------------------------------------------------------------------

@FEW
@given(stems=st.lists(st.sampled_from(["a", "b", "x", "case 1"]), min_size=1, max_size=4, unique=True),
       duplicate=st.sampled_from([None, ".jpg", ".tif", ".bmp"]), layout=st.sampled_from(["aligned", "folders"]))
def test_two_files_with_one_name_are_refused_naming_both(tmp_path_factory, stems, duplicate, layout):
    root = tmp_path_factory.mktemp("pairs")
    folders = [root] if layout == "aligned" else [root / "A", root / "B"]
    image = np.zeros((8, 16 if layout == "aligned" else 8, 3), np.uint8)
    for folder in folders:
        for stem in stems:
            write_image(folder / f"{stem}.png", image)
    if duplicate:
        write_image(folders[-1] / f"{stems[0]}{duplicate}", image)
    CASES["find_pairs"] += 1
    if duplicate:
        with pytest.raises(ValueError, match="have the same name") as error:
            find_pairs(root)
        assert f"{stems[0]}.png'" in str(error.value) and f"{stems[0]}{duplicate}'" in str(error.value)
    else:
        found_layout, conditions, _ = find_pairs(root)
        assert found_layout == layout and len(conditions) == len(stems)


@FEW
@given(height=st.integers(2, 12), width=st.integers(2, 30))
def test_aligned_files_must_be_two_to_one(tmp_path_factory, height, width):
    root = tmp_path_factory.mktemp("aligned")
    write_image(root / "p.png", np.zeros((height, width, 1), np.uint8))
    CASES["check_pairs"] += 1
    layout, conditions, targets = find_pairs(root)
    if width == 2 * height:
        assert check_pairs(layout, conditions, targets) == (1, 1)
    else:
        with pytest.raises(ValueError, match=rf"p\.png' is {width}x{height}"):
            check_pairs(layout, conditions, targets)


@FEW
@given(size_a=st.tuples(st.integers(4, 9), st.integers(4, 9)), size_b=st.tuples(st.integers(4, 9), st.integers(4, 9)),
       channels=st.lists(st.sampled_from([1, 3]), min_size=2, max_size=2))
def test_pairs_of_other_sizes_and_mixed_grey_colour_are_refused(tmp_path_factory, size_a, size_b, channels):
    root = tmp_path_factory.mktemp("folders")
    write_image(root / "A" / "1.png", np.zeros((*size_a, 1), np.uint8))
    write_image(root / "B" / "1.png", np.zeros((*size_b, 3), np.uint8))
    write_image(root / "A" / "2.png", np.zeros((*size_a, channels[0]), np.uint8))
    write_image(root / "B" / "2.png", np.zeros((*size_b, channels[1]), np.uint8))
    layout, conditions, targets = find_pairs(root)
    CASES["check_pairs"] += 1
    if channels[0] != 1 or channels[1] != 3:
        with pytest.raises(ValueError, match="mixes grey and colour|mixes colour and grey"):
            check_pairs(layout, conditions, targets)
    elif size_a != size_b:
        with pytest.raises(ValueError, match=rf"'{root / 'A' / '1.png'}' is {size_a[1]}x{size_a[0]}"):
            check_pairs(layout, conditions, targets)
    else:
        assert check_pairs(layout, conditions, targets) == (1, 3)


# -- the CLI -------------------------------------------------------------------------------

def _condition_folder(folder, count=3):
    for index in range(count):
        write_image(folder / f"c{index}.png", np.full((8, 8, 1), 40 * index, np.uint8))
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@SOME
@given(where=st.sampled_from(["same", "inside", "parent", "existing", "existing-overwrite-flag"]))
def test_generate_never_writes_over_the_inputs(tmp_path_factory, capsys, where):
    root = tmp_path_factory.mktemp("generate")
    data = root / "in"
    before = _condition_folder(data)
    (root / "run").mkdir()
    (root / "run" / "generator.keras").write_bytes(b"not read: refused first")
    out = {"same": data, "inside": data / "out", "parent": root, "existing": root / "out",
           "existing-overwrite-flag": root / "out"}[where]
    if where.startswith("existing"):
        out.mkdir()
        (out / "c1.png").write_bytes(b"earlier result")
    argv = ["generate", "pix2pix", str(root / "run"), "--data", str(data), "--out", str(out)]
    CASES["cli generate pix2pix"] += 1
    if where == "existing-overwrite-flag":
        # Allowed to replace, so it gets as far as loading the (bad) generator: one line, exit 2.
        assert main([*argv, "--overwrite"]) == 2
        assert "cannot load the generator" in capsys.readouterr().err
    else:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("kerasgan: error: ") and err.count("\n") == 1
        assert "--overwrite" in err if where == "existing" else "--data" in err
    assert {path.name: path.read_bytes() for path in data.iterdir() if path.is_file()} == before
    if where.startswith("existing"):
        assert (out / "c1.png").read_bytes() == b"earlier result"


def test_generate_refuses_x_png_and_x_jpg(tmp_path, capsys):
    _condition_folder(tmp_path / "in", 1)
    write_image(tmp_path / "in" / "c0.jpg", np.zeros((8, 8, 1), np.uint8))
    (tmp_path / "generator.keras").write_bytes(b"x")
    assert main(["generate", "pix2pix", str(tmp_path / "generator.keras"), "--data", str(tmp_path / "in"),
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "c0.jpg" in err and "c0.png" in err


@SOME
@given(flag=st.sampled_from(["--learning-rate", "--epochs", "--batch-size", "--image-size", "--filters",
                             "--l1-weight", "--samples"]),
       value=st.sampled_from(["-1", "0", "2.5", "nan", "inf", "ab", "-0.5"]))
def test_bad_numbers_are_usage_errors_naming_the_flag(tmp_path_factory, capsys, flag, value):
    root = tmp_path_factory.mktemp("numbers")
    accepted = {("--l1-weight", "0"), ("--learning-rate", "2.5"), ("--l1-weight", "2.5")}
    if (flag, value) in accepted:
        return
    CASES["cli train pix2pix"] += 1
    assert main(["train", "pix2pix", "--data", str(root), "--out", str(root / "run"), flag, value]) == 2
    assert flag in capsys.readouterr().err


def test_wrong_path_fails_before_tensorflow_is_imported(tmp_path):
    code = ("import sys; from kerasgan.cli import main; "
            f"c = main(['train', 'pix2pix', '--data', {str(tmp_path / 'missing')!r}, '--out', "
            f"{str(tmp_path / 'run')!r}]); print(c, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert "kerasgan: error: data folder" in result.stderr and "missing" in result.stderr


def _aligned_pairs(folder, count=2, channels=1, size=8):
    for index in range(count):
        write_image(folder / f"p{index}.png", np.full((size, 2 * size, channels), 30 * index, np.uint8))


def test_rgb_val_data_for_a_grey_model_is_refused(tmp_path, capsys):
    _aligned_pairs(tmp_path / "train", channels=1)
    _aligned_pairs(tmp_path / "val", channels=3)
    assert main(["train", "pix2pix", "--data", str(tmp_path / "train"), "--val-data", str(tmp_path / "val"),
                 "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "--val-data" in err and "colour" in err and not (tmp_path / "run" / "backup").exists()


def test_train_out_inside_data_is_refused(tmp_path, capsys):
    _aligned_pairs(tmp_path / "train")
    assert main(["train", "pix2pix", "--data", str(tmp_path / "train"), "--out",
                 str(tmp_path / "train" / "run"), "--epochs", "1"]) == 2
    assert "lies inside the input --data" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_with_other_data_or_settings_is_one_line(tmp_path, capsys):
    _aligned_pairs(tmp_path / "train", count=2, size=16)
    _aligned_pairs(tmp_path / "other", count=3, size=16)
    base = ["train", "pix2pix", "--out", str(tmp_path / "run"), "--image-size", "32", "--filters", "4",
            "--epochs", "1", "--samples", "1", "--no-jitter"]
    assert main([*base, "--data", str(tmp_path / "train")]) == 0
    capsys.readouterr()
    recorded = (tmp_path / "run" / "run_settings.json").read_text()
    for changed, named in ((["--data", str(tmp_path / "other")], "--data"),
                           (["--data", str(tmp_path / "train"), "--gan-loss", "lsgan", "--l1-weight", "10"],
                            "--gan-loss"),
                           (["--data", str(tmp_path / "train"), "--filters", "8"], "--filters")):
        assert main([*base, *changed, "--epochs", "2"]) == 2  # argparse: the last value wins
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and named in err and "other settings" in err, err
    assert (tmp_path / "run" / "run_settings.json").read_text() == recorded
    # The same settings with more epochs resume (and extend) the run.
    assert main([*base, "--data", str(tmp_path / "train"), "--epochs", "2"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out


# -- one-line messages ---------------------------------------------------------------------

@SOME
@given(lines=st.lists(st.text(alphabet="abc :'", min_size=1, max_size=40), min_size=1, max_size=30))
def test_one_line_keeps_our_message_out_of_a_wrapped_error(lines):
    wrapped = "\n".join(["Traceback (most recent call last):", *lines,
                         "ValueError: cannot decode image file 'x.png'", "\t [[{{node PyFunc}}]]"])
    CASES["cli one_line"] += 1
    assert one_line(RuntimeError(wrapped)) == "cannot decode image file 'x.png'"
    long = RuntimeError("x" * 5000 + "\n" + "\n".join(lines))
    assert "\n" not in one_line(long) and len(one_line(long)) <= 700


def test_export_onnx_refuses_an_opset_outside_what_runs():
    from kerasgan.export import MAX_OPSET, MIN_OPSET, export_onnx

    for opset in (1, MIN_OPSET - 1, MAX_OPSET + 1):
        with pytest.raises(ValueError, match="opset"):
            export_onnx(None, "x.onnx", opset=opset)
    with pytest.raises(TypeError, match="opset"):
        export_onnx(None, "x.onnx", opset=13.5)


@FEW
@given(flag=st.sampled_from([["--scale-factor", "1.5"], ["--scale-factor", "0"], ["--iterations", "-1"],
                             ["--max-size", "2.5"], ["--filters", "0"], ["--min-size", "300"],
                             ["--max-filters", "16"], ["--max-filters", "0"], ["--min-size", "10"]]))
def test_train_singan_bad_numbers_are_usage_errors(tmp_path_factory, capsys, flag):
    root = tmp_path_factory.mktemp("singan")
    write_image(root / "image.png", np.zeros((20, 20, 1), np.uint8))
    CASES["cli train singan"] += 1
    assert main(["train", "singan", str(root / "image.png"), "--out", str(root / "run"), *flag]) == 2
    assert flag[0] in capsys.readouterr().err
    assert not (root / "run" / "singan.json").exists()


def test_singan_out_rules(tmp_path, capsys):
    write_image(tmp_path / "image.png", np.zeros((20, 20, 1), np.uint8))
    assert main(["train", "singan", str(tmp_path / "image.png"), "--out", str(tmp_path / "image.png")]) == 2
    assert "is a file" in capsys.readouterr().err
    # generate: the file names are known from singan.json, so an overwrite is refused before loading
    run = tmp_path / "run"
    run.mkdir()
    (run / "singan.json").write_text(json.dumps({"channel_layout": {"image": 1}}))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "singan_001.png").write_bytes(b"earlier")
    assert main(["generate", "singan", str(run), "--count", "2", "--out", str(tmp_path / "out")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "out" / "singan_001.png").read_bytes() == b"earlier"
    assert main(["generate", "singan", str(run), "--count", "2", "--out", str(run / "samples")]) == 2
    assert "lies inside the input RUN" in capsys.readouterr().err


@pytest.mark.slow
def test_mid_run_failures_end_in_one_line_naming_the_file_or_checkpoint(tmp_path, capsys):
    _aligned_pairs(tmp_path / "data", count=3, size=16)
    data = (tmp_path / "data" / "p2.png").read_bytes()
    (tmp_path / "data" / "p2.png").write_bytes(data[: len(data) // 2])  # header intact, pixels cut
    base = ["train", "pix2pix", "--data", str(tmp_path / "data"), "--image-size", "32", "--filters", "4",
            "--samples", "1", "--no-shuffle"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "p2.png" in err and err.startswith("kerasgan: error: cannot decode")
    (tmp_path / "data" / "p2.png").write_bytes(data)
    run = tmp_path / "run"
    assert main([*base, "--out", str(run), "--epochs", "1"]) == 0
    (run / "checkpoints").rename(run / "moved")
    (run / "checkpoints").write_text("a file where the folder was: the next write fails")
    capsys.readouterr()
    assert main([*base, "--out", str(run), "--epochs", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epoch_0001.weights.h5" in err and "end of epoch 1" in err
    assert (run / "backup" / "epoch_0001.weights.h5").is_file()


@FEW
@given(kind=st.sampled_from(["int16 tif", "float tif 0..255", "float tif 0..1", "uint16 png"]),
       seed=st.integers(0, 100))
def test_paired_dataset_reads_values_as_read_image_does(tmp_path_factory, kind, seed):
    import tensorflow as tf  # noqa: F401 - the pipeline's own import

    from kerasgan.data import paired_image_dataset

    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 256, (8, 8, 1))
    image, expected = {
        "int16 tif": (levels.astype(np.int16) * 16, levels * 16 / 255.0),  # 0..4080 holds > 255
        "float tif 0..255": (levels.astype(np.float32), levels / 255.0),
        "float tif 0..1": ((levels / 255.0).astype(np.float32), levels / 255.0),
        "uint16 png": ((levels * 257).astype(np.uint16), levels * 257 / 65535.0),
    }[kind]
    if kind == "int16 tif":
        expected = levels * 16 / (255.0 if levels.max() * 16 <= 255 else 65535.0)
    root = tmp_path_factory.mktemp("ranges")
    suffix = ".png" if kind == "uint16 png" else ".tif"
    import cv2

    for folder in ("A", "B"):
        (root / folder).mkdir()
        assert cv2.imwrite(str(root / folder / f"x{suffix}"), image[..., 0])
    CASES["paired_image_dataset"] += 1
    condition, target = next(iter(paired_image_dataset(root, image_size=8, shuffle=False, jitter=False)))
    np.testing.assert_allclose(condition.numpy()[0], expected * 2 - 1, atol=1e-5)
    np.testing.assert_allclose(target.numpy()[0], expected * 2 - 1, atol=1e-5)


@SOME
@given(batch_size=st.one_of(st.integers(-3, 0), st.just(2.5), st.just(True), st.just("8")),
       image_size=st.one_of(st.integers(-3, 0), st.just(2.5), st.just((8,)), st.just("ab")),
       shard=st.tuples(st.integers(-1, 3), st.integers(0, 3)), which=st.sampled_from(["batch", "size", "shard"]))
def test_paired_dataset_arguments_are_named(tmp_path_factory, batch_size, image_size, shard, which):
    from kerasgan.data import paired_image_dataset

    root = tmp_path_factory.mktemp("args")
    _aligned_pairs(root, count=2)
    kwargs = {"batch": {"batch_size": batch_size}, "size": {"image_size": image_size},
              "shard": {"shard_index": shard[0], "num_shards": shard[1]}}[which]
    if which == "shard" and 0 <= shard[0] < shard[1] <= 2:
        return
    CASES["paired_image_dataset"] += 1
    name = {"batch": "batch_size", "size": "image_size", "shard": "shard_index|num_shards"}[which]
    with pytest.raises((ValueError, TypeError), match=name):
        paired_image_dataset(root, **kwargs)


def test_debug_shows_the_error_itself(tmp_path):
    argv = ["train", "pix2pix", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    for debug_argv in (["--debug", *argv], [*argv, "--debug"]):
        with pytest.raises(FileNotFoundError, match="missing"):
            main(debug_argv)


def test_train_into_a_folder_with_foreign_files_of_the_run_names_is_refused(tmp_path, capsys):
    _aligned_pairs(tmp_path / "train")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "log.csv").write_text("someone else's log")
    assert main(["train", "pix2pix", "--data", str(tmp_path / "train"), "--out", str(tmp_path / "out"),
                 "--epochs", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "out" / "log.csv").read_text() == "someone else's log"
