"""`kerasgan generate karyotype`: karyograms of an ISCN karyotype, drawn by the generator.

    kerasgan generate karyotype --iscn "47,XX,+21" --count 8 --out DIR [--seed S] [--generator zoo|PATH|none]

Writes, per karyogram k: karyogram_k.png (the standard layout), karyogram_k.json (manifest:
iscn, seed, class / name / breakpoints / bbox / files of every chromosome), crops/ and
masks/ (each chromosome's image and banded mask, the generator's input), and one
contact_sheet.png. Arguments and the karyotype are checked before TensorFlow is imported.
Existing files are never overwritten without --overwrite.
"""

import json
import os
import pathlib
import time


def register(registry):
    registry.add("generate", "karyotype", _configure, _run,
                 help="karyograms (standard layout, one scale) of an ISCN karyotype, drawn by the generator")


def _configure(parser):
    parser.add_argument("--iscn", required=True, help='ISCN karyotype, e.g. "47,XX,+21" or "46,XX,t(9;22)(q34;q11.2)"')
    parser.add_argument("--count", type=int, default=1, help="number of karyograms (seeds SEED, SEED+1, ...)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generator", default="zoo",
                        help="'zoo', a .keras generator, a .npz of weights (+ --filters), or 'none' "
                             "for the SYNTHETIC renderer's own images")
    parser.add_argument("--filters", type=int, default=16, help="for a .npz generator")
    parser.add_argument("--size", type=int, default=128, help="cell size each chromosome is drawn at")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


def check_out(out, names, overwrite):
    """Refuse an --out that is a file, or (without --overwrite) one that holds any of `names`."""
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out '{out}' is a file, not a folder")
    if not overwrite:
        for name in names:
            if (out / name).exists():
                raise ValueError(f"'{out / name}' exists; pass --overwrite to replace it")
    return out


def parse_iscn(iscn):
    """The parsed karyotype (pure Python; no TensorFlow), errors naming the token."""
    from kerasgan.chromosome.iscn import karyotype

    return karyotype(iscn)


def _file_names(karyotype, count):
    names = ["contact_sheet.png"]
    for k in range(count):
        names += [f"karyogram_{k:03d}.png", f"karyogram_{k:03d}.json"]
        for i, chromosome in enumerate(karyotype.chromosomes):
            stem = _stem(k, i, chromosome.chromosome_class)
            names += [f"crops/{stem}.png", f"masks/{stem}.png"]
    return names


def _stem(k, i, chromosome_class):
    return f"karyogram_{k:03d}_{i:02d}_chr{chromosome_class}"


def _run(args):
    if args.count < 1:
        raise ValueError(f"--count must be at least 1, got {args.count}")
    if args.size < 32:
        raise ValueError(f"--size must be at least 32, got {args.size}")
    karyotype = parse_iscn(args.iscn)
    out = check_out(args.out, _file_names(karyotype, args.count), args.overwrite)

    generator = None
    if args.generator != "none":
        from kerasgan.chromosome.commands import load_generator

        generator = load_generator(args.generator, filters=args.filters, size=args.size)
    from kerasgan.chromosome.karyogram import render_karyograms
    from kerasgan.data.image_io import atomic_write_bytes, write_image

    (out / "crops").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(exist_ok=True)
    karyograms = []
    started = time.perf_counter()
    seeds = [args.seed + k for k in range(args.count)]
    for k, (seed, karyogram) in enumerate(zip(seeds, render_karyograms(karyotype, seeds, generator, size=args.size))):
        manifest = karyogram.manifest()
        manifest["generator"] = args.generator
        manifest["image"] = f"karyogram_{k:03d}.png"
        for i, (placed, entry) in enumerate(zip(karyogram.chromosomes, manifest["chromosomes"])):
            stem = _stem(k, i, placed.chromosome_class)
            write_png(out / "crops" / f"{stem}.png", placed.image)
            write_png(out / "masks" / f"{stem}.png", placed.banded_mask)
            entry["files"] = {"image": f"crops/{stem}.png", "banded_mask": f"masks/{stem}.png"}
        write_image(out / manifest["image"], karyogram.image)
        atomic_write_bytes(out / f"karyogram_{k:03d}.json", (json.dumps(manifest, indent=1) + "\n").encode())
        karyograms.append(karyogram)
        print(f"karyogram {k}: {len(karyogram.chromosomes)} chromosomes (seed {seed}) -> {out / manifest['image']}")
    seconds = time.perf_counter() - started
    print(f"generated {args.count} karyograms in {seconds:.2f} s ({args.count / seconds:.2f} karyograms/s, "
          "files included, generator load excluded)")
    sheet = karyogram_sheet([kg.image for kg in karyograms], out / "contact_sheet.png",
                            title=f"{args.iscn} ({karyograms[0].source})")
    print(f"wrote {args.count} karyograms, their crops, masks and manifests to {out}; contact sheet {sheet}")
    return 0


def write_png(path, image):
    """Write a uint8 PNG through a temporary file and a rename: a reader never sees half a file
    (no fsync per file: 95 small files per karyogram; the manifest is written with fsync)."""
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode '{path}' as PNG")
    temporary = f"{path}.partial-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(encoded.tobytes())
    os.replace(temporary, path)


def karyogram_sheet(images, path, title=None, columns=4, tile_width=360):
    """A grid of karyogram thumbnails (`tile_width` px wide, numbered) under a title, written
    to `path` as PNG. Drawn with OpenCV: matplotlib took ~3 s of a 4 s command."""
    import cv2
    import numpy as np

    columns = min(columns, len(images))
    tiles = []
    for i, image in enumerate(images):
        height = int(round(image.shape[0] * tile_width / image.shape[1]))
        tile = np.full((height + 18, tile_width), 255, np.uint8)
        tile[18:] = cv2.resize(image, (tile_width, height), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, f"karyogram {i}", (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 0, 1, cv2.LINE_AA)
        tiles.append(tile)
    tile_height = max(t.shape[0] for t in tiles)
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * tile_height + 28, columns * tile_width), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[28 + r * tile_height: 28 + r * tile_height + tile.shape[0], c * tile_width:(c + 1) * tile_width] = tile
    if title:
        cv2.putText(sheet, title, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1, cv2.LINE_AA)
    write_png(path, sheet)
    return pathlib.Path(path)
