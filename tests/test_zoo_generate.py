"""`kerasgan generate glomeruli` / `generate medisingan`: layout, manifest, contact sheet, fast refusals."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kerasgan.cli import main
from kerasgan.data.image_io import read_image


def _signed(png):
    return png.astype(np.float32) / 127.5 - 1.0


def test_generate_glomeruli_zoo_layout_and_conditions(tmp_path):
    out = tmp_path / "g"
    assert main(["generate", "glomeruli", "--zoo", "--count", "3", "--seed", "2", "--out", str(out)]) == 0
    expected = {f"{kind}_{i:03d}.png" for i in range(3) for kind in ("glomeruli", "mask", "structure")}
    assert {p.name for p in out.iterdir()} == expected | {"contact_sheet.png", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "zoo:glomeruli" and manifest["count"] == 3
    assert [item["file"] for item in manifest["images"]] == ["glomeruli_000.png", "glomeruli_001.png", "glomeruli_002.png"]
    assert all(item["seed"] == 2 and item["condition"]["mask"] == f"mask_{i:03d}.png"
               for i, item in enumerate(manifest["images"]))
    # 3 items of 3 panels (128 x 384) in 1 column, 2 px gaps around each tile: (3*130+2, 386+2).
    assert read_image(out / "contact_sheet.png").shape == (392, 388, 3)
    # The image is what the zoo generator draws from the recorded mask and structure map.
    import kerasgan.zoo

    generator = kerasgan.zoo.load("glomeruli")
    mask, structure = read_image(out / "mask_001.png"), read_image(out / "structure_001.png")
    assert set(np.unique(mask)) <= {0, 255} and set(np.unique(structure)) <= {0, 255}
    condition = np.concatenate([_signed(mask), _signed(structure)], axis=-1)[None]
    drawn = np.asarray(generator(condition, training=False))[0]
    written = _signed(read_image(out / "glomeruli_001.png"))
    assert np.abs(drawn - written).max() <= 1.01 / 127.5


def test_generate_glomeruli_from_a_run_folder_and_data(tmp_path):
    from kerasgan import example_data
    from kerasgan.glomeruli.zoo_entry import build_generator

    data = example_data.write("image-mask", tmp_path / "pairs", count=4)
    run = tmp_path / "run"
    run.mkdir()
    build_generator({"image_size": 32, "condition_channels": 2, "image_channels": 3, "filters": 4,
                     "norm": "batch"}).save(run / "generator.keras")
    out = tmp_path / "g"
    assert main(["generate", "glomeruli", str(run), "--data", str(data), "--count", "6", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == str(run / "generator.keras")
    sources = [item["condition"]["source"] for item in manifest["images"]]
    names = sorted(p.stem for p in (data / "images").iterdir())
    # 6 images from 4 pairs: a seeded order of all four, then its first two again.
    assert sorted(sources[:4]) == names and sources[4:] == sources[:2]
    assert read_image(out / "glomeruli_005.png").shape == (32, 32, 3)


def test_generate_medisingan_zoo_seeds_per_image(tmp_path):
    out = tmp_path / "m"
    assert main(["generate", "medisingan", "--count", "2", "--seed", "5", "--start-scale", "1",
                 "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"medisingan_000.png", "mask_000.png", "medisingan_001.png", "mask_001.png",
                     "contact_sheet.png", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert [item["seed"] for item in manifest["images"]] == [5, 6]
    assert manifest["images"][1]["file"] == "medisingan_001.png"
    assert manifest["images"][1]["channels"] == {"image": "medisingan_001.png", "mask": "mask_001.png"}
    assert manifest["images"][1]["condition"] == {"start_scale": 1}
    import kerasgan.zoo

    model = kerasgan.zoo.load("medisingan")
    again = model.sample(1, start_scale=1, seed=6)[0, ..., :3]  # image channels of the layout
    written = _signed(read_image(out / "medisingan_001.png"))
    assert np.abs(np.clip(again, -1, 1) - written).max() <= 1.01 / 127.5
    # 2 items of 2 panels (image, mask) side by side; columns ceil(sqrt(2 / 2)) = 1.
    height, width = again.shape[:2]
    assert read_image(out / "contact_sheet.png").shape == (2 * (height + 2) + 2, 2 * width + 2 + 2, 3)


@pytest.mark.parametrize("command, message", [
    (["generate", "glomeruli", "no/such/run", "--out", "OUT"], "RUN 'no/such/run' does not exist"),
    (["generate", "medisingan", "no/such/run", "--out", "OUT"], "RUN 'no/such/run' does not exist"),
    (["generate", "glomeruli", "--data", "no/such/data", "--out", "OUT"], "--data 'no/such/data' is not a folder"),
    (["generate", "medisingan", "--count", "0", "--out", "OUT"], "--count"),
    (["generate", "glomeruli", "--count", "-3", "--out", "OUT"], "--count"),
    (["generate", "medisingan", "EXISTS", "--zoo", "--out", "OUT"], "not both"),
    (["generate", "medisingan", "--start-scale", "8", "--out", "OUT"], "below the model's 8 scales"),
    (["generate", "medisingan", "--out", "FULL"], "would be overwritten"),
    (["generate", "glomeruli", "--out", "FULL"], "would be overwritten"),
])
def test_bad_arguments_fail_before_tensorflow(tmp_path, command, message):
    (tmp_path / "FULL").mkdir()
    for name in ("glomeruli_000.png", "medisingan_000.png"):
        (tmp_path / "FULL" / name).write_bytes(b"x")
    (tmp_path / "EXISTS").mkdir()
    command = [str(tmp_path / part) if part in ("OUT", "FULL", "EXISTS") else part for part in command]
    script = ("import sys; from kerasgan.cli import main; code = main(sys.argv[1:]); "
              "print(code, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script, *command], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert message in result.stderr
    assert not (tmp_path / "OUT").exists()
    assert (tmp_path / "FULL" / "glomeruli_000.png").read_bytes() == b"x"
