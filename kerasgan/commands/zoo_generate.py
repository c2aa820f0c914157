"""`kerasgan generate glomeruli` and `kerasgan generate medisingan`: every zoo entry from the CLI.

    kerasgan generate glomeruli --count 16 --out out/glomeruli          # the zoo model
    kerasgan generate glomeruli runs/glom --data my_pairs --out out/g   # a run folder, your masks
    kerasgan generate medisingan --count 16 --start-scale 1 --out out/medisingan

Both write the layout of the other generate commands: NAME_000.png, NAME_001.png, ... (plus
the conditions each image was drawn from), a contact_sheet.png of everything written and a
manifest.json listing per image its file, seed and condition. Arguments, paths and the files
that would be replaced are checked before TensorFlow is imported, so a mistake fails at once.
"""

import json
import pathlib

from kerasgan._args import non_negative_int, positive_int


def register(registry):
    registry.add("generate", "glomeruli", _configure_glomeruli, _run_glomeruli,
                 help="tissue images from nucleus masks + structure maps (mode-seeking pix2pix)")
    registry.add("generate", "medisingan", _configure_medisingan, _run_medisingan,
                 help="random samples of the MediSinGAN zoo entry or a SinGAN run folder")


# ----------------------------------------------------------------------------- shared
def _add_model_arguments(parser, run_help):
    parser.add_argument("run_folder", nargs="?", default=None, metavar="RUN", help=run_help)
    parser.add_argument("--zoo", action="store_true", help="use the zoo entry (the default without RUN)")
    parser.add_argument("--count", type=positive_int, default=16)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", required=True, help="output folder (PNGs, contact_sheet.png, manifest.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files in --out")


def _check_model_argument(args):
    from kerasgan._paths import UsageError

    if args.zoo and args.run_folder is not None:
        raise UsageError(f"give RUN '{args.run_folder}' or --zoo, not both")
    if args.run_folder is not None and not pathlib.Path(args.run_folder).exists():
        raise FileNotFoundError(f"RUN '{args.run_folder}' does not exist (a training run folder; or pass --zoo)")


def contact_sheet(rows, path, columns=None):
    """Tile per-item panels (a list of lists of uint8 H x W [x C] images) into one PNG.

    Each item's panels sit side by side; items fill a grid of `columns` (default about square).
    scikit-image's `montage` does the tiling (white 2 px gaps).
    """
    import math

    import numpy as np
    from skimage.util import montage

    from kerasgan.data.image_io import write_image

    def rgb(image):
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]

    items = [np.concatenate([rgb(panel) for panel in panels], axis=1) for panels in rows]
    columns = columns or max(1, math.ceil(math.sqrt(len(items) / max(1, len(rows[0])))))
    grid = (math.ceil(len(items) / columns), columns)
    sheet = montage(np.stack(items), fill=(255, 255, 255), grid_shape=grid, padding_width=2, channel_axis=-1)
    write_image(path, sheet.astype(np.uint8))
    return path


def _write_manifest(out, manifest):
    from kerasgan.data.image_io import atomic_write_bytes

    atomic_write_bytes(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())


def _to_uint8(image):
    import numpy as np

    return np.round((np.clip(np.asarray(image, np.float32), -1, 1) + 1) * 127.5).astype(np.uint8)


# ----------------------------------------------------------------------------- glomeruli
def _configure_glomeruli(parser):
    _add_model_arguments(parser, "a `kerasgan train glomeruli` run folder (its generator.keras) or a "
                                 ".keras generator; default: the zoo entry")
    parser.add_argument("--data", default=None,
                        help="folder with images/ and masks/ to take the conditions from; default: "
                             "held-out patches of the shipped IHC image (REAL colon tissue)")


def glomeruli_file_names(count):
    names = [f"{kind}_{i:03d}.png" for i in range(count) for kind in ("glomeruli", "mask", "structure")]
    return names + ["contact_sheet.png", "manifest.json"]


def _run_glomeruli(args):
    from kerasgan._paths import check_new_files, check_output_folder

    _check_model_argument(args)
    if args.data is not None and not pathlib.Path(args.data).is_dir():
        raise FileNotFoundError(f"--data '{args.data}' is not a folder (expected images/ and masks/ in it)")
    out = check_output_folder(args.out, {"RUN": args.run_folder, "--data": args.data})
    check_new_files(out, glomeruli_file_names(args.count), overwrite=args.overwrite)

    import numpy as np

    import kerasgan  # noqa: F401  (oneDNN before TensorFlow)
    from kerasgan.glomeruli import data

    generator, model_name, threshold = _load_glomeruli_generator(args.run_folder)
    size = int(generator.input_shape[1])
    if args.data is None:
        patches = data.ihc_patches(size, args.count, "test", seed=args.seed)
        source = data.SHIPPED_DATA_DESCRIPTION
        picked = np.arange(args.count)
    else:
        patches = data.load_paired_folder(args.data, image_size=size, progress=False)
        source = f"{len(patches)} pairs from '{args.data}'"
        # Pairs in a seeded random order, cycled when --count is larger than the folder.
        order = np.random.default_rng(args.seed).permutation(len(patches))
        picked = order[np.arange(args.count) % len(patches)]
    if threshold is None:  # a run made before runs recorded their structure threshold
        import sys

        print(f"note: '{args.run_folder}' records no structure threshold (preprocessing.json); "
              "structure maps use the conditions' own (the IHC image's Otsu, or with --data the "
              "folder's pooled Otsu)", file=sys.stderr)
    else:  # the model's own threshold (zoo card / run folder), as its training maps were cut
        patches = data.with_structure_threshold(patches, threshold)
    conditions = patches.conditions(True)[picked]
    if conditions.shape[-1] != generator.input_shape[-1]:
        raise ValueError(f"the generator takes {generator.input_shape[-1]} condition channels, the "
                         f"conditions have {conditions.shape[-1]} (mask + structure map)")
    images = np.asarray(generator.predict(conditions, batch_size=16, verbose=0))
    out.mkdir(parents=True, exist_ok=True)
    from kerasgan.data.image_io import write_image

    rows, items = [], []
    for i, (condition, image) in enumerate(zip(conditions, images)):
        mask, structure, tissue = _to_uint8(condition[..., :1]), _to_uint8(condition[..., 1:2]), _to_uint8(image)
        write_image(out / f"glomeruli_{i:03d}.png", tissue)
        write_image(out / f"mask_{i:03d}.png", mask)
        write_image(out / f"structure_{i:03d}.png", structure)
        rows.append([mask, structure, tissue])
        items.append({"file": f"glomeruli_{i:03d}.png", "seed": args.seed,
                      "condition": {"mask": f"mask_{i:03d}.png", "structure_map": f"structure_{i:03d}.png",
                                    "source": patches.names[int(picked[i])]}})
    contact_sheet(rows, out / "contact_sheet.png")
    _write_manifest(out, {"command": "generate glomeruli", "model": model_name, "seed": args.seed,
                          "conditions_from": source, "structure_threshold": threshold,
                          "count": args.count, "images": items})
    print(f"wrote {args.count} images (glomeruli_*.png, their mask_*.png and structure_*.png), "
          f"contact_sheet.png and manifest.json to {out}")
    return 0


def _load_glomeruli_generator(run):
    """(generator, model name, structure threshold stored with the model or None)."""
    from kerasgan.glomeruli import commands as glomeruli_commands
    from kerasgan.glomeruli.data import zoo_structure_threshold

    if run is None:
        import kerasgan.zoo

        return kerasgan.zoo.load("glomeruli"), "zoo:glomeruli", zoo_structure_threshold()
    import keras

    path = pathlib.Path(run)
    if path.is_dir():
        candidates = [path / "generator.keras", path / "best_generator.keras"]
        found = [candidate for candidate in candidates if candidate.is_file()]
        if not found:
            raise FileNotFoundError(f"RUN '{run}' holds no generator.keras (is it a `kerasgan train "
                                    "glomeruli` run that finished?)")
        path = found[0]
    elif path.suffix != ".keras":
        raise ValueError(f"RUN '{run}' is neither a run folder nor a .keras generator")
    from kerasgan.serialization import load_keras_model
    model = load_keras_model(path, compile=False)
    generator = getattr(model, "generator", model)  # a saved whole GAN: take its generator
    return generator, str(path), glomeruli_commands.read_preprocessing(path.parent)


# ----------------------------------------------------------------------------- medisingan
def _configure_medisingan(parser):
    from kerasgan.medisingan.commands import _configure_generate

    # The same command as `generate singan` (RUN at any path, or --zoo), files medisingan_*.png.
    _configure_generate(parser, prefix="medisingan")


def _run_medisingan(args):
    from kerasgan.medisingan.commands import _run_generate

    return _run_generate(args)
