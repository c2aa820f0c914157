"""`kerasgan train pix2pix` and `kerasgan generate pix2pix`.

Arguments, paths and the data's pairing are checked before TensorFlow is imported, so a
wrong path or number fails at once; the output folder rules of `kerasgan._paths` (never
inside an input, nothing overwritten without --overwrite) and the run-settings record of
`kerasgan.training.check_run_settings` (no resume with other data or settings) apply.
"""

import pathlib

from kerasgan._args import non_negative_float, non_negative_int, positive_float, positive_int
from kerasgan._runs import add_tensorboard_argument, tensorboard_dir


def register(registry):
    registry.add("train", "pix2pix", _configure_train, _run_train,
                 help="train pix2pix on paired images (aligned A|B files or two folders)")
    registry.add("generate", "pix2pix", _configure_generate, _run_generate,
                 help="translate a folder of condition images with a trained generator")


def _configure_train(parser):
    parser.add_argument("--data", required=True, help="aligned A|B images, or a folder with A/ and B/")
    parser.add_argument("--target-dir", default=None, help="target folder, when --data is the condition folder")
    parser.add_argument("--val-data", default=None, help="validation pairs (same layout); reports val_l1")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, samples, log.csv)")
    add_tensorboard_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=200)
    parser.add_argument("--batch-size", type=positive_int, default=1, help="global batch (all workers together)")
    parser.add_argument("--image-size", type=positive_int, default=256)
    parser.add_argument("--filters", type=positive_int, default=64)
    parser.add_argument("--norm", choices=("batch", "instance", "none"), default="batch")
    parser.add_argument("--upsampling", choices=("transpose", "bilinear"), default="transpose")
    parser.add_argument("--gan-loss", choices=("bce", "lsgan"), default="bce")
    parser.add_argument("--l1-weight", type=non_negative_float, default=100.0)
    parser.add_argument("--learning-rate", type=positive_float, default=2e-4)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="adam (beta_1 0.5, the paper) or plain sgd (for exact comparisons)")
    parser.add_argument("--no-shuffle", action="store_true", help="read pairs in file-name order")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    parser.add_argument("--no-jitter", action="store_true", help="skip resize-286/crop/flip")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--jit-compile", action="store_true", help="XLA (helps on GPU, slower on CPU)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 compute, float32 outputs and losses (GPU)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic TensorFlow ops (bit-identical resumed runs)")
    parser.add_argument("--samples", type=positive_int, default=4, help="rows of the per-epoch sample grid")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run in an --out that holds another program's files of the "
                             "same names (log.csv, generator.keras, ...)")


# What a run writes into --out (kerasgan.training.train_gan).
RUN_FILES = ("generator.keras", "best_generator.keras", "log.csv", "checkpoints", "samples", "backup")


def _check_data(args):
    """Pairs, sizes, grey/colour and the output folder, before TensorFlow: (layout, conditions,
    targets, condition_channels, target_channels)."""
    from kerasgan._paths import UsageError, check_output_folder
    from kerasgan.data.paired import check_pairs, find_pairs

    layout, conditions, targets = find_pairs(args.data, args.target_dir)
    condition_channels, target_channels = check_pairs(layout, conditions, targets)
    if args.direction == "BtoA":
        condition_channels, target_channels = target_channels, condition_channels
    if args.val_data:
        val_layout, val_conditions, val_targets = find_pairs(args.val_data)
        val_channels = check_pairs(val_layout, val_conditions, val_targets)
        if args.direction == "BtoA":
            val_channels = val_channels[::-1]
        if tuple(val_channels) != (condition_channels, target_channels):
            kinds = {1: "grey", 3: "colour"}
            raise UsageError(
                f"--val-data '{args.val_data}' has {kinds[val_channels[0]]} conditions and "
                f"{kinds[val_channels[1]]} targets but --data has {kinds[condition_channels]} and "
                f"{kinds[target_channels]}; validation data must match the model's channels"
            )
    check_output_folder(args.out, {"--data": args.data, "--target-dir": args.target_dir,
                                   "--val-data": args.val_data}, create=True)
    from kerasgan._runs import RUN_SETTINGS
    from kerasgan._paths import check_new_files

    if not (pathlib.Path(args.out) / RUN_SETTINGS).is_file():  # a new run: replace nothing unasked
        check_new_files(args.out, RUN_FILES, overwrite=getattr(args, "overwrite", False))
    return layout, conditions, targets, condition_channels, target_channels


def _run_settings(args, conditions, targets):
    import os

    from kerasgan._runs import files_fingerprint

    def absolute(path):
        return None if path is None else os.path.abspath(path)

    return {
        "--data": absolute(args.data), "--target-dir": absolute(args.target_dir),
        "data files": files_fingerprint([*conditions, *(targets or [])]),
        "--val-data": absolute(args.val_data), "--image-size": args.image_size,
        "--filters": args.filters, "--norm": args.norm, "--upsampling": args.upsampling,
        "--gan-loss": args.gan_loss, "--l1-weight": args.l1_weight,
        "--learning-rate": args.learning_rate, "--optimizer": args.optimizer,
        "--batch-size": args.batch_size, "--no-shuffle": args.no_shuffle,
        "--direction": args.direction, "--no-jitter": args.no_jitter, "--seed": args.seed,
        "--mixed-precision": args.mixed_precision,
    }


def _run_train(args):
    from kerasgan._runs import check_run_settings

    layout, conditions, targets, condition_channels, target_channels = _check_data(args)
    settings = _run_settings(args, conditions, targets)
    import math

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasgan.data.paired import paired_image_dataset
    from kerasgan.distribute import cluster_from_environment
    from kerasgan.models import Pix2Pix
    from kerasgan.networks import patch_discriminator, unet_generator
    from kerasgan.training import train_gan

    keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    cluster = cluster_from_environment()
    if args.batch_size % cluster.num_workers:
        raise ValueError(
            f"--batch-size {args.batch_size} must be divisible by the {cluster.num_workers} workers"
        )
    # Each worker's pipeline yields *global* batches of its own files; tf.distribute rebatches
    # them to global / replicas per replica, so every step a worker consumes its share.
    per_worker_step = args.batch_size // cluster.num_workers
    out = pathlib.Path(args.out)
    if not cluster.is_chief:
        # Every worker runs the same saving code (collectives need it); only the chief's is kept.
        out = out / "workers" / f"worker_{cluster.worker_index}"

    if cluster.is_chief:
        check_run_settings(out, settings)
    files_per_worker = math.ceil(len(conditions) / cluster.num_workers)
    steps_per_epoch = max(1, math.ceil(files_per_worker / per_worker_step))

    def dataset_for(epoch, num_shards=1, shard_index=0, batch_size=args.batch_size):
        return paired_image_dataset(
            args.data, args.target_dir, image_size=args.image_size, batch_size=batch_size,
            shuffle=not args.no_shuffle, jitter=not args.no_jitter, direction=args.direction,
            seed=args.seed * 100003 + epoch, num_shards=num_shards, shard_index=shard_index,
        )

    def epochs_stream(first_epoch, num_shards=1, shard_index=0, batch_size=args.batch_size):
        # Element-level, so each epoch holds exactly steps x (this worker's share of a step)
        # pairs (a short last batch is topped up from the start of that epoch's order), and a
        # resumed run starts at the first batch of its epoch.
        parts = [
            dataset_for(epoch, num_shards, shard_index).unbatch().repeat()
            .take(steps_per_epoch * per_worker_step)
            for epoch in range(first_epoch, args.epochs)
        ]
        data = parts[0]
        for part in parts[1:]:
            data = data.concatenate(part)
        return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def all_epochs(first_epoch):
        if cluster.replicas == 1:
            return epochs_stream(first_epoch)

        # Several replicas: each worker reads its own file shard, batched per replica.
        def per_worker(context):
            return epochs_stream(first_epoch, context.num_input_pipelines, context.input_pipeline_id,
                                 context.get_per_replica_batch_size(args.batch_size))

        return cluster.strategy.distribute_datasets_from_function(per_worker)

    validation = None
    if args.val_data:
        validation = paired_image_dataset(args.val_data, image_size=args.image_size,
                                          batch_size=args.batch_size, shuffle=False, jitter=False,
                                          direction=args.direction)
    samples = next(iter(paired_image_dataset(
        args.val_data or args.data, None if args.val_data else args.target_dir,
        image_size=args.image_size, batch_size=args.samples, shuffle=False, jitter=False,
        direction=args.direction).take(1)))

    with cluster.strategy.scope():
        size = (args.image_size, args.image_size)
        generator = unet_generator((*size, condition_channels), target_channels, filters=args.filters,
                                   norm=args.norm, upsampling=args.upsampling)
        discriminator = patch_discriminator((*size, condition_channels + target_channels),
                                            filters=args.filters, norm=args.norm)
        model = Pix2Pix(generator, discriminator, gan_loss=args.gan_loss, l1_weight=args.l1_weight)
        def optimizer():
            if args.optimizer == "sgd":
                return keras.optimizers.SGD(args.learning_rate)
            return keras.optimizers.Adam(args.learning_rate, beta_1=0.5)

        model.compile(
            generator_optimizer=optimizer(),
            discriminator_optimizer=optimizer(),
            jit_compile=bool(args.jit_compile),
        )
    print(f"pix2pix: {len(conditions)} pairs ({layout}), {cluster.num_workers} worker(s), "
          f"{cluster.replicas} replica(s), {steps_per_epoch} steps/epoch -> {out}")
    train_gan(
        model, all_epochs, out, args.epochs, validation_data=validation,
        sample_conditions=np.asarray(samples[0]), sample_targets=np.asarray(samples[1]),
        monitor="val_l1" if validation is not None else None, steps_per_epoch=steps_per_epoch,
        tensorboard_dir=tensorboard_dir(args, out),
    )
    return 0


def _configure_generate(parser):
    parser.add_argument("model", help="a run folder (uses generator.keras) or a .keras generator file")
    parser.add_argument("--data", required=True, help="folder of condition images")
    parser.add_argument("--out", required=True, help="output folder (not inside --data)")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--backend", choices=("auto", "keras", "onnx"), default="auto",
                        help="auto: ONNX Runtime when installed (faster on CPU), else a tf.function")
    parser.add_argument("--inference", choices=("deterministic", "reference"), default="deterministic",
                        help="deterministic: dropout off, moving statistics; reference: as pix2pix's "
                             "test.py (dropout on, per-image batch statistics, nothing written)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")


def _run_generate(args):
    from kerasgan._paths import UsageError, check_new_files, check_output_folder
    from kerasgan.data.image_io import image_info, list_images

    model_path = pathlib.Path(args.model)
    if model_path.is_dir():
        model_path = model_path / "generator.keras"
    if not model_path.is_file():
        raise FileNotFoundError(f"no generator at '{model_path}' (expected a .keras file or a run folder)")
    files = list_images(args.data)
    if not files:
        raise UsageError(f"no images (.png .jpg .jpeg .tif .tiff .bmp) in --data '{args.data}'")
    out = check_output_folder(args.out, {"--data": args.data, "model": model_path})
    outputs = check_new_files(out, [f"{path.stem}.png" for path in files], overwrite=args.overwrite,
                              sources=files)
    file_channels = [image_info(path)[2] for path in files]

    import keras
    import numpy as np
    from tqdm import tqdm

    from kerasgan.data.image_io import read_image, write_image
    from kerasgan.export import BulkGenerator
    from kerasgan.transforms import resize, to_minus_one_one, to_uint8

    try:
        from kerasgan.serialization import load_keras_model
        generator = load_keras_model(model_path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds for a bad file
        raise ValueError(f"cannot load the generator '{model_path}': "
                         f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from error
    height, width, channels = generator.input_shape[1:]
    for path, have in zip(files, file_channels):
        if have != channels and not (channels == 3 and have == 1):
            raise UsageError(f"'{path}' is a colour image but the generator '{model_path}' takes "
                             f"{channels}-channel (grey) conditions")
    bulk = BulkGenerator(generator, backend=args.backend, batch_size=args.batch_size, progress=False,
                         inference=args.inference)
    out.mkdir(parents=True, exist_ok=True)
    for start in tqdm(range(0, len(files), args.batch_size), desc="generating", unit="batch"):
        batch_files = files[start:start + args.batch_size]
        batch = np.stack([to_minus_one_one(resize(read_image(f, channels), (height, width)),
                                           f"image file '{f}'") for f in batch_files])
        for path, target, image in zip(batch_files, outputs[start:start + args.batch_size], bulk(batch)):
            write_image(target, to_uint8(image, f"the generator's output for '{path}'"))
    print(f"wrote {len(files)} images to {out}")
    return 0
