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
import sys

import kerasgan

VERBS = {
    "train": "train a model (resumable: run the same command again after an interruption)",
    "generate": "generate synthetic images",
    "evaluate": "evaluate a model with the paper's metrics",
    "ablation": "train and compare a paper's ablation variants",
    "augment-study": "measure a classifier's accuracy gain from synthetic images",
}

PLUGINS = (
    "kerasgan.commands.pix2pix",
    "kerasgan.chromosome.commands",
    "kerasgan.syncgan.commands",
    "kerasgan.glomeruli.commands",
    "kerasgan.medisingan.commands",
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


def build_parser(registry=None):
    registry = registry or load_registry()
    parser = argparse.ArgumentParser(
        prog="kerasgan",
        description="GANs that make synthetic medical images (Keras 3 / TensorFlow).",
    )
    parser.add_argument("--version", action="version", version=f"kerasgan {kerasgan.__version__}")
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
            target_parser.set_defaults(run=run)

    zoo_parser = verbs.add_parser("zoo", help="list, describe and verify the pretrained models")
    zoo_commands = zoo_parser.add_subparsers(dest="zoo_command", metavar="ACTION")
    zoo_commands.required = True
    zoo_commands.add_parser("list", help="names and titles of the zoo models").set_defaults(run=_zoo_list)
    card_parser = zoo_commands.add_parser("card", help="print a model card")
    card_parser.add_argument("name")
    card_parser.set_defaults(run=_zoo_card)
    verify_parser = zoo_commands.add_parser("verify", help="check the sha256 of every weight file")
    verify_parser.add_argument("name", nargs="?", default=None)
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
            zoo.verify(name)
            print(f"{name:12s} ok")
        except zoo.ZooError as error:
            failures += 1
            print(f"{name:12s} FAILED: {error}")
    return 1 if failures else 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except (ValueError, TypeError, FileNotFoundError, NotADirectoryError) as error:
        # User errors: one clear line, no traceback from deep inside TensorFlow.
        print(f"kerasgan {args.verb}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
