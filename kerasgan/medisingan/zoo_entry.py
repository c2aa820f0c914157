"""Zoo entry "medisingan": loader and the builder that turns a training run into the entry.

    sg = kerasgan.zoo.load("medisingan")          # a ready SinGAN (weights sha256-verified)
    python -m kerasgan.medisingan.zoo_entry RUN zoo/medisingan --wall-seconds 1234
"""

import argparse
import json
import os
import pathlib
import sys

MODEL_FILES_GLOB = ("singan.json", "arrays.npz", "scale_*.generator.npz")


def load(folder, card, jit_compile=None, **kwargs):
    """kerasgan.zoo loader: the SinGAN stored in the entry folder (float16 weights -> float32)."""
    if kwargs:
        raise TypeError(f"medisingan loader got unexpected arguments {sorted(kwargs)}")
    from kerasgan.models.singan import SinGAN

    return SinGAN.load(folder, jit_compile=jit_compile)


def model_files(folder):
    folder = pathlib.Path(folder)
    files = []
    for pattern in MODEL_FILES_GLOB:
        files.extend(sorted(p.name for p in folder.glob(pattern)))
    return files


def evaluate(model, count=16, seed=0):
    """Patch-statistic distances (weight-free; see kerasgan.metrics.sifid) of samples per start scale."""
    import numpy as np
    from scipy import ndimage

    from kerasgan.metrics.sifid import patch_statistic_distance

    results = {}
    for start_scale in sorted({0, 1, min(2, model.num_scales - 1)}):
        samples = model.sample(count, start_scale=start_scale, seed=seed)
        values = patch_statistic_distance(model.image, samples)
        results[f"samples_start_scale_{start_scale}"] = {"mean": float(values.mean()), "std": float(values.std())}
    blurred = ndimage.gaussian_filter(model.image, sigma=(1.0, 1.0, 0))
    results["reference_blurred_training_image_sigma1"] = float(patch_statistic_distance(model.image, blurred)[0])
    noise = np.random.default_rng(seed).uniform(-1, 1, model.image.shape).astype(np.float32)
    results["reference_uniform_noise_image"] = float(patch_statistic_distance(model.image, noise)[0])
    return results


def build(run, folder, wall_seconds=None, recipe=None, samples=8):
    """Write the zoo entry from a finished training run (float16 weights, figure, card, sha256)."""
    import numpy as np

    from kerasgan import zoo
    from kerasgan.medisingan.commands import save_grid
    from kerasgan.models.singan import SinGAN

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = SinGAN.load(run)
    for old in [*folder.glob("scale_*.npz"), *folder.glob("*.npy")]:
        old.unlink()
    model.save(folder, dtype="float16")
    reloaded = SinGAN.load(folder)  # what users get: float16 weights
    metrics = evaluate(reloaded)
    rmse = reloaded.reconstruction_rmse()
    figure = {}
    for start_scale in (0, 1):
        grid = reloaded.sample(samples, start_scale=start_scale, seed=1)
        figure[start_scale] = save_grid(np.concatenate([reloaded.image[None], grid]),
                                        folder / f"samples_start_scale_{start_scale}.png",
                                        reloaded.channel_layout, columns=samples + 1).name
    state = json.loads((folder / "singan.json").read_text())
    card = {
        "name": "medisingan",
        "title": "MediSinGAN: SinGAN on one histology image + nuclei mask (4 channels)",
        "paper": "Jethi et al., MediSinGAN (EEML 2021); SinGAN: Rott Shaham et al., ICCV 2019",
        "loader": "kerasgan.medisingan.zoo_entry:load",
        "files": {},
        "training_image": "scikit-image data.immunohistochemistry (real IHC histology) + nuclei mask "
                          "DERIVED by Otsu threshold of the haematoxylin channel (not expert annotation)",
        "channel_layout": reloaded.channel_layout,
        "scales": [list(s) for s in reloaded.shapes],
        "filters": [reloaded.filters_at(i) for i in range(reloaded.num_scales)],
        "iterations_per_scale": state["fingerprint"]["iterations_per_scale"] if state.get("fingerprint") else None,
        "settings": reloaded.get_config(),
        "wall_time_seconds": wall_seconds,
        # Other jobs on a shared machine stretch the wall time: record how busy it was.
        "load_average_at_build": round(os.getloadavg()[2], 1) if hasattr(os, "getloadavg") else None,
        "per_scale_seconds": [h.get("seconds") for h in reloaded.history],
        "reconstruction_rmse_float16": rmse,
        "patch_statistic_distance": metrics,
        "weights_dtype": "float16",
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    for path in folder.iterdir():  # atomic writes create 0600 files; the entry ships to every user
        path.chmod(0o644 if path.is_file() else 0o755)
    zoo.seal(folder, files=model_files(folder))
    _write_model_card(folder, card, figure, recipe)
    return card


def _write_model_card(folder, card, figure, recipe):
    scales = ", ".join(f"{h}x{w}" for h, w in card["scales"])
    metrics = card["patch_statistic_distance"]
    rows = "\n".join(
        f"| samples, start scale {key.rsplit('_', 1)[1]} | {value['mean']:.4f} ± {value['std']:.4f} |"
        for key, value in metrics.items() if key.startswith("samples"))
    wall = card["wall_time_seconds"]
    text = f"""# MediSinGAN (zoo entry `medisingan`)

SinGAN (Rott Shaham et al., ICCV 2019) trained on ONE image, used as in Jethi et al.,
MediSinGAN: the histology image and its nuclei mask are stacked as one 4-channel image, so each
sample comes with a matching mask (`sg.split_channels(samples)` -> image, mask).

```python
import kerasgan
sg = kerasgan.zoo.load("medisingan")
samples = sg.sample(count=16, start_scale=0)          # (16, H, W, 4) in [-1, 1]
parts = sg.split_channels(samples)                    # {{"image": (16,H,W,3), "mask": (16,H,W,1)}}
```

## Data
- Training image: {card['training_image']}.
- Resized to long side {card['settings']['max_size']} px (the model's finest scale,
  {card['scales'][-1][0]}x{card['scales'][-1][1]}), RGB and mask each scaled to [-1, 1].

## Training set-up
- SinGAN as published: scales {scales} ({len(card['scales'])} scales, factor
  {card['settings']['scale_factor']} adjusted), filters {card['filters']}; WGAN-GP (lambda 0.1),
  reconstruction alpha 10, 3 critic + 3 generator steps per iteration, Adam 5e-4
  beta (0.5, 0.999), x0.1 after 80 %.
- {card['iterations_per_scale']} iterations per scale (the paper: 2000) and max_size
  {card['settings']['max_size']} (the paper: 250): reduced to fit a ~25 min budget on a shared
  2-core CPU with no GPU (the paper's setting would take hours here, see benchmarks/singan.py).
- Wall time: {f"{wall / 60:.1f} min" if wall else "see recipe.sh"} on the shared 2-core CPU (load average
  {card.get('load_average_at_build', 'not recorded')} over the 15 min before the entry was built);
  per scale (s): {[round(s) for s in card['per_scale_seconds'] if s is not None]}.
- Exact commands: `recipe.sh`.

## Measured performance
Weight-free patch statistic (`kerasgan.metrics.patch_statistic_distance`: Fréchet distance of
7x7x4 pixel patches projected on 16 principal components; NOT Inception SIFID, whose weights
do not ship offline), 16 samples (seed 0) vs the training image; lower is closer:

| images | patch statistic distance |
|---|---|
{rows}
| reference: training image blurred (Gaussian sigma 1) | {metrics['reference_blurred_training_image_sigma1']:.4f} |
| reference: uniform noise image | {metrics['reference_uniform_noise_image']:.4f} |

Reconstruction RMSE from the fixed noise, float16 weights, [-1, 1] units:
{card['reconstruction_rmse_float16']:.4f}.

Samples (first column: the training image; rows: RGB, mask):
start scale 0 ![samples](samples_start_scale_0.png) start scale 1 ![samples](samples_start_scale_1.png)

Measured by: `python -m kerasgan.medisingan.zoo_entry RUN zoo/medisingan` (see recipe.sh).

## Limits
- One image: samples recombine its patches; they are not new anatomy or new patients.
- The mask is a threshold of the stain, not an expert segmentation; generated masks inherit
  its errors. No expert has rated the samples.
- Smaller than the paper's setting (max_size and iterations above): coarser textures.
- The model stores the (downsampled) training image (`arrays.npz`); do not publish models
  trained on patient images without the right to share them.
"""
    (folder / "MODEL_CARD.md").write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description="build the medisingan zoo entry from a training run")
    parser.add_argument("run")
    parser.add_argument("folder")
    parser.add_argument("--wall-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    import kerasgan  # noqa: F401

    card = build(args.run, args.folder, wall_seconds=args.wall_seconds)
    print(json.dumps({k: card[k] for k in ("scales", "reconstruction_rmse_float16", "patch_statistic_distance")},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
