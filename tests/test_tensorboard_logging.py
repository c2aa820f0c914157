"""TensorBoard logs of `train_gan` / `kerasgan train pix2pix`: epoch scalars and the sample grid."""

import pathlib

import numpy as np
import pytest

from kerasgan import example_data
from kerasgan.cli import main


def _events(folder):
    """{tag: [(step, value or image shape)]} read from the event files under `folder`."""
    import tensorflow as tf

    found = {}
    for path in sorted(pathlib.Path(folder).rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                run = path.parent.name
                tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                if value.metadata.plugin_data.plugin_name == "images":
                    decoded = tf.io.decode_png(tensor[2]).numpy()  # width, height, then the PNG
                    found.setdefault(f"{run}/{value.tag}", []).append((event.step, decoded))
                elif tensor is not None:
                    found.setdefault(f"{run}/{value.tag}", []).append((event.step, float(tensor)))
    return found


def test_train_pix2pix_logs_epoch_scalars_and_the_sample_grid(tmp_path):
    pairs = example_data.write("pix2pix-pairs", tmp_path / "pairs", count=4)
    run = tmp_path / "run"
    code = main(["train", "pix2pix", "--data", str(pairs / "train"), "--val-data", str(pairs / "val"),
                 "--epochs", "2", "--batch-size", "2", "--image-size", "32", "--filters", "4",
                 "--out", str(run)])
    assert code == 0
    events = _events(run / "tensorboard")
    import csv

    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    # A scalar per epoch (steps 1, 2) for every column of log.csv, with its value.
    columns = [name for name in rows[0] if name != "epoch"]
    assert "val_l1" in columns and len(columns) >= 3
    for name in columns:
        assert [step for step, _ in events[f"tensorboard/{name}"]] == [1, 2]
        assert np.allclose([value for _, value in events[f"tensorboard/{name}"]],
                           [float(row[name]) for row in rows], rtol=1e-5), name
    # The sample grid of each epoch, the same pixels as samples/epoch_NNNN.png.
    from kerasgan.data.image_io import read_image

    grids = events["tensorboard/samples"]
    assert [step for step, _ in grids] == [1, 2]
    assert np.array_equal(grids[1][1], read_image(run / "samples" / "epoch_0002.png"))
    assert not np.array_equal(grids[0][1], grids[1][1])  # not the same image twice


def test_tensorboard_none_turns_it_off(tmp_path):
    pairs = example_data.write("pix2pix-pairs", tmp_path / "pairs", count=2)
    run = tmp_path / "run"
    assert main(["train", "pix2pix", "--data", str(pairs / "train"), "--epochs", "1", "--batch-size", "2",
                 "--image-size", "32", "--filters", "4", "--tensorboard", "none", "--out", str(run)]) == 0
    assert (run / "log.csv").is_file() and not (run / "tensorboard").exists()


def test_train_glomeruli_logs_to_tensorboard_by_default(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "glomeruli", "--epochs", "1", "--steps-per-epoch", "1", "--image-size", "32",
                 "--filters", "4", "--train-patches", "4", "--test-patches", "2", "--batch-size", "2",
                 "--out", str(run)]) == 0
    events = _events(run / "tensorboard")
    assert [step for step, _ in events["tensorboard/val_l1"]] == [1]
    assert [step for step, _ in events["tensorboard/samples"]] == [1]


def test_singan_fit_logs_losses_per_iteration_and_samples_per_scale(tmp_path):
    from kerasgan.models.singan import SinGAN, pyramid_shapes

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0, 0.5, (32, 32, 4)), -1, 1).astype(np.float32)
    settings = dict(max_size=32, min_size=25, filters=4, seed=0)
    iterations = 10
    logged = SinGAN(**settings).fit(image, iterations_per_scale=iterations, verbose=0,
                                    channel_layout={"image": 3, "mask": 1},
                                    tensorboard_dir=tmp_path / "tb")
    shapes, _ = pyramid_shapes(32, 32, 32, 25, 0.75)
    events = _events(tmp_path / "tb")
    total = len(shapes) * iterations
    # Losses on one curve over the whole pyramid: the last step of each scale is logged.
    for name in ("tb/critic_loss", "tb/generator_loss", "tb/reconstruction_loss"):
        assert [step for step, _ in events[name]][-1] == total, sorted(events)
        assert all(np.isfinite(value) for _, value in events[name])
    steps = [step for step, _ in events["tb/scale"]]
    assert steps == sorted(steps) and steps[-1] == total
    assert [value for step, value in events["tb/scale"] if step == iterations] == [0.0]
    assert [value for step, value in events["tb/scale"] if step == total] == [len(shapes) - 1.0]
    # Per scale, one strip per channel group: 4 samples and the reconstruction side by side.
    for tag, channels in (("tb/samples_image", 3), ("tb/samples_mask", 1)):
        strips = events[tag]
        assert [step for step, _ in strips] == [(n + 1) * iterations for n in range(len(shapes))]
        for (_, picture), (height, width) in zip(strips, shapes):
            assert picture.shape == (height, 5 * width, channels)
    # Logging draws its own noise: the same seed trains the same weights with and without it.
    plain = SinGAN(**settings).fit(image, iterations_per_scale=iterations, verbose=0,
                                   channel_layout={"image": 3, "mask": 1})
    for a, b in zip(logged.generators, plain.generators):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(wa, wb, atol=1e-6)


def test_syncgan_fit_logs_each_stage_with_its_grid(tmp_path):
    from kerasgan.syncgan.pipeline import SynCGAN
    from kerasgan.syncgan.renderer import render_cytology

    images, _, labels = render_cytology(count_per_class=4, image_size=32, seed=2)
    pipeline = SynCGAN(classes=["benign", "malignant"], image_size=32, filters=4, noise_channels=1)
    history = pipeline.fit(images, labels, mask_epochs=2, cgan_epochs=3, batch_size=4, verbose=0,
                           tensorboard_dir=tmp_path / "tb")
    events = _events(tmp_path / "tb")
    # The CGAN's epoch scalars are the values fit returned, epoch by epoch.
    assert [step for step, _ in events["cgan/g_loss"]] == [1, 2, 3]
    np.testing.assert_allclose([v for _, v in events["cgan/g_loss"]], history["cgan"]["g_loss"], rtol=1e-6)
    # Its grid: 4 masks over their 4 images (2 rows of 32 px, 4 columns).
    assert [step for step, _ in events["cgan/samples"]] == [1, 2, 3]
    assert events["cgan/samples"][0][1].shape == (64, 128, 3)
    for name in ("benign", "malignant"):
        np.testing.assert_allclose([v for _, v in events[f"mask_{name}/d_loss"]],
                                   history[f"mask_{name}"]["d_loss"], rtol=1e-6)
        grid = events[f"mask_{name}/samples"][-1][1]
        assert grid.shape == (32, 8 * 32, 3) and set(np.unique(grid)) <= {0, 255}  # binary masks


@pytest.mark.parametrize("command", ["chromosome", "syncgan", "singan"])
def test_every_train_command_logs_to_tensorboard_by_default(command, tmp_path, capsys):
    out = tmp_path / "run"
    argv = {
        "chromosome": ["train", "chromosome", "--data", "synthetic:24:1", "--validation", "synthetic:8:2",
                       "--epochs", "1", "--batch-size", "4", "--steps-per-epoch", "1", "--filters", "2",
                       "--workers", "1", "--out", str(out)],
        "syncgan": ["train", "syncgan", "--synthetic", "4", "--image-size", "32", "--filters", "4",
                    "--noise-channels", "1", "--mask-epochs", "1", "--cgan-epochs", "1", "--batch-size", "4",
                    "--out", str(out)],
        "singan": ["train", "singan", "example:histology-nuclei", "--max-size", "32", "--min-size", "25",
                   "--filters", "4", "--iterations", "2", "--out", str(out)],
    }[command]
    assert main(argv) == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith(f"done: {out} holds") and "tensorboard/" in last_line, last_line
    events = _events(out / "tensorboard")
    scalars = [tag for tag, values in events.items() if not tag.endswith("samples") and "samples_" not in tag]
    images = [tag for tag in events if tag.endswith("samples") or "samples_" in tag]
    assert scalars and images, sorted(events)
    # --tensorboard none: no logs.
    assert main([*argv[:-1], str(tmp_path / "quiet"), "--tensorboard", "none"]) == 0
    assert not (tmp_path / "quiet" / "tensorboard").exists()
