"""Two real worker processes on 127.0.0.1 train the same steps as one process (issue: scale out)."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasgan.data import write_image


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def command(data, out):
    # Instance norm (batch statistics per replica would legitimately differ), SGD (the update is
    # proportional to the gradient, so a mis-scaled loss shows), no shuffle and no jitter (the
    # union of the workers' file shards per step is then the single process's batch).
    return [sys.executable, "-m", "kerasgan.cli", "train", "pix2pix", "--data", str(data), "--out", str(out),
            "--epochs", "2", "--image-size", "32", "--filters", "4", "--batch-size", "4", "--norm", "instance",
            "--optimizer", "sgd", "--learning-rate", "0.05", "--no-shuffle", "--no-jitter", "--seed", "1",
            "--samples", "2"]


@pytest.mark.slow
def test_two_workers_match_one_process(tmp_path):
    rng = np.random.RandomState(0)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(8):
        a = (rng.rand(32, 32, 1) * 255).astype(np.uint8)
        write_image(data / f"{i:02d}.png", np.concatenate([a, 255 - a], axis=1))
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    single = subprocess.run(command(data, tmp_path / "single"), env=env, capture_output=True, text=True,
                            timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        worker_env = {**env, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(command(data, tmp_path / "multi"), env=worker_env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for worker in workers:
            output, _ = worker.communicate(timeout=300)  # a hung worker fails the test
            outputs.append(output)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, "\n=====\n".join(o[-2500:] for o in outputs)
    assert "2 worker(s), 2 replica(s)" in outputs[0]

    def weights(run):
        return keras.models.load_model(run / "generator.keras", compile=False).get_weights()

    reference, chief = weights(tmp_path / "single"), weights(tmp_path / "multi")
    initial = keras.models.load_model(tmp_path / "single" / "generator.keras", compile=False)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(reference, chief))
    print(f"2-worker vs 1-process max weight difference: {difference:.3g}")
    assert difference < 1e-5
    # The steps did change the weights: the first-epoch checkpoint differs from the final one.
    first = keras.models.clone_model(initial)
    first.load_weights(tmp_path / "single" / "checkpoints" / "generator_epoch_0001.weights.h5")
    assert max(float(np.abs(a - b).max()) for a, b in zip(first.get_weights(), reference)) > 1e-3
    assert (tmp_path / "multi" / "workers" / "worker_1").is_dir()
