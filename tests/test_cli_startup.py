"""A usage mistake fails at once: the CLI checks arguments and paths before the heavy imports
(TensorFlow, OpenCV), so a wrong path or count costs the start of Python, not 12-21 s."""

import subprocess
import sys

import pytest

REFUSED = [
    ["generate", "syncgan", "--zoo", "--count", "0", "--out", "OUT"],
    ["generate", "chromosome", "MISSING", "--count", "4", "--out", "OUT"],
    ["generate", "glomeruli", "MISSING", "--out", "OUT"],
    ["generate", "medisingan", "MISSING", "--out", "OUT"],
    ["train", "chromosome", "--data", "MISSING", "--out", "OUT"],
    ["train", "syncgan", "--data", "MISSING", "--out", "OUT"],
    ["train", "pix2pix", "--data", "MISSING", "--out", "OUT"],
    ["train", "singan", "MISSING.png", "--out", "OUT"],
]


@pytest.mark.parametrize("argv", REFUSED, ids=lambda argv: " ".join(argv[:2]) + " " + argv[2])
def test_refusal_needs_neither_tensorflow_nor_opencv(argv, tmp_path):
    # train pix2pix reads image headers (OpenCV) to check the pairs; nothing needs TensorFlow.
    heavy = ("tensorflow", "keras") if argv[1] == "pix2pix" else ("tensorflow", "keras", "cv2")
    argv = [str(tmp_path / a) if a in ("MISSING", "MISSING.png", "OUT") else a for a in argv]
    code = ("import sys\nfrom kerasgan.cli import main\n"
            f"rc = main({argv!r})\n"
            f"print(rc, sorted(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] in ("2 []", "1 []"), (result.stdout, result.stderr[-2000:])
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("kerasgan"), result.stderr[-2000:]
    assert not (tmp_path / "OUT").exists()
