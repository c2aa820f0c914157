import json

import numpy as np
import pytest

from kerasgan import zoo
from kerasgan.networks import unet_generator
from kerasgan.serialization import load_weights_npz, save_weights_npz


def load_tiny(folder, card, **kwargs):
    model = unet_generator(tuple(card["input_shape"]), 1, filters=card["filters"])
    return load_weights_npz(model, folder / "generator.weights.npz")


@pytest.fixture
def lab_zoo(tmp_path, monkeypatch):
    entry = tmp_path / "tiny"
    entry.mkdir()
    model = unet_generator((32, 32, 1), 1, filters=4)
    save_weights_npz(model, entry / "generator.weights.npz")
    (entry / "card.json").write_text(json.dumps({
        "name": "tiny", "title": "test entry", "paper": "none",
        "loader": "tiny-test", "files": {"generator.weights.npz": ""},
        "input_shape": [32, 32, 1], "filters": 4,
    }))
    (entry / "MODEL_CARD.md").write_text("# tiny\n")
    zoo.seal(entry)
    # A lab's loader is code: registered in code (a card cannot name an arbitrary callable).
    monkeypatch.setattr(zoo, "LOADERS", dict(zoo.LOADERS))
    monkeypatch.setattr(zoo, "_REGISTERED_CALLABLES", dict(zoo._REGISTERED_CALLABLES))
    zoo.register_loader("tiny-test", load_tiny)
    monkeypatch.setenv(zoo.ZOO_PATH_VARIABLE, str(tmp_path))
    return entry, model


def test_load_verifies_and_returns_same_outputs(lab_zoo):
    entry, model = lab_zoo
    assert "tiny" in zoo.list()
    loaded = zoo.load("tiny")
    x = np.random.RandomState(0).uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    # float16 storage: outputs agree to float16 precision.
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=2e-3)
    assert zoo.card("tiny").startswith("# tiny")
    assert zoo.verify("tiny") == {"tiny": "ok"}


def test_tampered_weights_fail_sha256(lab_zoo):
    entry, _ = lab_zoo
    data = bytearray((entry / "generator.weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (entry / "generator.weights.npz").write_bytes(bytes(data))
    with pytest.raises(zoo.ZooError, match="sha256"):
        zoo.load("tiny")


def test_missing_weights_name_expected_path(lab_zoo):
    entry, _ = lab_zoo
    (entry / "generator.weights.npz").unlink()
    with pytest.raises(zoo.ZooError, match=r"expected at .*generator.weights.npz"):
        zoo.verify("tiny")


def test_unknown_name_lists_known(lab_zoo):
    with pytest.raises(zoo.ZooError, match=r"unknown zoo model 'nope'.*tiny"):
        zoo.load("nope")
    for bad in ("../etc", ".hidden", ""):
        with pytest.raises((zoo.ZooError, TypeError)):
            zoo.load(bad)
    with pytest.raises(TypeError):
        zoo.load(None)


def test_npz_weights_are_half_size_and_mismatch_is_named(tmp_path):
    model = unet_generator((32, 32, 1), 1, filters=8)
    path = save_weights_npz(model, tmp_path / "w.npz")
    float32_bytes = sum(w.numpy().nbytes for w in model.weights)
    assert path.stat().st_size < 0.6 * float32_bytes
    other = unet_generator((32, 32, 1), 1, filters=4)
    with pytest.raises(ValueError, match="shape"):
        load_weights_npz(other, path)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.npz"):
        load_weights_npz(model, tmp_path / "bad.npz")


def test_shipped_entries_verify():
    # Every entry shipped with the package must pass its own checksums.
    for name in zoo.list():
        assert zoo.verify(name) == {name: "ok"}


def test_cli_zoo_verify_reports_tampered_entry(lab_zoo, capsys):
    from kerasgan.cli import main

    entry, _ = lab_zoo
    assert main(["zoo", "verify", "tiny"]) == 0
    assert "tiny" in capsys.readouterr().out
    with open(entry / "generator.weights.npz", "ab") as handle:
        handle.write(b"tampered")
    assert main(["zoo", "verify", "tiny"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "sha256" in out
