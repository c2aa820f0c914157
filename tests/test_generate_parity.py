"""Issue 14, CLI parity: `kerasgan generate NAME --zoo --count 4` writes the same layout for every
zoo entry (NAME_000.png ..., the conditions, contact_sheet.png of every image, manifest.json
listing each written file with its seed), and bad arguments fail before TensorFlow is imported."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from kerasgan.cli import main
from kerasgan.data.image_io import read_image

ZOO_NAMES = ("chromosome", "syncgan", "glomeruli", "medisingan")


def _rgb(image):
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]


def manifest_files(item):
    """Every PNG one manifest entry names: its file and the files of its conditions/channels."""
    names = [item["file"]]
    for key in ("condition", "channels"):
        value = item.get(key)
        if isinstance(value, dict):
            names += [v for v in value.values() if isinstance(v, str) and v.endswith(".png")]
    return list(dict.fromkeys(names))  # `channels` names the main file again


def check_layout(out, name, count, panels):
    """The shared layout; `panels(item)` lists the files shown side by side for one image in the
    contact sheet. Returns the manifest."""
    written = {p.name for p in out.iterdir()}
    assert {f"{name}_{i:03d}.png" for i in range(count)} <= written
    assert {"contact_sheet.png", "manifest.json"} <= written
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == f"generate {name}" and manifest["count"] == count
    images = manifest["images"]
    assert [item["file"] for item in images] == [f"{name}_{i:03d}.png" for i in range(count)]
    assert all(isinstance(item["seed"], int) for item in images)
    named = [file for item in images for file in manifest_files(item)]
    assert len(named) == len(set(named)), "a file is listed twice"
    assert set(named) == written - {"contact_sheet.png", "manifest.json"}, "manifest != written files"
    # The contact sheet shows every image: tile i (its panels side by side) at its montage place.
    tiles = [np.concatenate([_rgb(read_image(out / file)) for file in panels(item)], axis=1) for item in images]
    height, width = tiles[0].shape[:2]
    columns = max(1, math.ceil(math.sqrt(count / len(panels(images[0])))))
    sheet = read_image(out / "contact_sheet.png")
    rows = math.ceil(count / columns)
    assert sheet.shape == (rows * (height + 2) + 2, columns * (width + 2) + 2, 3)
    for i, tile in enumerate(tiles):
        row, column = divmod(i, columns)
        y, x = 2 + row * (height + 2), 2 + column * (width + 2)
        np.testing.assert_array_equal(sheet[y:y + height, x:x + width], tile, err_msg=f"tile {i}")
    return manifest


# ----------------------------------------------------------------------------- glomeruli
def test_generate_glomeruli_zoo_layout(tmp_path):
    out = tmp_path / "g"
    assert main(["generate", "glomeruli", "--zoo", "--count", "4", "--out", str(out)]) == 0
    check_layout(out, "glomeruli", 4, lambda item: [item["condition"]["mask"], item["condition"]["structure_map"],
                                                    item["file"]])


# ----------------------------------------------------------------------------- singan / medisingan
def _singan_panels(item):
    return list(item["channels"].values())


def test_generate_medisingan_zoo_layout(tmp_path):
    out = tmp_path / "m"
    assert main(["generate", "medisingan", "--zoo", "--count", "4", "--start-scale", "2", "--out", str(out)]) == 0
    manifest = check_layout(out, "medisingan", 4, _singan_panels)
    assert {p.name for p in out.iterdir()} == ({f"{kind}_{i:03d}.png" for i in range(4)
                                                for kind in ("medisingan", "mask")}
                                               | {"contact_sheet.png", "manifest.json"})
    assert [item["seed"] for item in manifest["images"]] == [0, 1, 2, 3]
    assert all(item["condition"] == {"start_scale": 2} for item in manifest["images"])
    assert manifest["start_scale"] == 2 and manifest["model"] == "zoo:medisingan"
    # Image i is what the model draws alone from its recorded seed and start scale.
    import kerasgan.zoo

    model = kerasgan.zoo.load("medisingan")
    item = manifest["images"][2]
    again = np.clip(model.sample(1, start_scale=2, seed=item["seed"])[0], -1, 1)
    for start, part in ((0, "image"), (3, "mask")):
        written = read_image(out / item["channels"][part]).astype(np.float32) / 127.5 - 1
        stop = start + written.shape[-1]
        assert np.abs(again[..., start:stop] - written).max() <= 1.01 / 127.5, part


def test_generate_singan_run_outside_the_checkout_relative_and_absolute(tmp_path, monkeypatch):
    import shutil

    import kerasgan.zoo

    run = tmp_path / "elsewhere" / "my run"
    shutil.copytree(kerasgan.zoo._entry_folder("medisingan"), run)
    monkeypatch.chdir(tmp_path)
    # 9 samples: more than one row of any fixed-width grid; the contact sheet holds them all.
    assert main(["generate", "singan", "elsewhere/my run", "--count", "9", "--seed", "3", "--start-scale", "3",
                 "--out", "rel"]) == 0
    manifest = check_layout(tmp_path / "rel", "singan", 9, _singan_panels)
    assert [item["seed"] for item in manifest["images"]] == list(range(3, 12))
    assert main(["generate", "singan", str(run), "--count", "2", "--seed", "3", "--start-scale", "3",
                 "--out", str(tmp_path / "abs")]) == 0
    check_layout(tmp_path / "abs", "singan", 2, _singan_panels)
    # Same model, same seeds: the same images whichever way the folder was named.
    for file in ("singan_000.png", "mask_001.png"):
        np.testing.assert_array_equal(read_image(tmp_path / "rel" / file), read_image(tmp_path / "abs" / file))
    # --zoo needs no path at all.
    assert main(["generate", "singan", "--zoo", "--count", "1", "--start-scale", "4", "--out", "z"]) == 0
    assert json.loads((tmp_path / "z" / "manifest.json").read_text())["model"] == "zoo:medisingan"


def test_save_grid_shows_every_sample(tmp_path):
    from kerasgan.medisingan.commands import save_grid

    samples = np.random.default_rng(0).uniform(-1, 1, (16, 12, 12, 1)).astype(np.float32)
    eight = read_image(save_grid(samples[:8], tmp_path / "eight.png"))
    sixteen = read_image(save_grid(samples, tmp_path / "sixteen.png"))
    # 16 samples at 8 a row: two row blocks, the figure twice as tall, as wide.
    assert sixteen.shape[1] == eight.shape[1] and abs(sixteen.shape[0] - 2 * eight.shape[0]) <= 4


# ----------------------------------------------------------------------------- syncgan
def _syncgan_panels(item):
    return [item["file"], item["condition"]["mask"]]


def test_generate_syncgan_zoo_every_class_cycled(tmp_path):
    out = tmp_path / "s"
    assert main(["generate", "syncgan", "--zoo", "--count", "4", "--seed", "7", "--out", str(out)]) == 0
    manifest = check_layout(out, "syncgan", 4, _syncgan_panels)
    assert {p.name for p in out.iterdir()} == ({f"{kind}_{i:03d}.png" for i in range(4) for kind in ("syncgan", "mask")}
                                               | {"contact_sheet.png", "manifest.json"})
    assert manifest["classes"] == ["benign", "malignant"]
    assert [item["class"] for item in manifest["images"]] == ["benign", "malignant", "benign", "malignant"]
    assert [item["seed"] for item in manifest["images"]] == [7, 8, 9, 10]
    # Each pair is what the pipeline draws alone from the recorded class and seed.
    import kerasgan.zoo

    pipeline = kerasgan.zoo.load("syncgan")
    for index in (1, 2):
        item = manifest["images"][index]
        image, mask = pipeline.generate(item["class"], 1, seed=item["seed"])
        np.testing.assert_array_equal(read_image(out / item["condition"]["mask"])[..., 0], mask[0, ..., 0] * 255)
        np.testing.assert_array_equal(read_image(out / item["file"]), image[0])


def test_generate_syncgan_saved_pipeline_one_class_and_model_alias(tmp_path):
    import kerasgan.zoo

    saved = tmp_path / "elsewhere" / "pipeline.keras"
    kerasgan.zoo.load("syncgan").save(saved)
    assert main(["generate", "syncgan", str(saved), "--class", "malignant", "--count", "3",
                 "--out", str(tmp_path / "a")]) == 0
    manifest = check_layout(tmp_path / "a", "syncgan", 3, _syncgan_panels)
    assert manifest["model"] == str(saved) and {item["class"] for item in manifest["images"]} == {"malignant"}
    assert main(["generate", "syncgan", "--model", str(saved), "--class", "malignant", "--count", "3",
                 "--out", str(tmp_path / "b")]) == 0
    for i in range(3):
        np.testing.assert_array_equal(read_image(tmp_path / "a" / f"syncgan_{i:03d}.png"),
                                      read_image(tmp_path / "b" / f"syncgan_{i:03d}.png"))


# ----------------------------------------------------------------------------- chromosome
def _chromosome_panels(item):
    return [item["condition"]["mask"], item["file"]]


def _shapes(data, count, size=128):
    from kerasgan.chromosome.commands import load_set

    chromosomes = load_set(data, size=size, progress=False)
    return chromosomes.subset([i % len(chromosomes) for i in range(count)])


def test_generate_chromosome_zoo_perlin_recorded(tmp_path):
    from kerasgan.chromosome.patterns import PerlinBank

    out = tmp_path / "c"
    assert main(["generate", "chromosome", "--zoo", "--count", "4", "--seed", "5", "--out", str(out)]) == 0
    manifest = check_layout(out, "chromosome", 4, _chromosome_panels)
    assert {p.name for p in out.iterdir()} == ({f"{kind}_{i:03d}.png" for i in range(4) for kind in ("chromosome", "mask")}
                                               | {"contact_sheet.png", "manifest.json"})
    assert manifest["model"] == "zoo:chromosome" and manifest["abnormal"] == "perlin"
    assert [item["seed"] for item in manifest["images"]] == [5, 6, 7, 8]
    # Re-derived apart from the command: image i's Perlin draw from seed SEED + i.
    shapes, bank = _shapes("synthetic:64:7", 4), PerlinBank()
    for i, item in enumerate(manifest["images"]):
        length = len(shapes.patterns[i])
        track, index = bank.positions(length, np.random.default_rng(item["seed"]))
        assert item["abnormality"] == {"pattern": "perlin", "bank_seed": 0, "track": int(track),
                                       "window": [int(index[0]), int(index[-1])]}
        pattern = bank.sample(length, np.random.default_rng(item["seed"]))
        np.testing.assert_array_equal(read_image(out / item["condition"]["mask"])[..., 0],
                                      shapes.banded_mask(i, pattern))
        assert item["condition"]["shape"] == shapes.names[i]
    # The image is the zoo generator's drawing of the recorded mask.
    import kerasgan.zoo
    from kerasgan.chromosome.model import generate

    mask = read_image(out / "mask_002.png")[..., 0]
    np.testing.assert_array_equal(generate(kerasgan.zoo.load("chromosome"), mask[None])[0],
                                  read_image(out / "chromosome_002.png")[..., 0])


def test_generate_chromosome_edited_records_each_images_edit(tmp_path):
    from kerasgan.chromosome import extraction, patterns

    out = tmp_path / "e"
    assert main(["generate", "chromosome", "--count", "10", "--abnormal", "edited", "--data", "synthetic:4:3",
                 "--out", str(out)]) == 0
    manifest = check_layout(out, "chromosome", 10, _chromosome_panels)
    shapes = _shapes("synthetic:4:3", 10)
    kinds = set()
    for i, item in enumerate(manifest["images"]):
        edit = item["abnormality"]
        kinds.add(edit["edit"])
        own = shapes.patterns[i]
        # Apply the edit the manifest names to the shape's own pattern: the written mask.
        if edit["edit"] == "insertion":
            segment = np.array([int(c) for c in edit["segment"]], np.uint8)
            edited = patterns.edit(own, insertion=(edit["position"], segment))
            assert len(edited) == len(own) + len(segment)
        else:
            edited = patterns.edit(own, **{edit["edit"]: tuple(edit["interval"])})
            a, b = (int(round(f * len(own))) for f in edit["interval"])
            if edit["edit"] == "deletion":
                assert len(edited) == len(own) - (b - a)  # the banding got shorter
            elif edit["edit"] == "duplication":
                assert len(edited) == len(own) + (b - a)
        mask = read_image(out / item["condition"]["mask"])[..., 0]
        np.testing.assert_array_equal(mask, shapes.banded_mask(i, extraction.resample_pattern(edited, len(own))),
                                      err_msg=f"image {i}: {edit}")
    assert len(kinds) >= 2, kinds  # ten random edits are not all of one kind


def test_generate_chromosome_own_pattern_and_a_run_folder(tmp_path):
    import kerasgan.zoo

    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    kerasgan.zoo.load("chromosome").save(run / "best_generator.keras")
    out = tmp_path / "n"
    assert main(["generate", "chromosome", str(run), "--count", "2", "--abnormal", "none", "--data", "synthetic:2:1",
                 "--out", str(out)]) == 0
    manifest = check_layout(out, "chromosome", 2, _chromosome_panels)
    assert manifest["model"] == str(run / "best_generator.keras")
    shapes = _shapes("synthetic:2:1", 2)
    for i, item in enumerate(manifest["images"]):
        assert item["abnormality"] == {"pattern": "own"}
        np.testing.assert_array_equal(read_image(out / item["condition"]["mask"])[..., 0], shapes.banded_mask(i))


def test_generate_chromosome_iscn_same_layout(tmp_path):
    out = tmp_path / "i"
    iscn = "46,XX,t(9;22)(q34;q11.2)"
    assert main(["generate", "chromosome", "--iscn", iscn, "--count", "3", "--generator", "none", "--seed", "4",
                 "--out", str(out)]) == 0
    manifest = check_layout(out, "chromosome", 3, _chromosome_panels)
    assert manifest["iscn"] == iscn and all(item["seed"] == 4 for item in manifest["images"])
    got = [item["abnormality"] for item in manifest["images"]]
    assert [a["chromosome"] for a in got] == ["der(9)t(9;22)(q34;q11.2)", "der(22)t(9;22)(q34;q11.2)",
                                              "der(9)t(9;22)(q34;q11.2)"]
    assert [a["class"] for a in got] == ["9", "22", "9"] and all(a["iscn"] == iscn for a in got)
    assert all(a["why"] == "structural" and a["breakpoints"] for a in got)


# ----------------------------------------------------------------------------- refusals
_NO_TF = ("import sys; from kerasgan.cli import main; code = main(sys.argv[1:]); "
          "print(code, 'tensorflow' in sys.modules)")


@pytest.mark.parametrize("name", ZOO_NAMES)
@pytest.mark.parametrize("bad, message", [
    (["NOWHERE"], "RUN '"),
    (["--zoo", "--count", "0"], "--count"),
    (["--zoo", "--count", "2.5"], "--count"),
    (["EXISTS", "--zoo"], "not both"),
])
def test_bad_run_or_count_fails_in_one_line_before_tensorflow(tmp_path, name, bad, message):
    (tmp_path / "EXISTS").mkdir()
    command = ["generate", name, *[str(tmp_path / "no" / "such run") if part == "NOWHERE" else
                                   str(tmp_path / part) if part == "EXISTS" else part for part in bad],
               "--out", str(tmp_path / "out")]
    result = subprocess.run([sys.executable, "-c", _NO_TF, *command], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.stdout.split() == ["2", "False"], result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("kerasgan") and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command, message", [
    (["generate", "syncgan", "--zoo", "--class", "tumour"], "--class 'tumour' is not a class of the model"),
    (["generate", "chromosome", "--generator", "none"], "works only with --iscn"),
    (["generate", "chromosome", "--data", "no/such/data"], "--data 'no/such/data' does not exist"),
    (["generate", "singan", "--zoo", "--start-scale", "8"], "below the model's 8 scales"),
])
def test_other_bad_arguments_fail_before_tensorflow(tmp_path, command, message):
    result = subprocess.run([sys.executable, "-c", _NO_TF, *command, "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert result.stderr.startswith("kerasgan: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_generate_chromosome_iscn_records_why_each_chromosome_is_abnormal(tmp_path):
    out = tmp_path / "k"
    assert main(["generate", "chromosome", "--iscn", "47,XY,+21,del(5)(p15.2)", "--count", "3",
                 "--generator", "none", "--out", str(out)]) == 0
    manifest = check_layout(out, "chromosome", 3, _chromosome_panels)
    got = [(a["chromosome"], a["class"], a["why"], a["breakpoints"])
           for a in (item["abnormality"] for item in manifest["images"])]
    assert got == [("del(5)(p15.2)", "5", "structural", ["5p15.2"]), ("21", "21", "extra copy", []),
                   ("del(5)(p15.2)", "5", "structural", ["5p15.2"])]


def test_a_later_singan_zoo_entry_gets_generate_name(tmp_path):
    """A zoo entry added later (here: a copy of medisingan under $KERASGAN_ZOO_PATH) is a
    `generate NAME` command with the same flags and layout, files NAME_000.png."""
    import os
    import shutil

    import kerasgan.zoo

    root = tmp_path / "lab_zoo"
    shutil.copytree(kerasgan.zoo._entry_folder("medisingan"), root / "lab_singan")
    card = json.loads((root / "lab_singan" / "card.json").read_text())
    (root / "lab_singan" / "card.json").write_text(json.dumps({**card, "name": "lab_singan"}))
    out = tmp_path / "out"
    script = "import sys; from kerasgan.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", script, "generate", "lab_singan", "--zoo", "--count", "4",
                             "--start-scale", "4", "--out", str(out)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KERASGAN_ZOO_PATH": str(root)})
    assert result.returncode == 0, result.stderr
    manifest = check_layout(out, "lab_singan", 4, _singan_panels)
    assert manifest["model"] == "zoo:lab_singan"
