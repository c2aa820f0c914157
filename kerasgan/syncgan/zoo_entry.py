"""Zoo entry "syncgan": export a trained pipeline to float16 npz files, and load it back.

    kerasgan.zoo.load("syncgan")            # -> a ready SynCGAN pipeline (generate / fit)
    python -m kerasgan.syncgan.zoo_entry RUN/syncgan.keras zoo/syncgan   # export + seal

card.json keeps the pipeline's configuration under "syncgan_config"; each network has its own
`<network>.weights.npz` (generators and discriminators, so the pipeline can be fine-tuned).
"""

import json
import pathlib
import sys

import numpy as np


def export(pipeline, folder):
    """Write every network of `pipeline` as float16 npz into `folder` and record its config."""
    from kerasgan import zoo
    from kerasgan.serialization import save_weights_npz

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for stem, model in pipeline.networks().items():
        name = f"{stem}.weights.npz"
        save_weights_npz(model, folder / name, dtype="float16")
        files.append(name)
    card_path = folder / zoo.CARD_FILE
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card.update({
        "name": card.get("name", "syncgan"),
        "title": card.get("title", "SynCGAN: class-specific mask GANs + mask-to-cytology conditional GAN"),
        "paper": card.get("paper", "Dey et al., SynCGAN: Using learnable class specific priors to "
                                   "generate synthetic data for improving classifier performance "
                                   "on cytological images"),
        "loader": "kerasgan.syncgan.zoo_entry:load",
        "syncgan_config": pipeline.config,
        "files": {name: "" for name in files},
    })
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return zoo.seal(folder, files)


def load(folder, card, compile=True):
    """Build the SynCGAN of `card["syncgan_config"]` and load its weights from `folder`."""
    from kerasgan.serialization import load_weights_npz
    from kerasgan.syncgan.pipeline import SynCGAN

    if "syncgan_config" not in card:
        raise ValueError(f"zoo card in '{folder}' has no 'syncgan_config'")
    pipeline = SynCGAN(**card["syncgan_config"])
    for stem, model in pipeline.networks().items():
        load_weights_npz(model, pathlib.Path(folder) / f"{stem}.weights.npz")
    if compile:
        pipeline.compile()
    return pipeline


def write_samples(pipeline, path, per_class=6, seed=0, real_seed=1):
    """Grid per class: a row of real renders (`render_cytology(.., seed=real_seed)`, not trained
    on), a row of generated images and a row of their own masks (pairs from `generate`)."""
    from kerasgan.data.image_io import write_image
    from kerasgan.syncgan.renderer import render_cytology

    real, _, labels = render_cytology(per_class, pipeline.image_size, seed=real_seed)
    rows = []
    for index, name in enumerate(pipeline.classes):
        images, masks = pipeline.generate(name, per_class, seed=seed)
        rows.append(np.concatenate(list(real[labels == index][:per_class]), axis=1))
        rows.append(np.concatenate(list(images), axis=1))
        rows.append(np.concatenate([np.repeat(m * 255, 3, -1).astype(np.uint8) for m in masks], axis=1))
    write_image(path, np.concatenate(rows, axis=0))
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m kerasgan.syncgan.zoo_entry SAVED_PIPELINE ZOO_FOLDER", file=sys.stderr)
        return 2
    from kerasgan.syncgan.pipeline import SynCGAN

    pipeline = SynCGAN.load(argv[0])
    meta = export(pipeline, argv[1])
    write_samples(pipeline, pathlib.Path(argv[1]) / "samples.png")
    for name, digest in meta["files"].items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
