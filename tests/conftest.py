import os
import pathlib
import subprocess
import sys

import pytest

import kerasgan  # noqa: F401  (first: sets TF_ENABLE_ONEDNN_OPTS before TensorFlow loads)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import settings  # noqa: E402

# CI draws the same hostile examples every run (a landing must not depend on luck); local runs
# keep exploring new ones. Any failure found locally becomes an @example in the test.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def run_python():
    """Run a Python snippet in a fresh interpreter (for things TensorFlow fixes at start-up)."""

    def run(code, timeout=300, env=None):
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=full_env
        )
        assert result.returncode == 0, f"subprocess failed:\n{result.stdout}\n{result.stderr[-4000:]}"
        return result.stdout

    return run
