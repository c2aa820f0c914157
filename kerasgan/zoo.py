"""The model zoo: pretrained models, one folder per paper, in the shape of torch.hub.

    kerasgan.zoo.list()               # names
    kerasgan.zoo.card("chromosome")   # the model card (Markdown) as a string
    kerasgan.zoo.load("chromosome")   # a ready model, weights verified by sha256
    kerasgan.zoo.verify()             # check every entry (also `kerasgan zoo verify`)

An entry is a folder `zoo/<name>/` (shipped in the wheel as `kerasgan.zoo_files`) with
`card.json` (metadata, loader, sha256 of each weight file), `MODEL_CARD.md` and `recipe.sh`
(the commands that trained it). A new paper adds a folder; this file does not change.
"""

import hashlib
import importlib
import importlib.resources
import json
import os
import pathlib

CARD_FILE = "card.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
REQUIRED_FIELDS = ("name", "title", "paper", "loader", "files")


class ZooError(ValueError):
    """A zoo entry is unknown, incomplete or its files do not match their checksums."""


ZOO_PATH_VARIABLE = "KERASGAN_ZOO_PATH"


def zoo_root():
    """The folder holding the shipped zoo entries (inside the installed package or the checkout)."""
    return pathlib.Path(str(importlib.resources.files("kerasgan.zoo_files")))


def zoo_roots():
    """Folders searched for entries: those in $KERASGAN_ZOO_PATH (a lab's own models) first."""
    extra = [pathlib.Path(p) for p in os.environ.get(ZOO_PATH_VARIABLE, "").split(os.pathsep) if p]
    return [*extra, zoo_root()]


def _entry_folder(name):
    if not isinstance(name, str) or not name:
        raise TypeError(f"zoo name must be a non-empty string, got {name!r}")
    if "/" not in name and "\\" not in name and not name.startswith("."):
        for root in zoo_roots():
            if (root / name / CARD_FILE).is_file():
                return root / name
    known = names()
    raise ZooError(f"unknown zoo model {name!r}; known models: {', '.join(known) or '(none)'}")


def names():
    """Names of the zoo entries, sorted."""
    found = set()
    for root in zoo_roots():
        if root.is_dir():
            found.update(p.name for p in root.iterdir() if (p / CARD_FILE).is_file())
    return sorted(found)


list = names  # noqa: A001 - torch.hub's spelling: kerasgan.zoo.list()


def metadata(name):
    """The parsed card.json of an entry."""
    folder = _entry_folder(name)
    try:
        meta = json.loads((folder / CARD_FILE).read_text())
    except json.JSONDecodeError as error:
        raise ZooError(f"zoo entry {name!r}: '{folder / CARD_FILE}' is not valid JSON: {error}") from error
    missing = [field for field in REQUIRED_FIELDS if field not in meta]
    if missing:
        raise ZooError(f"zoo entry {name!r}: '{folder / CARD_FILE}' lacks fields {missing}")
    return meta


def card(name):
    """The model card (Markdown text) of an entry."""
    path = _entry_folder(name) / MODEL_CARD_FILE
    if not path.is_file():
        raise ZooError(f"zoo entry {name!r} has no model card at '{path}'")
    return path.read_text()


def sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(name=None):
    """Check that every file listed in the card exists and matches its sha256.

    Returns {name: "ok"} for each checked entry; raises ZooError naming the first bad file
    (missing: the expected path; tampered: expected and actual checksums).
    """
    entries = [name] if name is not None else names()
    report = {}
    for entry in entries:
        meta = metadata(entry)
        folder = _entry_folder(entry)
        if not meta["files"]:
            raise ZooError(f"zoo entry {entry!r} lists no weight files in '{folder / CARD_FILE}'")
        for file_name, expected in meta["files"].items():
            path = folder / file_name
            if not path.is_file():
                raise ZooError(
                    f"zoo entry {entry!r}: weight file missing, expected at '{path}' "
                    "(reinstall kerasgan or re-run the entry's recipe.sh)"
                )
            actual = sha256(path)
            if actual != expected:
                raise ZooError(
                    f"zoo entry {entry!r}: '{path}' fails its sha256 check (expected {expected}, "
                    f"got {actual}); the file is corrupt or was modified"
                )
        report[entry] = "ok"
    return report


def load(name, verify_checksums=True, **kwargs):
    """Load a zoo model: verify its files, then call the entry's loader.

    Extra keyword arguments go to the loader (see the entry's MODEL_CARD.md).
    """
    meta = metadata(name)
    if verify_checksums:
        verify(name)
    module_name, _, function_name = meta["loader"].partition(":")
    try:
        loader = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ZooError(f"zoo entry {name!r}: loader {meta['loader']!r} cannot be imported: {error}") from error
    return loader(_entry_folder(name), meta, **kwargs)


def seal(folder, files=None):
    """Write the sha256 of the entry's weight files into its card.json (after training).

    `files`: names to list; default the ones already listed, else every *.npz/*.h5 file.
    """
    folder = pathlib.Path(folder)
    card_path = folder / CARD_FILE
    meta = json.loads(card_path.read_text()) if card_path.exists() else {}
    if files is None:
        files = [*(meta.get("files") or [])] or sorted(
            p.name for p in folder.iterdir() if p.suffix in (".npz", ".h5")
        )
    meta["files"] = {file_name: sha256(folder / file_name) for file_name in files}
    card_path.write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return meta
