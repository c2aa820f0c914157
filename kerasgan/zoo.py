"""The model zoo: pretrained models, one folder per paper, in the shape of torch.hub.

    kerasgan.zoo.list()               # names
    kerasgan.zoo.card("chromosome")   # the model card (Markdown) as a string
    kerasgan.zoo.load("chromosome")   # a ready model, weights verified by sha256
    kerasgan.zoo.verify()             # check every entry (also `kerasgan zoo verify`)

An entry is a folder `zoo/<name>/` (shipped in the wheel as `kerasgan.zoo_files`) with
`card.json` (metadata, loader, sha256 of each weight file), `MODEL_CARD.md` and `recipe.sh`
(the commands that trained it).

Safety (entries under $KERASGAN_ZOO_PATH are data from anywhere, never code):
  * a card's "loader" names a loader of kerasgan's own registry (`LOADERS`, by name such as
    "chromosome" or by its registered "module:function"); any other callable is refused
    with a ZooError naming the card. A lab's own loader is code, so it is registered in
    code: `kerasgan.zoo.register_loader("mylab", mylab.zoo_entry.load)`;
  * every file in "files" is a plain relative name inside the entry folder (no absolute
    path, no "..", no symlink out of the folder) with a sha256;
  * the loader runs on a private copy holding exactly the listed files, each checked after
    copying: a file the card does not list does not exist for it, so the checksums cover
    everything it opens (`verify` runs the loader the same way and fails such an entry).
"""

import hashlib
import importlib
import importlib.resources
import json
import os
import pathlib
import re
import shutil
import tempfile

CARD_FILE = "card.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
REQUIRED_FIELDS = ("name", "title", "paper", "loader", "files")


class ZooError(ValueError):
    """A zoo entry is unknown, incomplete or its files do not match their checksums."""


ZOO_PATH_VARIABLE = "KERASGAN_ZOO_PATH"

# name -> "module:function". The card's "loader" may give the name or the target string.
LOADERS = {
    "chromosome": "kerasgan.chromosome.zoo_entry:load",
    "glomeruli": "kerasgan.glomeruli.zoo_entry:load",
    "syncgan": "kerasgan.syncgan.zoo_entry:load",
    "medisingan": "kerasgan.medisingan.zoo_entry:load",
}
_REGISTERED_CALLABLES = {}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def register_loader(name, loader):
    """Add a loader to the registry: `loader` is a callable `(folder, card, **kwargs)` or a
    "module:function" string. Cards then name it by `name` (or by the string)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"loader name must be letters, digits, '_', '.' or '-', got {name!r}")
    if isinstance(loader, str):
        if ":" not in loader:
            raise ValueError(f"loader must be 'module:function', got {loader!r}")
        LOADERS[name] = loader
        _REGISTERED_CALLABLES.pop(name, None)
    elif callable(loader):
        LOADERS[name] = f"{loader.__module__}:{loader.__qualname__}"
        _REGISTERED_CALLABLES[name] = loader
    else:
        raise TypeError(f"loader must be a callable or a 'module:function' string, got {loader!r}")


def resolve_loader(name, meta=None):
    """The registered loader a card names; ZooError naming the card for anything else."""
    meta = meta if meta is not None else metadata(name)
    wanted = meta.get("loader")
    card_path = _entry_folder(name) / CARD_FILE
    for registered, target in LOADERS.items():
        if wanted in (registered, target):
            break
    else:
        raise ZooError(f"zoo entry {name!r}: '{card_path}' names loader {wanted!r}, which is not in "
                       f"kerasgan's loader registry ({', '.join(sorted(LOADERS))}); a loader is code "
                       "and is added with kerasgan.zoo.register_loader, never by a card")
    if registered in _REGISTERED_CALLABLES:
        return _REGISTERED_CALLABLES[registered]
    module_name, _, function_name = target.partition(":")
    try:
        function = importlib.import_module(module_name)
        for part in function_name.split("."):
            function = getattr(function, part)
    except (ImportError, AttributeError) as error:
        raise ZooError(f"zoo entry {name!r}: registered loader {target!r} cannot be imported: {error}") from error
    return function


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
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(f"zoo entry {name!r}: '{folder / CARD_FILE}' is not valid JSON: {error}") from error
    if not isinstance(meta, dict):
        raise ZooError(f"zoo entry {name!r}: '{folder / CARD_FILE}' is not a JSON object")
    missing = [field for field in REQUIRED_FIELDS if field not in meta]
    if missing:
        raise ZooError(f"zoo entry {name!r}: '{folder / CARD_FILE}' lacks fields {missing}")
    if not isinstance(meta["files"], dict) or not isinstance(meta["loader"], str):
        raise ZooError(f"zoo entry {name!r}: in '{folder / CARD_FILE}', 'files' must map file names to "
                       "sha256 strings and 'loader' must be a string")
    return meta


def _listed_path(entry, folder, file_name):
    """The path of a listed file, refusing names that leave the entry folder."""
    card_path = folder / CARD_FILE
    if not isinstance(file_name, str) or not file_name or "\x00" in file_name:
        raise ZooError(f"zoo entry {entry!r}: '{card_path}' lists a bad file name {file_name!r}")
    relative = pathlib.PurePosixPath(file_name.replace("\\", "/"))
    if relative.is_absolute() or pathlib.PureWindowsPath(file_name).is_absolute() \
            or pathlib.PureWindowsPath(file_name).drive or ".." in relative.parts \
            or file_name in (CARD_FILE,):
        raise ZooError(f"zoo entry {entry!r}: '{card_path}' lists {file_name!r}, which is not a file "
                       "name inside the entry folder (absolute paths and '..' are refused)")
    path = folder / relative
    if path.is_symlink() or any(parent.is_symlink() for parent in path.parents
                                if parent != folder and _inside(parent, folder)):
        target = path.resolve()
        if not _inside(target, folder.resolve()):
            raise ZooError(f"zoo entry {entry!r}: '{path}' is a symlink out of the entry folder "
                           f"(to '{target}'); refused")
    return path


def _inside(path, folder):
    try:
        pathlib.Path(path).relative_to(folder)
        return True
    except ValueError:
        return False


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


def _check_files(entry, meta, folder, copy_to=None):
    """Check every listed file (path rules, presence, sha256); with `copy_to`, copy each file
    there first and check the copy (what the loader will read)."""
    if not meta["files"]:
        raise ZooError(f"zoo entry {entry!r} lists no weight files in '{folder / CARD_FILE}'")
    for file_name, expected in meta["files"].items():
        path = _listed_path(entry, folder, file_name)
        if not isinstance(expected, str) or not _SHA256.fullmatch(expected):
            raise ZooError(f"zoo entry {entry!r}: '{folder / CARD_FILE}' gives {file_name!r} the "
                           f"sha256 {expected!r}, which is not 64 hex digits")
        if not path.is_file():
            raise ZooError(
                f"zoo entry {entry!r}: weight file missing, expected at '{path}' "
                "(reinstall kerasgan or re-run the entry's recipe.sh)"
            )
        checked = path
        if copy_to is not None:
            checked = pathlib.Path(copy_to) / pathlib.PurePosixPath(file_name.replace("\\", "/"))
            checked.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, checked)
        actual = sha256(checked)
        if actual != expected:
            raise ZooError(
                f"zoo entry {entry!r}: '{path}' fails its sha256 check (expected {expected}, "
                f"got {actual}); the file is corrupt or was modified"
            )


def _run_loader(entry, meta, loader, kwargs):
    """Call the loader on a private copy of exactly the listed, verified files."""
    folder = _entry_folder(entry)
    with tempfile.TemporaryDirectory(prefix=f"kerasgan-zoo-{entry}-") as sandbox:
        _check_files(entry, meta, folder, copy_to=sandbox)
        try:
            return loader(pathlib.Path(sandbox), meta, **kwargs)
        except (OSError, ValueError) as error:
            found = re.search(re.escape(sandbox) + r"[/\\]([^'\"\s:]+)", str(error))
            if found is None and getattr(error, "filename", None) and str(error.filename).startswith(sandbox):
                found = re.search(re.escape(sandbox) + r"[/\\](.+)", str(error.filename))
            if found is not None and found.group(1) not in meta["files"]:
                raise ZooError(
                    f"zoo entry {entry!r}: its loader opens '{folder / found.group(1)}', which "
                    f"'{folder / CARD_FILE}' does not list, so its sha256 is not checked; refused "
                    "(list the file in 'files', e.g. with kerasgan.zoo.seal)"
                ) from None
            raise


def verify(name=None, try_loader=True):
    """Check every entry: listed files exist inside the entry folder and match their sha256,
    the loader is a registered one, and (with `try_loader`) the loader builds the model from
    the listed files alone (an entry whose loader opens an unlisted file fails).

    Returns {name: "ok"} for each checked entry; raises ZooError naming the first bad file
    (missing: the expected path; tampered: expected and actual checksums).
    """
    entries = [name] if name is not None else names()
    report = {}
    for entry in entries:
        meta = metadata(entry)
        folder = _entry_folder(entry)
        loader = resolve_loader(entry, meta)
        _check_files(entry, meta, folder)
        if try_loader:
            _run_loader(entry, meta, loader, {})
        report[entry] = "ok"
    return report


def load(name, verify_checksums=True, **kwargs):
    """Load a zoo model: the registered loader builds it from a verified copy of the listed files.

    Extra keyword arguments go to the loader (see the entry's MODEL_CARD.md).
    `verify_checksums=False` is no longer honoured for safety: the files are always checked
    (the copy is what makes unlisted files unreachable); it is kept for compatibility.
    """
    meta = metadata(name)
    loader = resolve_loader(name, meta)
    return _run_loader(name, meta, loader, kwargs)


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
