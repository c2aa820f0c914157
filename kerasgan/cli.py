"""The `kerasgan` command.

    kerasgan train pix2pix --data DIR --epochs N --out RUN
    kerasgan generate chromosome --count 64 --abnormal perlin --out out/
    kerasgan zoo list | card NAME | verify [NAME]

Verbs are fixed here; their targets come from plugins: each paper module has a
`commands.py` with `register(registry)`. Plugins import TensorFlow only when a command runs,
so `kerasgan --help` answers at once.
"""

import argparse
import importlib
import pathlib
import sys

import kerasgan

VERBS = {
    "train": "train a model (resumable, except syncgan: run the same command again after an interruption)",
    "generate": "generate synthetic images",
    "evaluate": "evaluate a model with the paper's metrics",
    "ablation": "train and compare a paper's ablation variants",
    "augment-study": "measure a classifier's accuracy gain from synthetic images",
    "example-data": "write a small example folder in a layout the README uses",
}

PLUGINS = (
    "kerasgan.commands.pix2pix",
    "kerasgan.chromosome.commands",
    "kerasgan.syncgan.commands",
    "kerasgan.glomeruli.commands",
    "kerasgan.medisingan.commands",
    "kerasgan.commands.zoo_generate",
    "kerasgan.example_data",
)


class CommandRegistry:
    """Collects (verb, target) commands from the plugins."""

    def __init__(self):
        self.commands = {verb: {} for verb in VERBS}

    def add(self, verb, target, configure, run, help=""):
        if verb not in self.commands:
            raise ValueError(f"unknown verb {verb!r}; verbs are {sorted(self.commands)}")
        if target in self.commands[verb]:
            raise ValueError(f"command '{verb} {target}' is registered twice")
        self.commands[verb][target] = (configure, run, help)


def load_registry():
    registry = CommandRegistry()
    for module_name in PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # that paper is not part of this installation
                continue
            raise
        module.register(registry)
    return registry


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is the one line every CLI failure ends in:
    `kerasgan: error: argument --epochs: ... (see 'kerasgan train pix2pix --help')`, exit 2,
    without argparse's usage lines. Sub-commands' parsers are of this class too
    (add_subparsers uses the parent's class)."""

    def error(self, message):
        message = " ".join(str(message).split())  # one line, whatever argparse composed
        hint = f" (see '{self.prog} --help')" if self.prog != "kerasgan" else " (see 'kerasgan --help')"
        self.exit(2, f"kerasgan: error: {message}{hint}\n")


def build_parser(registry=None):
    registry = registry or load_registry()
    parser = OneLineParser(
        prog="kerasgan",
        description="GANs that make synthetic medical images (Keras 3 / TensorFlow).",
    )
    parser.add_argument("--version", action="version", version=f"kerasgan {kerasgan.__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    verbs.required = True
    for verb, help_text in VERBS.items():
        targets = registry.commands[verb]
        if not targets:
            continue
        verb_parser = verbs.add_parser(verb, help=help_text, description=help_text)
        subparsers = verb_parser.add_subparsers(dest="target", metavar="MODEL")
        subparsers.required = True
        for target, (configure, run, target_help) in sorted(targets.items()):
            target_parser = subparsers.add_parser(target, help=target_help, description=target_help)
            configure(target_parser)
            # Also after the command (kerasgan train pix2pix ... --debug); SUPPRESS keeps the
            # root parser's value when it is not given here.
            target_parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                       help="show the full traceback of an error")
            target_parser.set_defaults(run=run)

    zoo_parser = verbs.add_parser("zoo", help="list, describe and verify the pretrained models")
    zoo_commands = zoo_parser.add_subparsers(dest="zoo_command", metavar="ACTION")
    zoo_commands.required = True
    zoo_commands.add_parser("list", help="names and titles of the zoo models").set_defaults(run=_zoo_list)
    card_parser = zoo_commands.add_parser("card", help="print a model card")
    card_parser.add_argument("name")
    card_parser.set_defaults(run=_zoo_card)
    verify_parser = zoo_commands.add_parser(
        "verify", help="check the sha256 of every file and that the loader opens only listed files")
    verify_parser.add_argument("name", nargs="?", default=None)
    verify_parser.add_argument("--checksums-only", action="store_true",
                               help="skip the trial load (no TensorFlow)")
    verify_parser.set_defaults(run=_zoo_verify)
    return parser


def _zoo_list(args):
    from kerasgan import zoo

    for name in zoo.list():
        print(f"{name:12s} {zoo.metadata(name)['title']}")
    return 0


def _zoo_card(args):
    from kerasgan import zoo

    print(zoo.card(args.name))
    return 0


def _zoo_verify(args):
    from kerasgan import zoo

    names = [args.name] if args.name else zoo.list()
    failures = 0
    for name in names:
        try:
            zoo.verify(name, try_loader=not args.checksums_only)
            print(f"{name:12s} ok")
        except zoo.ZooError as error:
            failures += 1
            print(f"{name:12s} FAILED: {error}")
    return 1 if failures else 0


USAGE_ERRORS = (ValueError, TypeError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                FileExistsError)
MAX_MESSAGE = 600


def one_line(error):
    """An exception as one line for the terminal: our own message when TensorFlow wrapped it
    (errors raised inside tf.data's numpy_function arrive as InvalidArgumentError holding the
    original 'ValueError: ...' line), the first line otherwise, cut at MAX_MESSAGE characters."""
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for prefix in ("ValueError: ", "TypeError: ", "FileNotFoundError: ", "OSError: "):
        wrapped = [line for line in lines if line.startswith(prefix)]
        if wrapped and type(error).__name__ not in prefix:
            lines = [wrapped[-1][len(prefix):]]
            break
    message = lines[0] if lines else type(error).__name__
    if message.endswith(":") and len(lines) > 1:  # "Graph execution error:" says nothing alone
        detail = [line for line in lines[1:] if not line.startswith(
            ("[[", "Detected at node", "<stack", "File ", "Traceback", "^"))]
        if detail:
            message = f"{message} {detail[0]}"
            lines = lines[:1]
    if len(lines) > 1:
        message += f" (and {len(lines) - 1} more lines: --debug shows them)"
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 3] + "..."
    return message


def _is_wrapped_user_error(error):
    # A tf.data map function's ValueError (a corrupt image mid-training) reaches us wrapped.
    name = type(error).__name__
    return name in ("InvalidArgumentError", "UnknownError") and any(
        f"{kind}: " in str(error) for kind in ("ValueError", "FileNotFoundError", "TypeError"))


def main(argv=None):
    """Run the `kerasgan` command; returns the exit status.

    0 done; 2 a usage error (a bad flag, path, number or input file: one line naming it);
    1 a run-time failure (a write failing mid-run, a non-finite loss, anything unexpected:
    one line, the last intact checkpoint named where there is one); 130 interrupted.
    `--debug` re-raises, so the full traceback shows.
    """
    from kerasgan._runtime import quiet_console

    quiet_console()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_info:  # argparse printed a usage error: status 2, returned
        if exit_info.code in (0, None):  # --help / --version exit as argparse does
            raise
        return exit_info.code if isinstance(exit_info.code, int) else 2
    try:
        code = args.run(args)
    except KeyboardInterrupt:
        # A command that cannot resume says so with set_defaults(interrupted_hint=...).
        print(getattr(args, "interrupted_hint", "interrupted; run the same command again to resume"),
              file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - every failure ends in one line (see docstring)
        if args.debug:
            raise
        usage = isinstance(error, USAGE_ERRORS) or _is_wrapped_user_error(error)
        if isinstance(error, OSError) and not isinstance(error, (FileNotFoundError, NotADirectoryError,
                                                                   IsADirectoryError, FileExistsError)):
            usage = False
        message = one_line(error)
        if isinstance(error, OSError) and getattr(error, "filename", None) and error.filename not in message:
            message = f"'{error.filename}': {message}"
        hint = "" if usage else f" [{type(error).__name__}; --debug for the traceback]"
        print(f"kerasgan: error: {message}{hint}", file=sys.stderr)
        return 2 if usage else 1
    if not code and getattr(args, "verb", None) == "train":
        print(_written_line(getattr(args, "out", None)))
    return int(code or 0)


def _written_line(out, limit=10):
    """The last line of a train command: what its --out holds now."""
    if out is None:
        return "done"
    out = pathlib.Path(out)
    if out.is_file():
        return f"done: wrote {out}"
    if not out.is_dir():
        return "done"
    entries = sorted(f"{p.name}/" if p.is_dir() else p.name for p in out.iterdir() if not p.name.startswith("."))
    more = f", ... ({len(entries)} entries)" if len(entries) > limit else ""
    return f"done: {out} holds {', '.join(entries[:limit])}{more}"


if __name__ == "__main__":
    sys.exit(main())
