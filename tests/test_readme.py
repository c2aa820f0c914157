"""Every ```bash and ```python block of README.md and of each zoo/<name>/MODEL_CARD.md runs.

Each block runs in its own fresh temporary folder (the cwd), bash blocks with
`bash -euo pipefail`, python blocks with `sys.executable`, at a small setting: the explicit
substitution table SMALL below is applied to the block text, and `test_every_substitution_matches`
fails when a README edit removes one (so the test never silently runs the long version).
Only the block marked `<!-- test-command -->` (the whole test suite) is skipped.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md"] + sorted(ROOT.glob("zoo/*/MODEL_CARD.md"))
SKIP_MARKER = "<!-- test-command -->"
BLOCK_TIMEOUT = 600  # seconds per block (a block took up to ~240 s at load 10 on 2 cores)

# (document, text as in the block, small-setting replacement). Applied to every block of that
# document; each row must match at least once.
SMALL = [
    ("README.md", "pip install -e . && ", ""),              # installed already
    ("README.md", "mask_epochs=1600, cgan_epochs=200", "mask_epochs=1, cgan_epochs=1"),
    ("README.md", "--count 16 --abnormal", "--count 2 --abnormal"),
    ("README.md", "image_size=256", "image_size=64"),
    ("README.md", "(256, 256, 1)", "(64, 64, 1)"),
    ("README.md", "(256, 256, 4)", "(64, 64, 4)"),
    ("README.md", "(16, 256, 256, 1)", "(16, 64, 64, 1)"),
    ("README.md", "epochs=200)", "epochs=1)"),
    ("README.md", "--epochs 200 --out runs/p2p\n", "--epochs 1 --image-size 64 --out runs/p2p\n"),
    ("README.md", "pip install tensorboard && tensorboard --logdir runs/p2p/tensorboard",
     "test -n \"$(ls runs/p2p/tensorboard)\""),             # the log folder exists and is not empty
    ("README.md", "--count 64 --abnormal", "--count 2 --abnormal"),
    ("README.md", "--out runs/mine", "--epochs 1 --epochs-decay 0 --out runs/mine"),
    ("README.md", "--count 8 --out out/k", "--count 1 --out out/k"),
    ("README.md", "--out runs/k", "--epochs 1 --epochs-decay 0 --out runs/k"),
    ("README.md", "count=90", "count=2"),
    ("README.md", "steps_per_epoch=len(patches) // 2, epochs=50)", "steps_per_epoch=1, epochs=1)"),
    ("README.md", "max_size=250, min_size=25", "max_size=32, min_size=16"),
    ("README.md", "iterations_per_scale=2000", "iterations_per_scale=2"),
    ("README.md", "--iterations 2000 --max-size 250", "--iterations 2 --max-size 44"),
    ("README.md", "--count 16 --start-scale 1 --out samples/", "--count 2 --start-scale 1 --out samples/"),
    ("README.md", "count=16, start_scale=1", "count=2, start_scale=1"),
    ("README.md", '"worker": ["host0:12345", "host1:12345"]', '"worker": ["localhost:PORT"]'),
    ("README.md", "--batch-size 8 --epochs 200", "--batch-size 8 --epochs 1 --image-size 64"),
    ("zoo/syncgan/MODEL_CARD.md", "count=90", "count=2"),
    ("zoo/syncgan/MODEL_CARD.md", "mask_epochs=50, cgan_epochs=20", "mask_epochs=1, cgan_epochs=1"),
    ("zoo/medisingan/MODEL_CARD.md", "count=4", "count=2"),
]


def extract_blocks(path):
    """(line number, language, code, skipped) of each ```bash / ```python block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = re.fullmatch(r"```(bash|python)\s*", lines[index])
        if match:
            start = index
            end = lines.index("```", start + 1)
            skipped = start > 0 and lines[start - 1].strip() == SKIP_MARKER
            blocks.append((start + 1, match.group(1), "\n".join(lines[start + 1:end]) + "\n", skipped))
            index = end
        index += 1
    return blocks


def _all_blocks():
    for path in DOCUMENTS:
        name = path.relative_to(ROOT).as_posix()
        for line, language, code, skipped in extract_blocks(path):
            yield name, line, language, code, skipped


BLOCKS = list(_all_blocks())


def small_setting(document, code):
    for where, long, short in SMALL:
        if where == document:
            code = code.replace(long, short)
    return code


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def test_every_substitution_matches():
    # Rows apply in order, so each must still match after the rows above it (an earlier,
    # shorter row can eat a later one's text, e.g. "epochs=200)" inside "cgan_epochs=200)").
    texts = {}
    for document, _, _, code, _ in BLOCKS:
        texts[document] = texts.get(document, "") + code
    missing = []
    for where, long, short in SMALL:
        if long not in texts.get(where, ""):
            missing.append((where, long))
        texts[where] = texts.get(where, "").replace(long, short)
    assert missing == [], f"small-setting rows that match no block (README edited?): {missing}"


def test_only_the_test_command_is_skipped():
    skipped = [(document, line, code) for document, line, _, code, skip in BLOCKS if skip]
    assert len(skipped) == 1, skipped
    document, _, code = skipped[0]
    assert document == "README.md" and "python -m pytest" in code


def test_blocks_found():
    # 17 runnable README blocks and one per model card when this was written: a parser that
    # stops finding blocks must not pass by running nothing.
    assert sum(document == "README.md" for document, *_ in BLOCKS) >= 15
    cards = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS[1:]}
    assert len(cards) >= 4 and cards == {document for document, *_ in BLOCKS if document != "README.md"}


@pytest.mark.parametrize(
    "document, line, language, code",
    [pytest.param(d, n, lang, c, id=f"{d}:{n}") for d, n, lang, c, skip in BLOCKS if not skip],
)
def test_block_runs(document, line, language, code, tmp_path):
    code = small_setting(document, code).replace("PORT", str(_free_port()))
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    environment.pop("TF_CONFIG", None)
    if language == "bash":
        command = ["bash", "-euo", "pipefail", "-c", code]
    else:
        command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=BLOCK_TIMEOUT)
    assert result.returncode == 0, (
        f"{document}:{line} ({language}) failed with exit {result.returncode}\n--- block as run:\n{code}"
        f"--- stdout (end):\n{result.stdout[-3000:]}\n--- stderr (end):\n{result.stderr[-3000:]}")
