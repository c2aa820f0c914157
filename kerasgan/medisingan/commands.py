"""`kerasgan train singan` and `kerasgan generate singan` (MediSinGAN).

    kerasgan train singan IMAGE [IMAGE ...] --out RUN      # several inputs = stacked channels
    kerasgan train singan t1.nii.gz t2.nii.gz flair.nii.gz --names T1 T2 FLAIR --out RUN
    kerasgan train singan example:histology-nuclei --max-size 64 --out RUN
    kerasgan generate singan RUN --count 16 --start-scale 1 --out OUT   # or --zoo

Training writes a checkpoint per scale into RUN; the same command resumes an interrupted run.
"""

import pathlib

from kerasgan._args import fraction, non_negative_int, positive_int
from kerasgan._runs import add_tensorboard_argument, tensorboard_dir


def register(registry):
    registry.add("train", "singan", configure=_configure_train, run=_run_train,
                 help="train a SinGAN on one image (several files = stacked channels); resumable")
    registry.add("generate", "singan", configure=_configure_generate, run=_run_generate,
                 help="random samples of a trained SinGAN or the MediSinGAN zoo entry (PNGs, contact sheet, manifest)")
    # Every further zoo entry that is a SinGAN gets `generate NAME` (`generate medisingan` is
    # registered by kerasgan.commands.zoo_generate), the same flags and layout, files NAME_000.png.
    import functools

    for name in singan_zoo_entries():
        registry.add("generate", name, configure=functools.partial(_configure_generate, prefix=name, zoo_name=name),
                     run=_run_generate, help=f"random samples of the SinGAN zoo entry '{name}' (or a SinGAN run folder)")


SINGAN_LOADER = "kerasgan.medisingan.zoo_entry:load"


def singan_zoo_entries():
    """Names of the zoo entries (other than medisingan) loaded as a SinGAN, read from their
    card.json files (no TensorFlow); an unreadable card is left to `kerasgan zoo verify`."""
    from kerasgan import zoo

    found = []
    for name in zoo.names():
        if name == "medisingan":
            continue
        try:
            loader = zoo.metadata(name).get("loader")
        except (zoo.ZooError, OSError):
            continue
        if loader == SINGAN_LOADER:
            found.append(name)
    return found


def _configure_train(parser):
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="PNG/TIFF (8/16-bit), DICOM or NIfTI files of one size, stacked as channels "
                             "in this order; or example:NAME (see kerasgan.medisingan.examples)")
    parser.add_argument("--names", nargs="+", default=None, help="a name per IMAGE (channel layout)")
    parser.add_argument("--out", required=True, help="run folder (checkpoints; resumes if present)")
    parser.add_argument("--max-size", type=positive_int, default=250)
    parser.add_argument("--min-size", type=positive_int, default=25)
    parser.add_argument("--scale-factor", type=fraction, default=0.75)
    parser.add_argument("--iterations", type=positive_int, default=2000, help="iterations per scale")
    parser.add_argument("--filters", type=positive_int, default=32,
                        help="filters of the coarsest scales (doubling every 4 scales up to --max-filters)")
    parser.add_argument("--max-filters", type=positive_int, default=128,
                        help="widest a scale may get (the official code: 128); --max-filters 32 keeps "
                             "32 at every scale, 4-5x faster on CPU from the 5th scale")
    parser.add_argument("--slice", type=non_negative_int, default=None, help="NIfTI slice index (default middle)")
    parser.add_argument("--xla", action="store_true", help="compile the training step with XLA")
    parser.add_argument("--threads", choices=["auto", "all", "one-per-op"], default="auto",
                        help="threads per TensorFlow op: one-per-op is faster for small pyramids "
                             "(finest scale up to ~60x80 px), all for larger; auto picks by the "
                             "pyramid (TF_NUM_INTRAOP_THREADS, if set, wins)")
    parser.add_argument("--seed", type=non_negative_int, default=None)
    add_tensorboard_argument(parser)


def load_inputs(sources, names=None, slice_index=None):
    """Read and stack the CLI inputs: (image (H, W, C) in [-1, 1], layout, description)."""
    from kerasgan.medisingan import examples, io

    if names is not None and len(names) != len(sources):
        raise ValueError(f"--names has {len(names)} entries for {len(sources)} images")
    channels, descriptions = {}, []
    for index, source in enumerate(sources):
        if source.startswith("example:"):
            example, description = examples.load_example(source.split(":", 1)[1])
            channels.update(example)
            descriptions.append(description)
            continue
        path = pathlib.Path(source)
        kwargs = {"slice_index": slice_index} if slice_index is not None and io._is_nifti(path) else {}
        name = names[index] if names else path.name.split(".")[0]
        if name in channels:
            name = f"{name}_{index}"
        channels[name] = io.read_medical(path, **kwargs)
        descriptions.append(str(path))
    image, layout, _ = io.stack_channels(channels)
    return image, layout, "; ".join(descriptions)


def _check_train_arguments(args):
    """Flags and paths, before TensorFlow (a wrong path fails at once)."""
    from kerasgan._paths import UsageError, check_output_folder

    if args.scale_factor >= 1:
        raise UsageError(f"--scale-factor must be below 1 (each scale smaller), got {args.scale_factor}")
    if args.min_size > args.max_size:
        raise UsageError(f"--min-size {args.min_size} is larger than --max-size {args.max_size}")
    if args.min_size < 11:
        raise UsageError(f"--min-size {args.min_size} is below 11, the receptive field of SinGAN's critic "
                         "(five unpadded 3x3 convolutions)")
    if args.max_filters < args.filters:
        raise UsageError(f"--max-filters {args.max_filters} is below --filters {args.filters}")
    files = [source for source in args.images if not source.startswith("example:")]
    for source in files:
        if not pathlib.Path(source).exists():
            raise FileNotFoundError(f"IMAGE '{source}' does not exist")
        if pathlib.Path(source).is_dir():
            raise UsageError(f"IMAGE '{source}' is a folder; give image files")
    return check_output_folder(args.out, {"IMAGE": files}, create=True)


def _run_train(args):
    out = _check_train_arguments(args)
    image, layout, description = load_inputs(args.images, args.names, args.slice)

    import kerasgan  # oneDNN before TensorFlow
    from kerasgan.models import SinGAN
    from kerasgan.models.singan import preferred_intra_op_threads

    print(f"training image: {description} -> {image.shape[0]}x{image.shape[1]}x{image.shape[2]} "
          f"(layout {layout})", flush=True)
    threads = {"all": None, "one-per-op": 1}.get(args.threads)
    if args.threads == "auto":
        threads = preferred_intra_op_threads(*image.shape[:2], max_size=args.max_size,
                                             min_size=args.min_size, scale_factor=args.scale_factor,
                                             filters=args.filters, max_filters=args.max_filters)
    if kerasgan.set_intra_op_threads(threads):
        print("one thread per TensorFlow op (small pyramid: the cores run independent ops)", flush=True)
    model = SinGAN(max_size=args.max_size, min_size=args.min_size, scale_factor=args.scale_factor,
                   filters=args.filters, max_filters=args.max_filters, jit_compile=args.xla, seed=args.seed)
    logs = tensorboard_dir(args, out)
    model.fit(image, iterations_per_scale=args.iterations, checkpoint_dir=out, channel_layout=layout,
              tensorboard_dir=logs)
    print(f"done: {model.num_scales} scales, reconstruction RMSE {model.reconstruction_rmse():.4f}; "
          f"wrote the model (singan.json + per-scale weights) to {out}"
          + ("" if logs is None else f", TensorBoard logs to {logs}"), flush=True)
    return 0


def _configure_generate(parser, prefix="singan", zoo_name="medisingan"):
    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN",
                        help="a `kerasgan train singan` run folder or a saved SinGAN (.keras), at any path; "
                             f"default: the zoo entry {zoo_name}")
    parser.add_argument("--zoo", action="store_true", help=f"use the zoo entry {zoo_name} (the default without RUN)")
    parser.add_argument("--count", type=positive_int, default=16)
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="image i is drawn with seed SEED + i (each can be drawn again alone)")
    parser.add_argument("--out", required=True, help=f"output folder ({prefix}_000.png ..., contact_sheet.png, "
                                                      "manifest.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    parser.add_argument("--start-scale", type=non_negative_int, default=0,
                        help="scales below it follow the training image's reconstruction (the "
                             "paper: 1 for MRI, 0 for histology)")
    parser.add_argument("--size", type=positive_int, nargs=2, default=None, metavar=("HEIGHT", "WIDTH"),
                        help="finest-scale size of the samples (default: the training image's)")
    parser.set_defaults(sample_prefix=prefix, zoo_name=zoo_name)


def sample_parts(layout):
    """The PNG parts of one sample of `layout`: a group of 1 or 3 channels is one PNG, other
    channel counts are written one PNG per channel (name0, name1, ...)."""
    parts = []
    for name, channels in layout.items():
        parts += [str(name)] if int(channels) in (1, 3) else [f"{name}{c}" for c in range(int(channels))]
    return parts


def sample_file_names(count, layout, prefix="singan"):
    """The PNG names `write_samples` writes for `count` samples of `layout`: the first part of
    sample i is PREFIX_iii.png, every other part PART_iii.png (e.g. singan_000.png, mask_000.png)."""
    parts = sample_parts(layout)
    return [_part_file(prefix, index, position, part)
            for index in range(count) for position, part in enumerate(parts)]


def _part_file(prefix, index, position, part):
    return f"{prefix}_{index:03d}.png" if position == 0 else f"{part}_{index:03d}.png"


def write_samples(samples, out, layout=None, prefix="singan", overwrite=True):
    """Write samples (N, H, W, C) in [-1, 1] as PNGs (one per channel group; see
    `sample_file_names`). Returns, per sample, {part: path} in the layout's order.

    `overwrite=False` refuses (before writing anything) when one of the files exists.
    NaN/inf samples raise ValueError naming the sample.
    """
    import numpy as np

    from kerasgan._paths import check_new_files
    from kerasgan.data.image_io import write_image

    out = pathlib.Path(out)
    layout = layout or {"image": samples.shape[-1]}
    check_new_files(out, sample_file_names(samples.shape[0], layout, prefix), overwrite=overwrite)
    if not np.all(np.isfinite(samples)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(samples))[:, 0]})
        raise ValueError(f"samples {bad[:5]} hold NaN or infinite values; nothing was written")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, panels in enumerate(_sample_panels(samples, layout)):
        files = {}
        for position, (part, image) in enumerate(panels):
            path = out / _part_file(prefix, index, position, part)
            write_image(path, _to_uint8(image))
            files[part] = path
        written.append(files)
    return written


def _sample_panels(samples, layout):
    """Per sample, [(part, H x W x 1|3 image in [-1, 1]), ...] in the layout's order."""
    from kerasgan.medisingan.io import split_channels

    groups = split_channels(samples, layout)
    return [[panel for name, group in groups.items() for panel in _displayable(group[index], name)]
            for index in range(samples.shape[0])]


def _displayable(group, name):
    # PNG holds 1, 3 or 4 channels: other counts are written one channel per file.
    if group.shape[-1] in (1, 3):
        return [(name, group)]
    return [(f"{name}{c}", group[..., c:c + 1]) for c in range(group.shape[-1])]


def _to_uint8(image):
    import numpy as np

    return np.round((np.clip(image, -1, 1) + 1) * 127.5).astype(np.uint8)


def save_grid(samples, path, layout=None, columns=8):
    """A matplotlib grid of every sample: per sample a column of panels (one per channel
    group), `columns` samples per row block (more samples wrap into further row blocks)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layout = layout or {"image": samples.shape[-1]}
    per_sample = _sample_panels(samples, layout)
    names = [part for part, _ in per_sample[0]]
    columns = max(1, min(int(columns), samples.shape[0]))
    blocks = math.ceil(samples.shape[0] / columns)
    rows = blocks * len(names)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.6 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for index, panels in enumerate(per_sample):
        block, column = divmod(index, columns)
        for row, (name, panel) in enumerate(panels):
            image = (panel + 1) / 2
            axis = axes[block * len(names) + row][column]
            axis.axis("on")
            axis.imshow(image[..., 0] if image.shape[-1] == 1 else image.clip(0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(name)
    figure.tight_layout()
    from kerasgan.figures import save_figure

    return save_figure(figure, path)


def _saved_state(run):
    """singan.json of a run folder or a saved .keras archive (read without TensorFlow), or None."""
    import json
    import zipfile

    run = pathlib.Path(run)
    try:
        if run.is_dir():
            state_path = run / "singan.json"
            if not state_path.is_file():
                return None
            text, where = state_path.read_bytes(), state_path
        elif zipfile.is_zipfile(run):
            with zipfile.ZipFile(run) as archive:
                if "singan.json" not in archive.namelist():
                    return None
                text, where = archive.read("singan.json"), f"{run}:singan.json"
        else:
            raise ValueError(f"RUN '{run}' is neither a SinGAN run folder nor a saved SinGAN (.keras)")
        state = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"'{where}' is corrupt: {error}") from None
    return state if isinstance(state, dict) else None


def _run_generate(args):
    """`generate singan` and `generate medisingan`: PREFIX_000.png (+ a PNG per further channel
    group), contact_sheet.png of every sample, manifest.json (file, seed, start_scale per image)."""
    from kerasgan._paths import UsageError, check_new_files, check_output_folder

    prefix = getattr(args, "sample_prefix", "singan")
    zoo_name = getattr(args, "zoo_name", "medisingan")
    command = f"generate {prefix}"
    if args.zoo and args.run_folder is not None:
        raise UsageError(f"give RUN '{args.run_folder}' or --zoo, not both")
    if args.run_folder is not None:
        run = pathlib.Path(args.run_folder).expanduser()
        if not run.exists():
            raise FileNotFoundError(f"RUN '{args.run_folder}' does not exist (a `kerasgan train singan` run "
                                    "folder or a saved .keras SinGAN; or pass --zoo)")
    else:
        import kerasgan.zoo

        run = kerasgan.zoo._entry_folder(zoo_name)  # $KERASGAN_ZOO_PATH first, as zoo.load
    out = check_output_folder(args.out, {"RUN": str(run)})  # the zoo folder is an input too
    # Before TensorFlow: the saved state names the scales and the file names.
    state = _saved_state(run)
    scales = state.get("completed_scales") if state else None
    if isinstance(scales, int) and args.start_scale >= scales:
        raise ValueError(f"--start-scale must be below the model's {scales} scales, got {args.start_scale}")
    layout = state.get("channel_layout") if state else None
    if isinstance(layout, dict) and layout:
        check_new_files(out, sample_file_names(args.count, layout, prefix) + ["contact_sheet.png", "manifest.json"],
                        overwrite=args.overwrite)

    import numpy as np

    import kerasgan  # noqa: F401  (oneDNN before TensorFlow)
    from kerasgan.commands.zoo_generate import _write_manifest, contact_sheet

    if args.run_folder is None:
        model, model_name = kerasgan.zoo.load(zoo_name), f"zoo:{zoo_name}"
    else:
        from kerasgan.models import SinGAN

        model, model_name = SinGAN.load(run), str(args.run_folder)
    if args.start_scale >= model.num_scales:
        raise ValueError(f"--start-scale must be below the model's {model.num_scales} scales, got {args.start_scale}")
    size = tuple(args.size) if args.size else None
    # One seed per image (seed + i): each image can be drawn again alone.
    samples = np.concatenate([model.sample(1, start_scale=args.start_scale, size=size, seed=args.seed + i)
                              for i in range(args.count)])
    layout = model.channel_layout or {"image": samples.shape[-1]}
    check_new_files(out, sample_file_names(args.count, layout, prefix) + ["contact_sheet.png", "manifest.json"],
                    overwrite=args.overwrite)
    written = write_samples(samples, out, layout, prefix=prefix, overwrite=args.overwrite)
    contact_sheet([[_to_uint8(panel) for _, panel in panels] for panels in _sample_panels(samples, layout)],
                  out / "contact_sheet.png")
    condition = {"start_scale": args.start_scale, **({"size": list(size)} if size else {})}
    items = [{"file": f"{prefix}_{i:03d}.png", "seed": args.seed + i, "condition": dict(condition),
              "channels": {part: path.name for part, path in files.items()}} for i, files in enumerate(written)]
    _write_manifest(out, {"command": command, "model": model_name, "seed": args.seed,
                          "start_scale": args.start_scale, "num_scales": model.num_scales,
                          "channel_layout": layout, "count": args.count, "images": items})
    parts = sample_parts(layout)
    others = "".join(f", {part}_*.png" for part in parts[1:])
    print(f"wrote {args.count} samples ({prefix}_*.png = {parts[0]}{others}), contact_sheet.png and "
          f"manifest.json to {out} (start scale {args.start_scale} of {model.num_scales})")
    return 0
