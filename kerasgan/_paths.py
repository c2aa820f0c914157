"""Output-folder safety shared by every command that writes files: nothing is ever lost.

Two rules, checked before any work starts (and before TensorFlow is imported):

  * an output folder that *is*, *contains* or *lies inside* an input folder is refused
    (`check_output_folder`): `generate ... --data in --out in` would write over the inputs;
  * no existing file is replaced unless the caller passes `overwrite=True` (the CLI's
    `--overwrite`), and two inputs that would be written to the same output file
    (`x.png` and `x.jpg` -> `x.png`) are refused naming both (`check_new_files`).

Commands of other papers call the same two functions (see `kerasgan.commands.pix2pix`):

    out = check_output_folder(args.out, {"--data": args.data})
    check_new_files(out, planned_names, overwrite=args.overwrite)

Errors are `UsageError` (a ValueError; the CLI exits 2 with one line naming the flag).
"""

import os
import pathlib


class UsageError(ValueError):
    """A command's arguments are wrong (the CLI prints one line and exits with status 2)."""


def _resolved(path):
    # resolve() follows symlinks, so a link into the input folder counts as the folder itself.
    return pathlib.Path(os.path.abspath(os.fspath(path))).resolve()


def _is_within(inner, outer):
    try:
        inner.relative_to(outer)
        return True
    except ValueError:
        return False


def check_output_folder(out, inputs=None, *, flag="--out", create=False):
    """Check an output folder against the inputs of a command; returns it as a Path.

    Args:
        out: the output folder (need not exist yet).
        inputs: {flag: path or None} of the command's input folders or files; a file input
            counts as its own path (out may not be that file), a folder input as its whole tree.
        flag: how the output is named in errors (`--out`, `checkpoint_dir`, ...).
        create: make the folder now (so a read-only parent fails at once, not mid-run).
    Raises:
        UsageError: `out` is a file, is / contains / lies inside an input folder, or cannot be
            created or written.
    """
    if out is None or (isinstance(out, str) and not out.strip()):
        raise UsageError(f"{flag} must name a folder, got {out!r}")
    if not isinstance(out, (str, os.PathLike)):
        raise UsageError(f"{flag} must be a path, got {type(out).__name__} {out!r}")
    out_path = pathlib.Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise UsageError(f"{flag} '{out_path}' is a file, not a folder")
    resolved_out = _resolved(out_path)
    for input_flag, source in (inputs or {}).items():
        if source is None:
            continue
        sources = source if isinstance(source, (list, tuple)) else [source]
        for item in sources:
            if item is None:
                continue
            resolved_in = _resolved(item)
            if resolved_out == resolved_in:
                raise UsageError(f"{flag} '{out_path}' is the input {input_flag} '{item}'; "
                                 "choose another output folder (the inputs would be overwritten)")
            if pathlib.Path(item).is_dir() or not pathlib.Path(item).exists():
                if _is_within(resolved_out, resolved_in):
                    raise UsageError(f"{flag} '{out_path}' lies inside the input {input_flag} "
                                     f"'{item}'; choose an output folder outside it")
            if _is_within(resolved_in, resolved_out):
                raise UsageError(f"{flag} '{out_path}' contains the input {input_flag} '{item}'; "
                                 "choose an output folder that does not hold the inputs")
    if create:
        try:
            out_path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"{flag} '{out_path}' cannot be created: {error.strerror or error}") from None
    if out_path.is_dir() and not os.access(out_path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} '{out_path}' is not writable")
    return out_path


def check_new_files(out, names, *, overwrite=False, sources=None, flag="--overwrite"):
    """Refuse to replace existing files in `out` (unless `overwrite`) or to write one twice.

    Args:
        out: the output folder.
        names: the file names (relative to `out`) the command will write, in order.
        overwrite: replacing existing files is allowed.
        sources: optional list, parallel to `names`, of the inputs each output comes from; two
            inputs mapping to one output name are refused naming both.
    Returns: the list of output paths.
    Raises:
        UsageError: an output name repeats, or files exist and `overwrite` is False.
    """
    out = pathlib.Path(out)
    seen = {}
    paths = []
    for index, name in enumerate(names):
        if name in seen:
            first = seen[name]
            if sources is not None:
                raise UsageError(f"'{sources[first]}' and '{sources[index]}' would both be written to "
                                 f"'{out / name}'; rename one of them")
            raise UsageError(f"the output file '{out / name}' would be written twice")
        seen[name] = index
        paths.append(out / name)
    if not overwrite:
        existing = [path for path in paths if path.exists()]
        if existing:
            raise UsageError(f"{len(existing)} file(s) in '{out}' would be overwritten (e.g. "
                             f"'{existing[0]}'); pass {flag} to replace them, or choose another folder")
    return paths
