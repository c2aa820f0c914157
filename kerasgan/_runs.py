"""The run-settings record shared by every `train` command (TensorFlow-free, so the CLI can
refuse a resume with other data or settings before importing it). Re-exported by
`kerasgan.training`."""

import json
import os
import pathlib


BACKUP_STATE = "state.json"  # kerasgan.training.ResumableBackup's commit file
RUN_SETTINGS = "run_settings.json"


def files_fingerprint(paths):
    """sha256 over the names and sizes of `paths` (sorted): changes when a data folder gets
    other files, without reading their pixels. For `check_run_settings`."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        digest.update(f"{os.path.basename(path)}\0{os.path.getsize(path)}\n".encode())
    return digest.hexdigest()[:16]


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_run_settings(out_dir, settings, *, file_name=RUN_SETTINGS, command="train"):
    """Refuse to resume a run folder made with other data or settings; record them in a new one.

    The mechanism SinGAN uses (a fingerprint in its `singan.json`), for every `train`
    command: the first run writes `settings` ({flag: JSON value}, e.g. {"--data": "/abs/x",
    "data files": files_fingerprint(...), "--gan-loss": "bce"}) to `out_dir/run_settings.json`;
    a later run into the same folder must pass equal settings, or a ValueError names each flag
    that differs with both values, in one line. Settings that may change between runs (the
    number of epochs, logging) are left out by the caller; a key absent on one side equals
    null (a flag added later with a None default does not block a resume); values compare by
    their JSON text (True is not 1). A folder holding a checkpoint but no
    settings record (an older run) is refused too: what it was made with is unknown.
    Call it after the arguments are checked and before training writes anything.
    """
    from kerasgan._paths import UsageError

    out_dir = pathlib.Path(out_dir)
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as they come back from disk
    path = out_dir / file_name
    if path.is_file():
        try:
            recorded = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"run settings '{path}' are corrupt ({error}); delete the run folder "
                             "or use another --out") from None
        if not isinstance(recorded, dict):
            raise ValueError(f"run settings '{path}' are corrupt (not a JSON object)")
        differ = [key for key in [*recorded, *(k for k in settings if k not in recorded)]
                  if json.dumps(recorded.get(key)) != json.dumps(settings.get(key))]
        if differ:
            parts = [f"{key} {_short(recorded.get(key))} (now {_short(settings.get(key))})" for key in differ]
            raise UsageError(f"run folder '{out_dir}' was made with other settings: {'; '.join(parts)}; "
                             f"use another --out, or the same settings to resume")
        return recorded
    if (out_dir / "backup" / BACKUP_STATE).is_file():
        raise UsageError(f"run folder '{out_dir}' holds a checkpoint but no {file_name} (made before "
                         "settings were recorded); its data and settings are unknown, so it is not "
                         "resumed: use another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from kerasgan.data.image_io import atomic_write_bytes  # cv2: only when a run starts

    atomic_write_bytes(path, (json.dumps(settings, indent=1, sort_keys=True) + "\n").encode())
    return settings


def add_tensorboard_argument(parser):
    """`--tensorboard DIR` of every `train` command (default OUT/tensorboard; 'none': off)."""
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="TensorBoard logs of the training scalars and sample grids (default "
                             "OUT/tensorboard; 'none' turns them off): tensorboard --logdir DIR")


def tensorboard_dir(args, out):
    """The folder `--tensorboard` names for a run in `out`, or None when turned off."""
    if args.tensorboard is None:
        return pathlib.Path(out) / "tensorboard"
    return None if args.tensorboard.lower() == "none" else pathlib.Path(args.tensorboard)
