import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasgan.cli import build_parser, main
from kerasgan.data import write_image
from kerasgan.models import Pix2Pix
from kerasgan.networks import patch_discriminator, unet_generator
from kerasgan.training import NonFiniteLossError, read_backup_state, train_gan


def make_aligned(folder, count=24, size=32):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for i in range(count):
        a = (rng.rand(size, size, 1) * 255).astype(np.uint8)
        write_image(folder / f"{i:03d}.png", np.concatenate([a, 255 - a], axis=1))
    return folder


def tiny_model():
    model = Pix2Pix(unet_generator((32, 32, 1), 1, filters=4), patch_discriminator((32, 32, 2), filters=4))
    model.compile()
    return model


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "zoo" in out
    assert build_parser().parse_args(["train", "pix2pix", "--data", "d", "--out", "o"]).epochs == 200


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "pix2pix", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"),
                 "--epochs", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
    assert main(["train", "pix2pix", "--data", str(tmp_path), "--out", str(tmp_path), "--epochs", "0"]) == 2


def test_nonfinite_loss_stops_naming_step_and_keeps_checkpoint(tmp_path):
    x = np.random.RandomState(0).uniform(-1, 1, (8, 32, 32, 1)).astype("float32")
    model = tiny_model()
    clean = tf.data.Dataset.from_tensor_slices((x, x)).batch(4)
    train_gan(model, clean, tmp_path, epochs=1, verbose=0)
    state = read_backup_state(tmp_path / "backup")
    weights_file = tmp_path / "backup" / state["weights"]
    saved_bytes = weights_file.read_bytes()
    poisoned = x.copy()
    poisoned[4:] = np.nan
    bad = tf.data.Dataset.from_tensor_slices((poisoned, poisoned)).batch(4)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 2.*epoch_0001.weights.h5.*untouched"):
        train_gan(model, bad, tmp_path, epochs=3, verbose=0)
    assert read_backup_state(tmp_path / "backup")["epoch"] == 1
    assert weights_file.read_bytes() == saved_bytes


def _train_command(data, out, epochs):
    return [sys.executable, "-m", "kerasgan.cli", "train", "pix2pix", "--data", str(data), "--out", str(out),
            "--epochs", str(epochs), "--image-size", "32", "--filters", "4", "--batch-size", "2",
            "--seed", "3", "--deterministic", "--samples", "2"]


def _final_weights(run):
    generator = keras.models.load_model(run / "generator.keras", compile=False)
    return generator.get_weights()


@pytest.mark.slow
def test_sigkill_mid_epoch_resumes_and_matches_uninterrupted_run(tmp_path):
    data = make_aligned(tmp_path / "data", count=48)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    reference = tmp_path / "reference"
    subprocess.run(_train_command(data, reference, 4), check=True, timeout=600, env=env,
                   capture_output=True)

    run = tmp_path / "run"
    kills = 0
    for kill_after_epoch in (1, 2):
        process = subprocess.Popen(_train_command(data, run, 4), env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        try:
            while time.time() < deadline:
                state_file = run / "backup" / "state.json"
                if state_file.exists() and json.loads(state_file.read_text())["epoch"] >= kill_after_epoch:
                    break
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                time.sleep(0.05)
            time.sleep(0.4)  # well inside the next epoch (24 steps)
            assert process.poll() is None, "training finished before it could be killed"
            # Finished files only: a `.partial-*` / `*.tmp` file is a write in flight (renamed into
            # place when complete), which the kill may cut short and the restart removes.
            snapshot = {p: p.read_bytes() for p in run.rglob("*")
                        if p.is_file() and "backup" not in p.parts
                        and not p.name.startswith(".partial-") and not p.name.endswith(".tmp")}
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills += 1
        finally:
            if process.poll() is None:
                process.kill()
        state = read_backup_state(run / "backup")
        assert state["epoch"] >= kill_after_epoch
        # Nothing written before the kill was lost or truncated.
        for path, content in snapshot.items():
            assert path.read_bytes() == content, f"{path} changed or was truncated by the kill"

    resumed = subprocess.run(_train_command(data, run, 4), timeout=600, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming after epoch {state['epoch']}" in resumed.stdout
    assert kills == 2
    for a, b in zip(_final_weights(reference), _final_weights(run)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    with open(run / "log.csv") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "samples").iterdir()) == [f"epoch_{i:04d}.png" for i in range(1, 5)]
    assert len(list((run / "checkpoints").iterdir())) == 4
    assert not list(run.rglob(".partial-*"))


def test_stale_partial_writes_are_removed_on_start(tmp_path):
    from kerasgan.serialization import remove_partial_writes

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ".partial-generator_epoch_0003.abc.weights.h5").write_bytes(b"half")
    (tmp_path / ".log.csv.xyz.tmp").write_bytes(b"half")
    (tmp_path / "checkpoints" / "generator_epoch_0002.weights.h5").write_bytes(b"whole")
    assert remove_partial_writes(tmp_path) == 2
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["generator_epoch_0002.weights.h5"]
