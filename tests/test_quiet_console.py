"""The `kerasgan` command's console: no TensorFlow C++ chatter, each warning once, a last line."""

import os
import subprocess
import sys
import warnings

import pytest

from kerasgan import _runtime

TRAIN = ["train", "glomeruli", "--epochs", "1", "--steps-per-epoch", "1", "--image-size", "32",
         "--filters", "4", "--train-patches", "4", "--test-patches", "2", "--batch-size", "2"]


def _run_cli(arguments, **environment):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "kerasgan.cli", *arguments], capture_output=True,
                          text=True, timeout=300, env=env)


CHATTER = ("cuInit", "E0000", "I0000", "absl::InitializeLog")


def test_generate_prints_no_tensorflow_start_up_lines(tmp_path):
    result = _run_cli(["generate", "glomeruli", "--count", "1", "--out", str(tmp_path / "g")])
    assert result.returncode == 0, result.stderr
    for marker in CHATTER:
        assert marker not in result.stderr, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("wrote 1 images")


@pytest.mark.slow
def test_train_prints_no_cuda_lines_plain_epochs_and_ends_naming_what_it_wrote(tmp_path):
    result = _run_cli([*TRAIN, "--epochs", "2", "--out", str(tmp_path / "run")])
    assert result.returncode == 0, result.stderr
    for marker in CHATTER:
        assert marker not in result.stderr, result.stderr
    assert "shuffle=True" not in result.stderr
    # stdout is a pipe: one plain line per epoch, no ANSI codes, backspaces or redraws.
    assert "\x1b[" not in result.stdout and "\b" not in result.stdout and "\r" not in result.stdout
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("1/1 - ")]
    assert len(epoch_lines) == 2 and all("g_loss" in line for line in epoch_lines)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"done: {tmp_path / 'run'} holds ") and "generator.keras" in last and "log.csv" in last


@pytest.mark.slow
def test_the_users_log_level_is_kept(tmp_path):
    # With the user's own TF_CPP_MIN_LOG_LEVEL=0 TensorFlow's start-up lines are theirs to see.
    result = _run_cli(["generate", "glomeruli", "--count", "1", "--out", str(tmp_path / "g")],
                      TF_CPP_MIN_LOG_LEVEL="0")
    assert result.returncode == 0, result.stderr
    assert "I0000" in result.stderr


def test_filtered_stderr_drops_only_startup_chatter(capfd):
    with _runtime._filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1.0  1 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"E0001 something the user must see\n")
        os.write(2, b"a Python traceback line\n")
    captured = capfd.readouterr().err
    assert captured == "E0001 something the user must see\na Python traceback line\n"


def test_each_warning_once_and_the_keras_shuffle_warning_never(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # the user's choice: left alone
    monkeypatch.setattr(_runtime, "_USER_LOG_LEVEL", "1")
    with warnings.catch_warnings(record=True) as caught:
        assert _runtime.quiet_console() is False
        for _ in range(3):
            warnings.warn("retracing is expensive", UserWarning)
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was provided "
                      "as a tf.data.Dataset.", UserWarning)
    assert [str(w.message) for w in caught] == ["retracing is expensive"]
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_unset_log_level_becomes_3(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setattr(_runtime, "_USER_LOG_LEVEL", None)
    before = list(sys.meta_path)
    with warnings.catch_warnings():
        assert _runtime.quiet_console() is True
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    sys.meta_path[:] = before  # tensorflow is already imported here; leave no hook behind

