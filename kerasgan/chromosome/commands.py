"""`kerasgan train|generate|evaluate chromosome` (Uzolas et al. 2021).

Data (`--data`): a folder of single-chromosome images (dark on light, any size; preprocessed
as the paper: grayscale, square padding, resize to 128), a cached ChromosomeSet (.npz), or
`synthetic:COUNT[:SEED]` for the SYNTHETIC renderer that ships with the package.
"""

import json
import pathlib

from kerasgan._runs import add_tensorboard_argument, tensorboard_dir

DEFAULT_FILTERS = 16


def register(registry):
    registry.add("train", "chromosome", _configure_train, _run_train,
                 help="train pix2pix: banded chromosome masks -> chromosome images")
    registry.add("generate", "chromosome", _configure_generate, _run_generate,
                 help="generate (abnormal) chromosome images and a contact sheet")
    registry.add("evaluate", "chromosome", _configure_evaluate, _run_evaluate,
                 help="Dice / MAENB / baseline of a generator (the paper's Table 1/3)")
    from kerasgan.chromosome import karyogram_commands

    karyogram_commands.register(registry)


# ----------------------------------------------------------------------------- data


SYNTHETIC_KINDS = {"synthetic": "random", "ideogram": "ideogram"}


def parse_synthetic_spec(spec):
    """'synthetic:COUNT[:SEED]' or 'ideogram:COUNT[:SEED]' -> (kind, count, seed), else None."""
    prefix = spec.split(":", 1)[0]
    if prefix not in SYNTHETIC_KINDS:
        return None
    parts = spec.split(":")
    try:
        count = int(parts[1]) if len(parts) > 1 else 500
        seed = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        raise ValueError(f"--data {spec!r}: expected {prefix}:COUNT[:SEED] with integers") from None
    if len(parts) > 3:
        raise ValueError(f"--data {spec!r}: expected {prefix}:COUNT[:SEED]")
    if count < 1:
        raise ValueError(f"--data {spec!r}: COUNT must be at least 1")
    return SYNTHETIC_KINDS[prefix], count, seed


def load_set(spec, size=128, workers=2, progress=True, cache=None):
    """A ChromosomeSet from a folder, an .npz cache, 'synthetic:COUNT[:SEED]' (random banding),
    'ideogram:COUNT[:SEED]' (the 24 human chromosomes, classes known), or several of these
    joined by '+' (e.g. 'ideogram:2400:1+synthetic:1200:1')."""
    from kerasgan.chromosome.data import ChromosomeSet

    if cache and pathlib.Path(cache).exists():
        return ChromosomeSet.load(cache)
    spec = str(spec)
    parts = spec.split("+") if "+" in spec else [spec]
    if any(not part for part in parts):
        raise ValueError(f"--data {spec!r}: empty part between '+'")
    sets = []
    for part in parts:
        synthetic = parse_synthetic_spec(part)
        if synthetic is not None:
            kind, count, seed = synthetic
            sets.append(ChromosomeSet.synthetic_set(count, seed=seed, size=size, workers=workers,
                                                    progress=progress, kind=kind))
        elif part.endswith(".npz"):
            sets.append(ChromosomeSet.load(part))
        else:
            sets.append(ChromosomeSet.from_folder(part, size=size, workers=workers, progress=progress))
    chromosomes = sets[0] if len(sets) == 1 else ChromosomeSet.concatenate(sets)
    if cache:
        chromosomes.save(cache)
    return chromosomes


def load_generator(spec, filters=DEFAULT_FILTERS, size=128, model_size=None):
    """'zoo' (the pretrained entry), a .keras generator, or a .npz of weights (+ --filters)."""
    spec = str(spec)
    if spec == "zoo":
        import kerasgan.zoo

        return kerasgan.zoo.load("chromosome")
    path = pathlib.Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"generator '{spec}' does not exist (give 'zoo', a .keras file or a .npz)")
    if path.suffix == ".keras":
        import keras

        from kerasgan.serialization import load_keras_model
        return load_keras_model(path, compile=False)
    if path.suffix == ".npz":
        import numpy as np

        from kerasgan.chromosome.model import build_generator
        from kerasgan.serialization import load_weights_npz

        # The first convolution's output channels are the U-Net's filters: a mismatch with
        # --filters is named instead of failing deep inside the weight loading.
        with np.load(path, allow_pickle=False) as weights:
            first = weights["down0_conv/kernel"].shape[-1] if "down0_conv/kernel" in weights.files else None
        if first is not None and first != filters:
            raise ValueError(f"generator '{spec}' was trained with --filters {first}, not {filters}: "
                             f"give --filters {first}")
        generator = build_generator(size=size, filters=filters, model_size=model_size)
        load_weights_npz(generator, path)
        return generator
    raise ValueError(f"generator '{spec}' must be 'zoo', a .keras file or a .npz of weights")


# ----------------------------------------------------------------------------- train


JITTERS = ("dihedral", "reference", "none")  # = kerasgan.chromosome.data.JITTERS (TF-free here)


def _configure_train(parser):
    parser.add_argument("--data", default="synthetic:2000:1",
                        help="folder of single-chromosome images (or karyograms), a .npz ChromosomeSet, "
                             "synthetic:COUNT[:SEED] (SYNTHETIC renderer, random banding), "
                             "ideogram:COUNT[:SEED] (SYNTHETIC human chromosomes 1-22, X, Y), or several "
                             "joined by '+' (default synthetic:2000:1)")
    parser.add_argument("--validation", default=None,
                        help="held-out set (same forms as --data); default: a folder is split "
                             "0.7/0.15/0.15 train/validation/test as the paper (test_set.npz is kept "
                             "in the run folder for `kerasgan evaluate chromosome --data`); "
                             "synthetic data: synthetic:200:2")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--epochs", type=int, default=10,
                        help="epochs at the initial learning rate (pix2pix n_epochs)")
    parser.add_argument("--epochs-decay", type=int, default=0,
                        help="epochs more with the learning rate decaying linearly towards 0 "
                             "(pix2pix n_epochs_decay; the reference default is as many as --epochs)")
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="default: one pass over the training set")
    parser.add_argument("--batch-size", type=int, default=32, help="the paper: 32")
    parser.add_argument("--filters", type=int, default=DEFAULT_FILTERS, help="U-Net ngf (paper: 64)")
    parser.add_argument("--discriminator-filters", type=int, default=None, help="PatchGAN ndf (default = --filters)")
    parser.add_argument("--model-size", type=int, default=None,
                        help="run the U-Net at this size inside a 128 px generator (mask resized up "
                             "and the image down inside G; D and L1 stay at 128)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="train G, D and L1 at this size (the paper: 256): masks (nearest) and "
                             "images (bilinear) upscaled from the 128 px data; validation Dice/MAENB "
                             "at 128 as the paper (output downscaled, area)")
    parser.add_argument("--l1-weight", type=float, default=100.0)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--validate-every", type=int, default=1,
                        help="score the paper's validation Dice/MAENB every N epochs (and at the last); "
                             "best_generator.keras is the epoch with the best Dice, as the paper chose")
    parser.add_argument("--jitter", choices=JITTERS, default="dihedral",
                        help="training augmentation, the same draw on mask and image: random flips "
                             "and transposes (dihedral, default), pix2pix's resize to 286 / random "
                             "256 crop / horizontal flip (reference; scaled for other sizes) or none")
    parser.add_argument("--workers", type=int, default=2, help="processes for pattern extraction")
    parser.add_argument("--seed", type=int, default=0)
    add_tensorboard_argument(parser)


def _check_train_args(args):
    for name in ("epochs", "batch_size", "filters", "validate_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("epochs_decay",):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(args, name)}")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        raise ValueError(f"--steps-per-epoch must be at least 1, got {args.steps_per_epoch}")
    if args.discriminator_filters is not None and args.discriminator_filters < 1:
        raise ValueError(f"--discriminator-filters must be at least 1, got {args.discriminator_filters}")
    if not (args.learning_rate > 0 and args.learning_rate < 1):
        raise ValueError(f"--learning-rate must be in (0, 1), got {args.learning_rate}")
    if not args.l1_weight >= 0:
        raise ValueError(f"--l1-weight must be 0 or more, got {args.l1_weight}")
    if args.model_size is not None and (args.model_size < 128 or args.model_size % 32):
        raise ValueError(f"--model-size must be a multiple of 32 of at least 128, got {args.model_size}")
    if args.image_size is not None and (args.image_size < 128 or args.image_size % 32):
        raise ValueError(f"--image-size must be a multiple of 32 of at least 128, got {args.image_size}")
    if args.image_size is not None and args.model_size is not None:
        raise ValueError("give --image-size (G, D and L1 at that size) or --model-size (only the U-Net "
                         "inside a 128 px generator), not both")
    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out '{out}' is a file, not a run folder")
    for flag in ("data", "validation"):
        spec = getattr(args, flag)
        if spec is None:
            continue
        for part in str(spec).split("+"):
            if parse_synthetic_spec(part) is None and not pathlib.Path(part).exists():
                raise FileNotFoundError(f"--{flag} '{part}' does not exist (a folder, a .npz, "
                                        "synthetic:COUNT[:SEED] or ideogram:COUNT[:SEED])")
            if parse_synthetic_spec(part) is None:
                from kerasgan._paths import check_output_folder

                # The run folder's samples and checkpoints must never land among the data.
                check_output_folder(args.out, {f"--{flag}": part})


def _data_identity(spec):
    """What a --data/--validation value names, for the run-settings record: the spec for the
    renderer, the absolute path plus a fingerprint of its files for a folder or .npz."""
    if spec is None:
        return None
    from kerasgan.training import files_fingerprint

    parts = []
    for part in str(spec).split("+"):
        if parse_synthetic_spec(part) is not None:
            parts.append(part)
            continue
        path = pathlib.Path(part).resolve()
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        parts.append(f"{path} [{files_fingerprint(files)}]")
    return "+".join(parts)


def _run_train(args):
    _check_train_args(args)
    out = pathlib.Path(args.out)
    from kerasgan.training import check_run_settings

    # A run folder caches its data sets and checkpoints: resuming it with other data or
    # settings would train on the old cache silently, so that is refused.
    check_run_settings(out, {
        "--data": _data_identity(args.data), "--validation": _data_identity(args.validation),
        "--filters": args.filters, "--discriminator-filters": args.discriminator_filters or args.filters,
        "--model-size": args.model_size, "--image-size": args.image_size, "--l1-weight": args.l1_weight,
        "--learning-rate": args.learning_rate, "--batch-size": args.batch_size,
        "--steps-per-epoch": args.steps_per_epoch, "--jitter": args.jitter, "--seed": args.seed,
        "--validate-every": args.validate_every,
        # With a decay the schedule of every epoch depends on both counts; without one, a
        # finished run may be extended by more --epochs.
        **({"--epochs": args.epochs, "--epochs-decay": args.epochs_decay} if args.epochs_decay else {}),
    })
    train = load_set(args.data, workers=args.workers, cache=out / "train_set.npz")
    test = None
    if args.validation:
        validation = load_set(args.validation, workers=args.workers, cache=out / "validation_set.npz")
    elif all(parse_synthetic_spec(part) is not None for part in str(args.data).split("+")):
        validation = load_set("synthetic:200:2", workers=args.workers, cache=out / "validation_set.npz")
    else:
        # The paper's split: 0.7 train, 0.15 validation (best epoch), 0.15 test (kept aside).
        cached = (out / "validation_set.npz").exists() and (out / "test_set.npz").exists()
        if cached:
            from kerasgan.chromosome.data import ChromosomeSet

            train_all = train
            validation = ChromosomeSet.load(out / "validation_set.npz")
            test = ChromosomeSet.load(out / "test_set.npz")
            train = train_all.subset(_split_indices(len(train_all), args.seed)[0])
        else:
            indices = _split_indices(len(train), args.seed)
            validation, test = train.subset(indices[1]), train.subset(indices[2])
            validation.save(out / "validation_set.npz")
            test.save(out / "test_set.npz")
            train = train.subset(indices[0])
    if len(train) < args.batch_size:
        raise ValueError(f"{len(train)} training images are fewer than one batch of {args.batch_size}")
    if len(validation) == 0:
        raise ValueError("the validation set is empty (give more images or --validation)")

    import keras
    import numpy as np

    from kerasgan.chromosome.data import pair_dataset
    from kerasgan.chromosome.model import build_pix2pix
    from kerasgan.chromosome.validation import ValidationScores, format_validation_table, read_log_csv
    from kerasgan.models.pix2pix import default_gan_optimizer
    from kerasgan.schedules import LinearDecay
    from kerasgan.serialization import save_weights_npz
    from kerasgan.training import train_gan

    keras.utils.set_random_seed(args.seed)
    image_size = args.image_size or train.size
    model = build_pix2pix(size=image_size, filters=args.filters,
                          discriminator_filters=args.discriminator_filters, model_size=args.model_size,
                          l1_weight=args.l1_weight)
    model.compile(generator_optimizer=default_gan_optimizer(args.learning_rate),
                  discriminator_optimizer=default_gan_optimizer(args.learning_rate))
    steps = args.steps_per_epoch or max(1, len(train) // args.batch_size)
    total_epochs = args.epochs + args.epochs_decay
    train_data = pair_dataset(train, batch_size=args.batch_size, seed=args.seed,
                              image_size=image_size, jitter=args.jitter)
    validation_data = pair_dataset(validation, batch_size=args.batch_size, augment=False,
                                   shuffle=False, repeat=False, image_size=image_size)
    sample_conditions, sample_targets = next(iter(pair_dataset(validation, batch_size=8, augment=False,
                                                               shuffle=False, repeat=False,
                                                               image_size=image_size)))
    # The paper scores at 128 px: a generator trained at 256 is scored through a wrapper
    # sharing its weights (mask up, nearest; image down, area).
    scoring_generator = (None if image_size == train.size
                         else evaluation_generator(model.generator, train.size))
    config = {
        "size": train.size, "image_size": image_size, "evaluation_size": train.size,
        "filters": args.filters, "norm": "batch", "model_size": args.model_size,
        "discriminator_filters": args.discriminator_filters or args.filters,
        "train_images": len(train), "validation_images": len(validation),
        "test_images": None if test is None else len(test),
        "synthetic": train.synthetic, "data": str(args.data), "epochs": args.epochs,
        "epochs_decay": args.epochs_decay, "steps_per_epoch": steps, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "jitter": args.jitter, "validate_every": args.validate_every,
        "seed": args.seed,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    import time

    start = time.time()
    scores = ValidationScores(validation, every=args.validate_every, total_epochs=total_epochs,
                              batch_size=args.batch_size, scoring_generator=scoring_generator)
    train_gan(model, train_data, out, total_epochs, validation_data=validation_data,
              sample_conditions=np.asarray(sample_conditions), sample_targets=np.asarray(sample_targets),
              monitor="val_dice", monitor_mode="max", steps_per_epoch=steps,
              epoch_metrics=[LinearDecay(args.learning_rate, args.epochs, args.epochs_decay), scores],
              tensorboard_dir=tensorboard_dir(args, out))
    config["wall_seconds_this_run"] = round(time.time() - start, 1)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_weights_npz(model.generator, out / "generator.weights.npz")
    if scoring_generator is not None and (out / "best_generator.keras").is_file():
        # What `generate/evaluate chromosome --generator` take: 128 px masks in, 128 px out.
        from kerasgan.serialization import load_keras_model
        best = load_keras_model(out / "best_generator.keras", compile=False)
        evaluation_generator(best, train.size).save(out / f"best_generator_{train.size}px.keras")
    rows = read_log_csv(out / "log.csv")
    print("validation (the paper's Table 1: Dice and MAENB of the re-extracted masks)")
    print(format_validation_table(rows))
    logs = tensorboard_dir(args, out)
    print(f"wrote {out / 'generator.weights.npz'} (last epoch), {out / 'best_generator.keras'} "
          f"(best validation Dice), {out / 'log.csv'}" + ("" if logs is None else f", TensorBoard logs in {logs}"))
    return 0


def evaluation_generator(generator, size):
    """`generator` (trained at its own size) as a size x size generator for scoring: the mask
    resized up (nearest), the output down (area, the mean of each block), weights shared."""
    import keras

    trained = int(generator.input_shape[1])
    inputs = keras.Input((size, size, 1), name="banded_mask")
    x = keras.layers.Resizing(trained, trained, interpolation="nearest", name="upscale")(inputs)
    x = generator(x)
    outputs = keras.layers.Resizing(size, size, interpolation="area", name="downscale")(x)
    return keras.Model(inputs, outputs, name=f"{generator.name}_at_{size}px")


def _split_indices(count, seed):
    """Train/validation/test indices of the paper's 0.7/0.15/0.15 split."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(count)
    bounds = np.round(np.cumsum((0.7, 0.15))[:2] * count).astype(int)
    return np.split(order, bounds)


# ----------------------------------------------------------------------------- generate


def _configure_generate(parser):
    from kerasgan._args import non_negative_int, positive_int

    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN",
                        help="a `kerasgan train chromosome` run folder (its best_generator.keras) or a "
                             ".keras / .npz generator; default: the zoo entry")
    parser.add_argument("--zoo", action="store_true",
                        help="use the zoo entry 'chromosome' (the default without RUN or --generator)")
    parser.add_argument("--generator", default=None,
                        help="'zoo', a .keras generator or a .npz of weights (the same as RUN)")
    parser.add_argument("--filters", type=positive_int, default=DEFAULT_FILTERS, help="for a .npz generator")
    parser.add_argument("--data", default="synthetic:64:7",
                        help="shapes (and patterns) to use: folder of chromosome images, .npz "
                             "set, or synthetic:COUNT[:SEED] (default SYNTHETIC shapes)")
    parser.add_argument("--count", type=positive_int, default=64)
    parser.add_argument("--abnormal", choices=ABNORMAL_MODES, default="perlin",
                        help="pattern: the shape's own (none), Perlin noise, or a random "
                             "deletion/duplication/inversion/insertion of the own pattern (edited); "
                             "manifest.json records what each image got")
    parser.add_argument("--out", required=True,
                        help="output folder (chromosome_000.png + mask_000.png ..., contact_sheet.png, manifest.json)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="image i draws its pattern with seed SEED + i (with --iscn: the karyotype's seed)")
    parser.add_argument("--iscn", default=None,
                        help='draw the abnormal chromosomes of this ISCN karyotype (e.g. "46,XY,del(5)(p15.2)"): '
                             "rearranged ones and extra copies, --count images cycling over them; "
                             "--data/--abnormal are unused, --generator may also be 'none' "
                             "(the SYNTHETIC renderer's own images)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


ABNORMAL_MODES = ("none", "perlin", "edited")


def generate_file_names(count):
    names = [f"{kind}_{i:03d}.png" for i in range(count) for kind in ("chromosome", "mask")]
    return names + ["contact_sheet.png", "manifest.json"]


def _generator_spec(args):
    """(spec for load_generator or 'none', flag it came from), checked before TensorFlow."""
    from kerasgan._paths import UsageError

    if args.run_folder is not None and args.generator is not None:
        raise UsageError(f"give RUN '{args.run_folder}' or --generator '{args.generator}', not both")
    flag, spec = ("RUN", args.run_folder) if args.run_folder is not None else ("--generator", args.generator)
    if args.zoo and spec not in (None, "zoo"):
        raise UsageError(f"give {flag} '{spec}' or --zoo, not both")
    if spec in (None, "zoo"):
        return "zoo", "--zoo"
    if spec == "none":
        if args.iscn is None:
            raise UsageError(f"{flag} 'none' (the SYNTHETIC renderer's images) works only with --iscn")
        return "none", flag
    path = pathlib.Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"{flag} '{spec}' does not exist (a `kerasgan train chromosome` run folder, "
                                "a .keras generator or a .npz of weights; or pass --zoo)")
    if path.is_dir():
        found = [path / name for name in ("best_generator.keras", "generator.weights.npz") if (path / name).is_file()]
        if not found:
            raise FileNotFoundError(f"{flag} '{spec}' holds no best_generator.keras or generator.weights.npz "
                                    "(is it a `kerasgan train chromosome` run that finished an epoch?)")
        return str(found[0]), flag
    if path.suffix not in (".keras", ".npz"):
        raise UsageError(f"{flag} '{spec}' must be a run folder, a .keras generator or a .npz of weights")
    return str(path), flag


class _RecordedEdits:
    """A stand-in for `kerasgan.chromosome.patterns` handed to `random_edit`: applies the edit it
    is asked for and records its name and parameters, so the manifest says what each image got."""

    def __init__(self):
        from kerasgan.chromosome import patterns

        self._patterns = patterns
        self.applied = []

    def edit(self, pattern, **edits):
        for name, argument in edits.items():
            if name == "insertion":
                position, segment = argument
                self.applied.append({"edit": "insertion", "position": float(position),
                                     "segment": "".join(str(int(v)) for v in segment)})
            else:
                start, end = argument
                self.applied.append({"edit": name, "interval": [float(start), float(end)]})
        return self._patterns.edit(pattern, **edits)


def abnormal_masks(chromosomes, abnormal, seed=0):
    """Banded masks (uint8 N x S x S) of each shape with the pattern `abnormal` asks for, image
    i drawn with numpy seed `seed + i`, and per image the abnormality it got:

      none:   {"pattern": "own"} (the shape's own banding)
      perlin: {"pattern": "perlin", "bank_seed", "track", "window": [first, last sample]}
      edited: {"edit": "deletion"|"duplication"|"inversion", "interval": [start, end]} (fractions
              of the own pattern's length) or {"edit": "insertion", "position", "segment": "0110..."}
              (the inserted bands, 0 = black), the pattern then resampled to the shape's axis.
    """
    import numpy as np

    from kerasgan.chromosome import extraction
    from kerasgan.chromosome.data import random_edit

    if abnormal not in ABNORMAL_MODES:
        raise ValueError(f"abnormal must be one of {', '.join(ABNORMAL_MODES)}, got {abnormal!r}")
    bank = drawn = None
    if abnormal == "perlin":
        from kerasgan.chromosome.patterns import PerlinBank

        bank, drawn = PerlinBank(), {}
        positions = bank.positions

        def recorded_positions(*arguments, **keywords):  # what bank.sample reads, recorded
            track, index = positions(*arguments, **keywords)
            drawn.update(track=int(track), window=[int(index[0]), int(index[-1])])
            return track, index

        bank.positions = recorded_positions
    masks, applied = [], []
    for i in range(len(chromosomes)):
        rng = np.random.default_rng(seed + i)
        own = chromosomes.patterns[i]
        if abnormal == "none":
            pattern, record = own, {"pattern": "own"}
        elif abnormal == "perlin":
            pattern = bank.sample(len(own), rng)
            record = {"pattern": "perlin", "bank_seed": bank.seed, **drawn}
        else:
            recorder = _RecordedEdits()
            pattern = extraction.resample_pattern(random_edit(own, rng, recorder), len(own))
            (record,) = recorder.applied
        masks.append(chromosomes.banded_mask(i, pattern))
        applied.append(record)
    return np.stack(masks), applied


def _check_generate_paths(args, spec, flag="RUN"):
    """--data exists, --out is not / does not hold / lie in an input, no file is replaced
    without --overwrite (before TensorFlow). Returns the output folder."""
    from kerasgan._paths import check_new_files, check_output_folder

    inputs = {}
    if args.iscn is None:
        parts = [part for part in str(args.data).split("+") if parse_synthetic_spec(part) is None]
        for part in parts:
            if not pathlib.Path(part).exists():
                raise FileNotFoundError(f"--data '{part}' does not exist")
        inputs["--data"] = parts
    if spec not in ("zoo", "none"):
        inputs[flag] = args.run_folder if flag == "RUN" else spec  # a run folder: all of it
    out = check_output_folder(args.out, inputs)
    check_new_files(out, generate_file_names(args.count), overwrite=args.overwrite)
    return out


def _run_generate(args):
    spec, flag = _generator_spec(args)
    if args.iscn is not None:
        return _run_generate_iscn(args, spec, flag)
    out = _check_generate_paths(args, spec, flag)

    from kerasgan.chromosome.model import generate
    from kerasgan.commands.zoo_generate import _write_manifest, contact_sheet
    from kerasgan.data.image_io import write_image

    generator = load_generator(spec, filters=args.filters)
    chromosomes = load_set(args.data, size=int(generator.input_shape[1] or 128), progress=False)
    shape_index = [i % len(chromosomes) for i in range(args.count)]
    chromosomes = chromosomes.subset(shape_index)
    masks, applied = abnormal_masks(chromosomes, args.abnormal, seed=args.seed)
    images = generate(generator, masks)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for i, (mask, image) in enumerate(zip(masks, images)):
        write_image(out / f"chromosome_{i:03d}.png", image)
        write_image(out / f"mask_{i:03d}.png", mask)
        items.append({"file": f"chromosome_{i:03d}.png", "seed": args.seed + i,
                      "condition": {"mask": f"mask_{i:03d}.png", "shape": str(chromosomes.names[i]),
                                    "abnormal": args.abnormal},
                      "abnormality": applied[i]})
    contact_sheet([[mask, image] for mask, image in zip(masks, images)], out / "contact_sheet.png")
    _write_manifest(out, {"command": "generate chromosome", "model": _model_name(spec), "seed": args.seed,
                          "abnormal": args.abnormal, "data": str(args.data),
                          "synthetic_shapes": bool(chromosomes.synthetic), "count": args.count, "images": items})
    print(f"wrote {args.count} images (chromosome_*.png from their mask_*.png, {args.abnormal} patterns), "
          f"contact_sheet.png and manifest.json to {out}")
    return 0


def _model_name(spec):
    return {"zoo": "zoo:chromosome", "none": "none (the SYNTHETIC renderer)"}.get(spec, spec)


def _run_generate_iscn(args, spec, flag="RUN"):
    """Single abnormal chromosomes of a karyotype, in the layout of the other generate commands."""
    from kerasgan.chromosome.karyogram_commands import parse_iscn

    from kerasgan.chromosome.karyogram import abnormal_chromosomes

    karyotype = parse_iscn(args.iscn)  # before TensorFlow: a bad string fails at once
    reasons = abnormal_chromosomes(karyotype)
    if not reasons:
        raise ValueError(f"--iscn {args.iscn!r}: the karyotype has no abnormal chromosome to draw")
    abnormal = [c for c, _ in reasons]
    out = _check_generate_paths(args, spec, flag)
    generator = None if spec == "none" else load_generator(spec, filters=args.filters)
    from kerasgan.chromosome.karyogram import karyotype_chromosomes
    from kerasgan.commands.zoo_generate import _write_manifest, contact_sheet
    from kerasgan.data.image_io import write_image

    copies = -(-args.count // len(abnormal))
    drawn = karyotype_chromosomes(karyotype, generator=generator, seed=args.seed, count=copies)[: args.count]
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for i, item in enumerate(drawn):
        write_image(out / f"chromosome_{i:03d}.png", item.image)
        write_image(out / f"mask_{i:03d}.png", item.banded_mask)
        # karyotype_chromosomes cycles over abnormal_chromosomes' list: item i is reasons[i % n].
        items.append({"file": f"chromosome_{i:03d}.png", "seed": args.seed,
                      "condition": {"mask": f"mask_{i:03d}.png", "iscn": args.iscn},
                      "abnormality": {"iscn": args.iscn, "chromosome": item.name, "class": item.chromosome_class,
                                      "breakpoints": list(item.breakpoints), "why": reasons[i % len(reasons)][1]},
                      "bbox": list(item.bbox)})
    contact_sheet([[d.banded_mask, d.image] for d in drawn], out / "contact_sheet.png")
    _write_manifest(out, {
        "command": "generate chromosome", "model": _model_name(spec), "seed": args.seed, "iscn": args.iscn,
        "abnormal_chromosomes": [{"name": c.name, "class": c.chromosome_class, "why": why} for c, why in reasons],
        "image_source": "SYNTHETIC renderer" if generator is None else "generator",
        "note": "the abnormal chromosomes of the karyotype (rearranged ones and extra copies), drawn "
                "from SYNTHETIC banded masks of their ideogram bands", "count": len(drawn), "images": items})
    print(f"wrote {len(drawn)} chromosomes ({', '.join(c.name for c in abnormal)}: chromosome_*.png, their "
          f"mask_*.png), contact_sheet.png and manifest.json to {out}")
    return 0


def contact_sheet(masks, images, path, title=None, columns=4):
    """A matplotlib grid of (input mask | generated image) pairs, saved to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(masks)
    rows = max(1, (count + columns - 1) // columns)
    figure, axes = plt.subplots(rows, 2 * columns, figsize=(2 * columns * 1.2, rows * 1.3), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for i in range(count):
        row, column = divmod(i, columns)
        axes[row, 2 * column].imshow(masks[i], cmap="gray", vmin=0, vmax=255)
        axes[row, 2 * column + 1].imshow(images[i], cmap="gray", vmin=0, vmax=255)
        if row == 0:
            axes[row, 2 * column].set_title("mask", fontsize=7)
            axes[row, 2 * column + 1].set_title("generated", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    from kerasgan.figures import save_figure

    return save_figure(figure, path)


# ----------------------------------------------------------------------------- evaluate


def _configure_evaluate(parser):
    parser.add_argument("--generator", default="zoo", help="'zoo', a .keras generator or a .npz of weights")
    parser.add_argument("--filters", type=int, default=DEFAULT_FILTERS, help="for a .npz generator")
    parser.add_argument("--data", default="synthetic:500:3",
                        help="held-out test images (folder, .npz or synthetic:COUNT[:SEED]; "
                             "default 500 SYNTHETIC chromosomes never used in training)")
    parser.add_argument("--sources", default="real,perlin",
                        help="comma list of real, perlin, ideogram (each class's own human ideogram "
                             "pattern; needs classes, e.g. --data ideogram:480:3), edited")
    parser.add_argument("--json", default=None, help="also write the scores to this JSON file")
    parser.add_argument("--inference", choices=("reference", "deterministic"), default="reference",
                        help="reference (default, as pix2pix's test.py and the paper's tables: dropout on, "
                             "each image's own batch statistics) or deterministic (dropout off, moving "
                             "statistics, what `generate` and the zoo model's plain call use)")
    parser.add_argument("--seed", type=int, default=0)


def _run_evaluate(args):
    from kerasgan.chromosome.evaluation import SOURCES, evaluate_generator, format_class_table, format_table

    sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"--sources: unknown source {source!r} ({', '.join(SOURCES)})")
    generator = load_generator(args.generator, filters=args.filters)
    chromosomes = load_set(args.data)
    report = evaluate_generator(generator, chromosomes, sources=sources, seed=args.seed, progress=True,
                                inference=args.inference)
    print(format_table(report, title=f"generator {args.generator}"))
    if report.get("per_class"):
        print(format_class_table(report))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0
