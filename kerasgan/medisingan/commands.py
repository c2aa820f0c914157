"""`kerasgan train singan` and `kerasgan generate singan` (MediSinGAN).

    kerasgan train singan IMAGE [IMAGE ...] --out RUN      # several inputs = stacked channels
    kerasgan train singan t1.nii.gz t2.nii.gz flair.nii.gz --names T1 T2 FLAIR --out RUN
    kerasgan train singan example:histology-nuclei --max-size 64 --out RUN
    kerasgan generate singan RUN --count 16 --start-scale 1 --out OUT

Training writes a checkpoint per scale into RUN; the same command resumes an interrupted run.
"""

import pathlib

from kerasgan._args import fraction, non_negative_int, positive_int


def register(registry):
    registry.add("train", "singan", configure=_configure_train, run=_run_train,
                 help="train a SinGAN on one image (several files = stacked channels); resumable")
    registry.add("generate", "singan", configure=_configure_generate, run=_run_generate,
                 help="random samples from a trained SinGAN (PNGs + a grid)")


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
    parser.add_argument("--filters", type=positive_int, default=32)
    parser.add_argument("--slice", type=non_negative_int, default=None, help="NIfTI slice index (default middle)")
    parser.add_argument("--xla", action="store_true", help="compile the training step with XLA")
    parser.add_argument("--threads", choices=["auto", "all", "one-per-op"], default="auto",
                        help="threads per TensorFlow op: one-per-op is faster for small pyramids "
                             "(finest scale up to ~60x80 px), all for larger; auto picks by the "
                             "pyramid (TF_NUM_INTRAOP_THREADS, if set, wins)")
    parser.add_argument("--seed", type=non_negative_int, default=None)


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
                                             filters=args.filters)
    if kerasgan.set_intra_op_threads(threads):
        print("one thread per TensorFlow op (small pyramid: the cores run independent ops)", flush=True)
    model = SinGAN(max_size=args.max_size, min_size=args.min_size, scale_factor=args.scale_factor,
                   filters=args.filters, jit_compile=args.xla, seed=args.seed)
    model.fit(image, iterations_per_scale=args.iterations, checkpoint_dir=out, channel_layout=layout)
    print(f"done: {model.num_scales} scales, reconstruction RMSE {model.reconstruction_rmse():.4f}; "
          f"model in {out}", flush=True)
    return 0


def _configure_generate(parser):
    parser.add_argument("model", metavar="DIR", help="a training run folder or a saved SinGAN (.keras)")
    parser.add_argument("--count", type=positive_int, default=16)
    parser.add_argument("--start-scale", type=non_negative_int, default=0)
    parser.add_argument("--size", type=positive_int, nargs=2, default=None, metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--seed", type=non_negative_int, default=None)
    parser.add_argument("--out", required=True, help="output folder for PNGs and grid.png")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")


def sample_file_names(count, layout, prefix="sample"):
    """The PNG names `write_samples` writes for `count` samples of `layout`, and grid.png."""
    names = []
    for index in range(count):
        for name, channels in layout.items():
            parts = [name] if int(channels) in (1, 3) else [f"{name}{c}" for c in range(int(channels))]
            names += [f"{prefix}_{index:03d}_{part}.png" for part in parts]
    return [*names, "grid.png"]


def write_samples(samples, out, layout=None, prefix="sample", overwrite=True):
    """Write samples (N, H, W, C) in [-1, 1] as PNGs (one per channel group) and grid.png.

    `overwrite=False` refuses (before writing anything) when one of the files exists.
    NaN/inf samples raise ValueError naming the sample.
    """
    import numpy as np

    from kerasgan._paths import check_new_files
    from kerasgan.data.image_io import write_image
    from kerasgan.medisingan.io import split_channels

    out = pathlib.Path(out)
    layout = layout or {"image": samples.shape[-1]}
    check_new_files(out, sample_file_names(samples.shape[0], layout, prefix), overwrite=overwrite)
    if not np.all(np.isfinite(samples)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(samples))[:, 0]})
        raise ValueError(f"samples {bad[:5]} hold NaN or infinite values; nothing was written")
    out.mkdir(parents=True, exist_ok=True)
    groups = split_channels(samples, layout)
    written = []
    for index in range(samples.shape[0]):
        for name, group in groups.items():
            for part, image in _displayable(group[index], name):
                path = out / f"{prefix}_{index:03d}_{part}.png"
                write_image(path, _to_uint8(image))
                written.append(path)
    save_grid(samples, out / "grid.png", layout)
    return written


def _displayable(group, name):
    # PNG holds 1, 3 or 4 channels: other counts are written one channel per file.
    if group.shape[-1] in (1, 3):
        return [(name, group)]
    return [(f"{name}{c}", group[..., c:c + 1]) for c in range(group.shape[-1])]


def _to_uint8(image):
    import numpy as np

    return np.round((np.clip(image, -1, 1) + 1) * 127.5).astype(np.uint8)


def save_grid(samples, path, layout=None, columns=8):
    """A matplotlib grid: a row of panels per channel group, one column per sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasgan.medisingan.io import split_channels

    layout = layout or {"image": samples.shape[-1]}
    panels = []
    for name, group in split_channels(samples, layout).items():
        if group.shape[-1] in (1, 3):
            panels.append((name, group))
        else:
            panels.extend((f"{name}{c}", group[..., c:c + 1]) for c in range(group.shape[-1]))
    count = min(samples.shape[0], columns)
    figure, axes = plt.subplots(len(panels), count, figsize=(1.6 * count, 1.6 * len(panels)), squeeze=False)
    for row, (name, group) in enumerate(panels):
        for column in range(count):
            image = (group[column] + 1) / 2
            axis = axes[row][column]
            axis.imshow(image[..., 0] if image.shape[-1] == 1 else image.clip(0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(name)
    figure.tight_layout()
    from kerasgan.figures import save_figure

    return save_figure(figure, path)


def _run_generate(args):
    import json

    from kerasgan._paths import check_new_files, check_output_folder

    model = pathlib.Path(args.model)
    if not model.exists():
        raise FileNotFoundError(f"no SinGAN at '{model}' (a training run folder or a saved .keras file)")
    out = check_output_folder(args.out, {"DIR": args.model})
    state = model / "singan.json"
    if state.is_file():  # the file names are known before TensorFlow: refuse an overwrite at once
        try:
            layout = json.loads(state.read_text()).get("channel_layout")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
            raise ValueError(f"'{state}' is corrupt: {error}") from None
        if isinstance(layout, dict) and layout:
            check_new_files(out, sample_file_names(args.count, layout), overwrite=args.overwrite)

    import kerasgan  # noqa: F401
    from kerasgan.models import SinGAN

    model = SinGAN.load(args.model)
    samples = model.sample(args.count, start_scale=args.start_scale,
                           size=tuple(args.size) if args.size else None, seed=args.seed)
    written = write_samples(samples, args.out, model.channel_layout, overwrite=args.overwrite)
    print(f"wrote {len(written)} PNGs and grid.png to {args.out} "
          f"({args.count} samples, start scale {args.start_scale} of {model.num_scales})")
    return 0
