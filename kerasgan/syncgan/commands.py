"""`kerasgan` commands of SynCGAN: train, generate, augment-study.

    kerasgan train syncgan --data ROOT --image-size 256 --out run/syncgan.keras
    kerasgan generate syncgan run/syncgan.keras --class malignant --count 90 --out synth/
    kerasgan generate syncgan --zoo --count 4 --out synth/     # every class, cycled
    kerasgan augment-study syncgan --data ROOT --out study/

ROOT holds one subfolder per class (ROOT/benign/*.png, ROOT/malignant/*.png). `--synthetic N`
instead of `--data` uses the SYNTHETIC renderer (N images per class).

Arguments and paths are checked before TensorFlow is imported. `train syncgan` is not
resumable: a killed run starts again from epoch 0 (its --out is refused unless the settings
match; existing files are replaced only with --overwrite).
"""

from kerasgan._args import non_negative_int, positive_int
from kerasgan._runs import add_tensorboard_argument, tensorboard_dir


def _probability(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"a number in [0, 1) expected, got {text!r}")
    return value


def _add_data_arguments(parser, image_size):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="folder with one subfolder of images per class")
    source.add_argument("--synthetic", type=positive_int, metavar="N",
                        help="use N SYNTHETIC rendered images per class (benign/malignant) instead")
    parser.add_argument("--image-size", type=positive_int, default=image_size, help="side images are resized to")
    parser.add_argument("--seed", type=non_negative_int, default=0)


def _add_model_arguments(parser):
    parser.add_argument("--filters", type=positive_int, default=64, help="U-Net/PatchGAN base filters")
    parser.add_argument("--noise-channels", type=positive_int, default=4, help="channels of the mask GANs' noise map")
    parser.add_argument("--flip-probability", type=_probability, default=0.05,
                        help="label-flip probability of the mask GANs' discriminators")
    parser.add_argument("--batch-size", type=positive_int, default=8)


def _load_data(args):
    if args.data:
        from kerasgan.syncgan.folders import load_image_folders

        images, labels, classes, _ = load_image_folders(args.data, args.image_size)
    else:
        from kerasgan.syncgan.renderer import CLASS_NAMES, render_cytology

        images, _, labels = render_cytology(args.synthetic, args.image_size, seed=args.seed)
        classes = list(CLASS_NAMES)
    print(f"{len(images)} images, classes {classes}: "
          + ", ".join(f"{name} {int((labels == i).sum())}" for i, name in enumerate(classes)))
    return images, labels, classes


# ------------------------------------------------------------------ train
def _configure_train(parser):
    _add_data_arguments(parser, 256)
    _add_model_arguments(parser)
    parser.add_argument("--mask-epochs", type=non_negative_int, default=1600,
                        help="epochs of each mask GAN (paper: 1600)")
    parser.add_argument("--cgan-epochs", type=non_negative_int, default=200,
                        help="epochs of the conditional GAN (paper: 200)")
    parser.add_argument("--cgan-selection", choices=("generator-loss", "patch-frechet", "last"),
                        default="generator-loss",
                        help="which epoch's conditional generator is kept: lowest validation generator "
                             "loss (paper, default), lowest validation 7x7 patch Frechet distance to the "
                             "validation images (the zoo entry's), or the last")
    parser.add_argument("--out", required=True,
                        help="output: a .keras file or a folder. NOT resumable: a killed run starts "
                             "again from epoch 0 (run the same command with --overwrite)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the files of an earlier run of the same settings in --out")
    parser.set_defaults(interrupted_hint="interrupted; train syncgan is not resumable: run the same "
                                         "command again with --overwrite to start over")
    parser.add_argument("--strict-masks", action="store_true",
                        help="stop if an unsupervised nucleus mask is implausible (near empty / near full) "
                             "instead of warning")
    add_tensorboard_argument(parser)


def _run_folder(out):
    """Folder of the run's side files: the --out folder, or the folder of a .keras/.zip file."""
    import pathlib

    out = pathlib.Path(out)
    return out.parent if out.suffix in (".keras", ".zip") else out


def unsupervised_masks_with_report(images, run_folder, strict=False, overlay_count=8, **mask_options):
    """Section 3.2 masks of the (resized) images, printed sanity report, overlay figure.

    Prints `format_mask_report` (foreground fraction, nucleus count and size per image, the
    choices made), warnings as `kerasgan: warning: ...` lines, and writes
    run_folder/masks_overlay.png (the first `overlay_count` images with the masks' outlines)
    and run_folder/masks_report.json. Returns the masks (N, S, S, 1).
    """
    import json
    import pathlib
    import warnings

    from kerasgan.data.image_io import write_image
    from kerasgan.syncgan.masks import format_mask_report, mask_report, nucleus_masks, overlay_masks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        masks, details = nucleus_masks(images, strict=strict, return_details=True, **mask_options)
    report = mask_report(masks)
    print(format_mask_report(report, details))
    for warning in caught:
        print(f"kerasgan: warning: {warning.message}")
    folder = pathlib.Path(run_folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_image(folder / "masks_overlay.png", overlay_masks(images, masks, count=overlay_count))
    (folder / "masks_report.json").write_text(json.dumps(
        [dict(row, **choices) for row, choices in zip(report, details)], indent=1, default=str) + "\n")
    print(f"wrote {folder / 'masks_overlay.png'} (masks on the first {min(overlay_count, len(images))} images) "
          f"and {folder / 'masks_report.json'}")
    return masks


def _check_train(args):
    """Paths and settings of `train syncgan`, checked before TensorFlow is imported: --out may
    not be, hold or lie in --data; a folder of another run's settings is refused in one line;
    no file is replaced without --overwrite. Returns the run folder."""
    import pathlib

    from kerasgan._paths import check_new_files, check_output_folder
    from kerasgan._runs import check_run_settings, files_fingerprint

    if args.data is not None and not pathlib.Path(args.data).is_dir():
        raise FileNotFoundError(f"--data '{args.data}' is not a folder (one subfolder of images per class)")
    out = pathlib.Path(args.out)
    if out.suffix in (".keras", ".zip") and out.is_dir():
        raise ValueError(f"--out '{out}' is a folder; a .keras/.zip output must be a file")
    folder = check_output_folder(_run_folder(out), {"--data": args.data}, create=True)
    if args.data is not None:
        data = pathlib.Path(args.data).resolve()
        source = {"--data": str(data),
                  "data files": files_fingerprint([p for p in data.rglob("*") if p.is_file()])}
    else:
        source = {"--synthetic": args.synthetic}
    model_files = [out.name] if out.suffix in (".keras", ".zip") else ["syncgan.json", "cgan.keras"]
    existing = [name for name in model_files + ["masks_overlay.png", "masks_report.json"]
                if (folder / name).exists()]
    check_run_settings(folder, {
        **source, "--image-size": args.image_size, "--seed": args.seed, "--filters": args.filters,
        "--noise-channels": args.noise_channels, "--flip-probability": args.flip_probability,
        "--batch-size": args.batch_size, "--strict-masks": args.strict_masks,
        # Recorded when not the default, so a folder from before the flag still matches.
        **({} if args.cgan_selection == "generator-loss" else {"--cgan-selection": args.cgan_selection}),
    }, file_name=f"{out.name}.run_settings.json" if out.suffix in (".keras", ".zip") else "run_settings.json")
    check_new_files(folder, existing, overwrite=args.overwrite)
    return folder


def _run_train(args):
    import time

    _check_train(args)
    print("train syncgan is not resumable: if this run is killed, run the same command again "
          "with --overwrite; it starts again from epoch 0", flush=True)

    from kerasgan.syncgan.folders import prepare_images
    from kerasgan.syncgan.pipeline import SynCGAN

    images, labels, classes = _load_data(args)
    pipeline = SynCGAN(
        classes=classes, image_size=args.image_size, filters=args.filters,
        noise_channels=args.noise_channels, flip_probability=args.flip_probability, seed=args.seed,
    )
    # The masks the pipeline would compute, made here so the user sees them before training.
    images = prepare_images(images, args.image_size)
    masks = unsupervised_masks_with_report(images, _run_folder(args.out), strict=args.strict_masks,
                                           **pipeline.config["mask_options"])
    started = time.perf_counter()
    logs = tensorboard_dir(args, _run_folder(args.out))
    pipeline.fit(images, labels, masks=masks, mask_epochs=args.mask_epochs, cgan_epochs=args.cgan_epochs,
                 batch_size=args.batch_size, tensorboard_dir=logs,
                 cgan_selection=args.cgan_selection.replace("-", "_"))
    pipeline.history["wall_seconds"] = round(time.perf_counter() - started, 1)
    path = pipeline.save(args.out)
    print(f"wrote SynCGAN to {path} ({pipeline.history['wall_seconds']} s of training)"
          + ("" if logs is None else f", TensorBoard logs to {logs}"))
    return 0


# ------------------------------------------------------------------ generate
def _configure_generate(parser):
    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN",
                        help="a pipeline saved by `kerasgan train syncgan` (.keras file or folder); "
                             "default: the zoo entry")
    parser.add_argument("--model", default=None, help="the same as RUN (kept for older scripts)")
    parser.add_argument("--zoo", action="store_true", help="use the zoo entry 'syncgan' (the default without RUN)")
    parser.add_argument("--class", dest="class_name", default=None,
                        help="class to generate; default: every class of the model, images cycled over "
                             "the classes in order")
    parser.add_argument("--count", type=positive_int, default=16)
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="image i is drawn with seed SEED + i (each can be drawn again alone)")
    parser.add_argument("--out", required=True,
                        help="output folder (syncgan_000.png + mask_000.png ..., contact_sheet.png, manifest.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")


def generate_file_names(count):
    names = [f"{kind}_{index:03d}.png" for index in range(count) for kind in ("syncgan", "mask")]
    return names + ["contact_sheet.png", "manifest.json"]


def _saved_classes(path):
    """The class names a saved pipeline (folder or .keras/.zip) records, read without
    TensorFlow; None when they cannot be read here (the loader then names the problem)."""
    import json
    import pathlib
    import zipfile

    path = pathlib.Path(path)
    try:
        if path.is_dir():
            text = (path / "syncgan.json").read_text()
        else:
            with zipfile.ZipFile(path) as archive:
                text = archive.read("syncgan.json").decode()
        classes = json.loads(text)["config"]["classes"]
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return None
    return [str(name) for name in classes] if isinstance(classes, list) and classes else None


def _check_generate(args):
    """Model, classes and paths, before TensorFlow is imported: RUN/--model must exist, --class
    must be one of the model's classes, --out may not be, hold or lie in the model, and no
    existing file is replaced without --overwrite. Returns (out, model path or None, flag, classes)."""
    import pathlib

    from kerasgan._paths import UsageError, check_new_files, check_output_folder

    if args.run_folder is not None and args.model is not None:
        raise UsageError(f"give RUN '{args.run_folder}' or --model '{args.model}', not both")
    flag, model = ("RUN", args.run_folder) if args.run_folder is not None else ("--model", args.model)
    if args.zoo and model is not None:
        raise UsageError(f"give {flag} '{model}' or --zoo, not both")
    if model is not None and not pathlib.Path(model).exists():
        raise FileNotFoundError(f"{flag} '{model}' does not exist (a pipeline saved by `kerasgan train "
                                "syncgan`; or pass --zoo)")
    if model is None:
        from kerasgan import zoo

        classes = [str(name) for name in zoo.metadata("syncgan")["syncgan_config"]["classes"]]
        inputs = {"--zoo": str(zoo._entry_folder("syncgan"))}
    else:
        classes = _saved_classes(model)
        inputs = {flag: model}
    if args.class_name is not None and classes is not None and args.class_name not in classes:
        raise UsageError(f"--class {args.class_name!r} is not a class of the model; classes are {classes}")
    out = check_output_folder(args.out, inputs)
    check_new_files(out, generate_file_names(args.count), overwrite=args.overwrite)
    return out, model, classes


def _run_generate(args):
    import numpy as np

    out, model, _ = _check_generate(args)
    from kerasgan.commands.zoo_generate import _write_manifest, contact_sheet
    from kerasgan.data.image_io import write_image

    if model is None:
        from kerasgan import zoo

        pipeline, model_name = zoo.load("syncgan"), "zoo:syncgan"
    else:
        from kerasgan.syncgan.pipeline import SynCGAN

        pipeline, model_name = SynCGAN.load(model), str(model)
    classes = [args.class_name] if args.class_name is not None else pipeline.classes
    out.mkdir(parents=True, exist_ok=True)
    # Image i: class classes[i % len(classes)], its mask GAN's noise from seed SEED + i, so
    # `pipeline.generate(class, 1, seed=SEED + i)` draws it again alone.
    drawn = [classes[index % len(classes)] for index in range(args.count)]
    masks = np.concatenate([pipeline.generate_masks(name, 1, seed=args.seed + index)
                            for index, name in enumerate(drawn)])
    images = pipeline.images_from_masks(masks)
    rows, items = [], []
    for index, (image, mask, name) in enumerate(zip(images, masks, drawn)):
        mask = (mask * 255).astype(np.uint8)
        write_image(out / f"syncgan_{index:03d}.png", image)
        write_image(out / f"mask_{index:03d}.png", mask)
        rows.append([image, mask])
        items.append({"file": f"syncgan_{index:03d}.png", "seed": args.seed + index, "class": name,
                      "condition": {"class": name, "mask": f"mask_{index:03d}.png"}})
    contact_sheet(rows, out / "contact_sheet.png")
    _write_manifest(out, {"command": "generate syncgan", "model": model_name, "seed": args.seed,
                          "classes": classes, "count": args.count, "images": items})
    counts = ", ".join(f"{drawn.count(name)} {name}" for name in classes)
    print(f"wrote {args.count} SYNTHETIC image/mask pairs ({counts}: syncgan_*.png, their mask_*.png), "
          f"contact_sheet.png and manifest.json to {out}")
    return 0


# ------------------------------------------------------------------ augment-study
def _configure_study(parser):
    _add_data_arguments(parser, 64)
    _add_model_arguments(parser)
    parser.set_defaults(filters=16)
    parser.add_argument("--classifier", action="append", dest="classifiers",
                        help="small_cnn (default), resnet152, densenet121, densenet169, densenet201, "
                             "inceptionv3; repeat for several")
    parser.add_argument("--weights", action="append", default=[], metavar="CLASSIFIER=PATH",
                        help="local ImageNet no-top weights file of a keras.applications classifier")
    parser.add_argument("--seeds", type=positive_int, default=3, help="number of seeds (splits)")
    parser.add_argument("--mask-epochs", type=non_negative_int, default=60)
    parser.add_argument("--cgan-epochs", type=non_negative_int, default=30)
    parser.add_argument("--gan-epochs", type=non_negative_int, default=None,
                        help="plain-GAN control (default: mask epochs)")
    parser.add_argument("--classifier-epochs", type=positive_int, default=25)
    parser.add_argument("--synthetic-ratio", type=positive_int, default=2, help="synthetic : real training images")
    parser.add_argument("--no-control", action="store_true", help="skip the Table 3 plain-GAN control")
    parser.add_argument("--out", default="syncgan_study", help="folder for study.json/.md/.png")
    parser.add_argument("--overwrite", action="store_true", help="replace study.json/.md/.png in --out")


def _run_study(args):
    import pathlib

    from kerasgan._paths import check_new_files, check_output_folder

    if args.data is not None and not pathlib.Path(args.data).is_dir():
        raise FileNotFoundError(f"--data '{args.data}' is not a folder (one subfolder of images per class)")
    # Checked before TensorFlow is imported: --out may not be, hold or lie in --data, and an
    # earlier study's files are replaced only with --overwrite.
    out = check_output_folder(args.out, {"--data": args.data}, create=True)
    check_new_files(out, ["study.json", "study.md", "study.png"], overwrite=args.overwrite)
    from kerasgan.syncgan.study import format_table, run_study

    images, labels, classes = _load_data(args)
    weights = {}
    for item in args.weights:
        name, separator, path = item.partition("=")
        if not separator:
            raise ValueError(f"--weights takes CLASSIFIER=PATH, got {item!r}")
        weights[name] = path
    results = run_study(
        images, labels, classes, classifiers=tuple(args.classifiers or ("small_cnn",)),
        seeds=tuple(range(args.seed, args.seed + args.seeds)), image_size=args.image_size,
        synthetic_ratio=args.synthetic_ratio, control=not args.no_control,
        syncgan_options={"filters": args.filters, "noise_channels": args.noise_channels,
                         "flip_probability": args.flip_probability, "batch_size": args.batch_size},
        mask_epochs=args.mask_epochs, cgan_epochs=args.cgan_epochs, gan_epochs=args.gan_epochs,
        classifier_epochs=args.classifier_epochs, classifier_weights=weights, out_dir=args.out,
    )
    print(format_table(results))
    print(f"wrote {args.out}/study.json, study.md, study.png ({results['timing']['total_seconds']} s)")
    return 0


def register(registry):
    registry.add("train", "syncgan", configure=_configure_train, run=_run_train,
                 help="SynCGAN: unsupervised masks, class mask GANs and the mask -> image CGAN "
                      "(not resumable: a killed run starts again)")
    registry.add("generate", "syncgan", configure=_configure_generate, run=_run_generate,
                 help="SynCGAN: synthetic (image, mask) pairs of one class or of every class")
    registry.add("augment-study", "syncgan", configure=_configure_study, run=_run_study,
                 help="SynCGAN: classifier accuracy on Orig / +Prop / +Trad / +Trad+Prop (Tables 2, 3)")
