"""Zoo entry "medisingan_brain_mri": SinGAN on one axial brain MRI slice + its white-matter mask.

As Jethi et al. (MediSinGAN) stack an image with its mask, this entry stacks one axial slice of
the MNI ICBM152 2009a T1 template (shipped inside the nilearn wheel, nothing downloaded) with a
white-matter mask DERIVED from the template's own WM probability map (WM probability > 0.5), as
a 2-channel image {"T1": 1, "WM": 1}. Samples come with a WM mask; it is binary after the
documented threshold (mask channel > 0, the midpoint of its [-1, 1] scale).

    python -m kerasgan.medisingan.brain_mri train RUN --iterations 1000      # resumable
    python -m kerasgan.medisingan.brain_mri build RUN zoo/medisingan_brain_mri --wall-seconds S
    python benchmarks/medisingan_mri.py                                        # the card's numbers
    python -m kerasgan.medisingan.brain_mri card zoo/medisingan_brain_mri     # MODEL_CARD.md

Measures (`evaluate`, printed and stored by benchmarks/medisingan_mri.py):
  * mask-image agreement (`kerasgan.metrics.mask_agreement`): Dice between each sample's mask
    (> 0) and its own T1 channel thresholded at the intensity fitted on the real training slice
    (`fit_intensity_threshold`), beside the real training slice, held-out real slices and
    shuffled generated pairs;
  * copies: RMSE of start-scale-1 samples to the training image vs the reconstruction's;
  * realism (`kerasgan.metrics.realism.realism_report`, T1 channel) against held-out real MNI
    slices 4-10 mm from the training slice (set A; set B is the held-out row).
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

ENTRY = "medisingan_brain_mri"
MASK_THRESHOLD = 0.0       # generated mask channel > 0 = white matter
START_SCALES = (0, 1, 2)
# The training run (recipe.sh). 32 filters at every scale (the official code doubles to 64 from
# scale 4; measured 4-5x slower here, see the model card) and fewer iterations than the paper.
TRAINING = {"max_size": 128, "min_size": 25, "scale_factor": 0.75, "filters": 32, "max_filters": 32,
            "seed": 0}


# ------------------------------------------------------------------ data
def training_stack():
    """(image (188, 160, 2) in [-1, 1], layout {"T1": 1, "WM": 1}, per-channel ranges)."""
    from kerasgan.medisingan import examples, io

    return io.stack_channels(examples.mni_t1_wm())


def real_slices(indices, shape, ranges):
    """MNI slices `indices` as the model sees its training image: stacked T1 + WM scaled with the
    training slice's `ranges`, resized (antialiased bicubic, as SinGAN.fit) to `shape`.

    Returns (N, h, w, 2) float32 in [-1, 1]; the WM channel is thresholded at 0 like samples.
    """
    from kerasgan.medisingan import examples, io
    from kerasgan.models.singan import _resize_image

    slices = examples.mni_slices(indices)
    out = []
    for t1, wm in zip(slices["T1"], slices["WM"]):
        stacked, _ = io.normalize(np.stack([t1, wm.astype(np.float32)], axis=-1), ranges=ranges)
        out.append(_resize_image(stacked, tuple(shape)))
    return np.stack(out)


# ------------------------------------------------------------------ training
def train(run, iterations, threads="auto", verbose="auto"):
    """Train (or resume) the entry's SinGAN into the folder `run`; returns the model."""
    import kerasgan
    from kerasgan.models import SinGAN
    from kerasgan.models.singan import preferred_intra_op_threads

    image, layout, _ = training_stack()
    settings = dict(TRAINING)
    if threads == "auto":
        threads = preferred_intra_op_threads(*image.shape[:2], max_size=settings["max_size"],
                                             min_size=settings["min_size"], scale_factor=settings["scale_factor"],
                                             filters=settings["filters"], max_filters=settings["max_filters"])
    else:
        threads = {"all": None, "one-per-op": 1}[threads]
    kerasgan.set_intra_op_threads(threads)
    print(f"training image: MNI ICBM152 2009a T1 slice {image.shape} + WM mask; threads per op: "
          f"{threads or 'all'}; settings {settings}; {iterations} iterations per scale", flush=True)
    model = SinGAN(**settings)
    model.fit(image, iterations_per_scale=iterations, checkpoint_dir=run, channel_layout=layout, verbose=verbose)
    print(f"done: {model.num_scales} scales, reconstruction RMSE {model.reconstruction_rmse():.4f}", flush=True)
    return model


# ------------------------------------------------------------------ measures
def evaluate(model, count=32, seed=0):
    """Every number of the model card, as a JSON-ready dict (see the module docstring)."""
    from kerasgan.medisingan import examples
    from kerasgan.medisingan.measures import sample_measures
    from kerasgan.metrics import mask_agreement as agreement

    _, _, ranges = training_stack()
    shape = model.shapes[-1]
    real = model.image                                   # (h, w, 2) the training slice as trained
    real_t1, real_wm = real[..., 0], real[..., 1] > MASK_THRESHOLD
    threshold, training_dice = agreement.fit_intensity_threshold(real_t1, real_wm)
    set_a = real_slices(examples.MNI_HELD_OUT_A, shape, ranges)
    set_b = real_slices(examples.MNI_HELD_OUT_B, shape, ranges)
    held_out = np.concatenate([set_a, set_b])

    result = {
        "count": int(count), "seed": int(seed), "mask_threshold": MASK_THRESHOLD,
        "intensity_threshold": {"value": threshold, "fitted_on": "real training slice (as trained, "
                                "128 px), T1 > t vs WM mask > 0, t on 255 midpoints of [-1, 1]",
                                "dice_on_training_slice": training_dice},
        "held_out_slices": {"A": list(examples.MNI_HELD_OUT_A), "B": list(examples.MNI_HELD_OUT_B)},
        "agreement": {}, "binary_fraction": {}, "copies": {}, "realism": {},
    }
    result["binary_fraction"]["real_training_slice"] = agreement.binary_fraction(real[..., 1])
    result["binary_fraction"]["held_out_real"] = agreement.binary_fraction(held_out[..., 1])
    measured = sample_measures(model, lambda images: np.asarray(images)[..., 0], 1, slice(0, 1), real_t1, real_wm,
                               threshold, held_out, set_a, set_b, count=count, seed=seed,
                               start_scales=START_SCALES, mask_threshold=MASK_THRESHOLD)
    for name, rows in measured.items():
        result[name].update(rows)
    # How far real neighbours are from the training slice (not a bar; context for the copy test).
    result["copies"]["held_out_real_rmse_to_training_slice"] = {
        str(k): float(v) for k, v in zip([*examples.MNI_HELD_OUT_A, *examples.MNI_HELD_OUT_B],
                                         agreement.rmse_to(held_out, real))}
    result["reconstruction_rmse"] = float(model.reconstruction_rmse())
    return result


# ------------------------------------------------------------------ the zoo entry
def build(run, folder, wall_seconds=None, load_average=None, samples=8):
    """Write the entry from a finished run: float16 weights, sample grids, card.json, sha256."""
    from kerasgan import zoo
    from kerasgan.medisingan.commands import save_grid
    from kerasgan.medisingan.zoo_entry import model_files
    from kerasgan.models.singan import SinGAN

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = SinGAN.load(run)
    for old in folder.glob("scale_*.npz"):
        old.unlink()
    model.save(folder, dtype="float16")
    reloaded = SinGAN.load(folder)
    for start_scale in (0, 1):
        grid = reloaded.sample(samples, start_scale=start_scale, seed=1)
        save_grid(np.concatenate([reloaded.image[None], grid]), folder / f"samples_start_scale_{start_scale}.png",
                  reloaded.channel_layout, columns=samples + 1)
    state = json.loads((folder / "singan.json").read_text())
    card = {
        "name": ENTRY,
        "title": "MediSinGAN: SinGAN on one axial brain MRI slice (MNI152 T1) + white-matter mask (2 channels)",
        "paper": "Jethi et al., MediSinGAN (EEML 2021); SinGAN: Rott Shaham et al., ICCV 2019",
        "loader": "kerasgan.medisingan.zoo_entry:load",
        "files": {},
        "training_image": "nilearn 0.14 wheel, nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz "
                          "(MNI ICBM152 2009a T1 template: a non-linear average of 152 healthy adults' scans), "
                          "axial voxel 92 (z = +20 mm), cropped rows 21-208 / columns 19-178; WM mask DERIVED "
                          "from mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz (WM probability > 0.5)",
        "data_licence": "nilearn is BSD-3-Clause (nilearn-*.dist-info/licenses/LICENSE); nilearn's own "
                        "description of the ICBM152 2009 files (nilearn/datasets/description/icbm152_2009.rst) "
                        "says 'License: unknown'. The shipped arrays.npz holds the derived slice.",
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
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    for path in folder.iterdir():
        path.chmod(0o644 if path.is_file() else 0o755)
    return zoo.seal(folder, files=model_files(folder))


def write_card(folder, results_path):
    """MODEL_CARD.md from card.json and the benchmark's JSON (only measured numbers)."""
    from kerasgan.medisingan.measures import markdown_tables

    folder = pathlib.Path(folder)
    card = json.loads((folder / "card.json").read_text())
    results = json.loads(pathlib.Path(results_path).read_text())
    measured = results["measures"]
    if results.get("zoo_files_sha256") != card["files"]:
        raise ValueError(f"{results_path} measured other weights than {folder}/card.json lists; re-run "
                         "benchmarks/medisingan_mri.py")
    agreement_rows, binary_rows, copy_rows, realism = markdown_tables(
        measured, "real training slice (as trained, 128 px)", "held-out real slices (8, 4-10 mm away)")
    copies = measured["copies"]
    neighbours = copies["held_out_real_rmse_to_training_slice"]
    scales = ", ".join(f"{h}x{w}" for h, w in card["scales"])
    wall = card.get("wall_time_seconds")
    load = card.get("load_average_during_training")
    threshold = measured["intensity_threshold"]
    text = f"""# MediSinGAN on a brain MRI slice (zoo entry `{ENTRY}`)

SinGAN (Rott Shaham et al., ICCV 2019) trained on ONE image, used as in Jethi et al.,
MediSinGAN: one axial T1 MRI slice and its white-matter (WM) mask are stacked as one 2-channel
image, so every sample comes with its own WM mask (`sg.split_channels(samples)` -> T1, WM).
The mask is binary after the documented threshold: **WM = mask channel > 0**.

```python
import kerasgan
sg = kerasgan.zoo.load("{ENTRY}")
samples = sg.sample(count=4, start_scale=1, seed=0)   # (4, 128, 109, 2) in [-1, 1]
parts = sg.split_channels(samples)                    # {{"T1": (4,128,109,1), "WM": (4,128,109,1)}}
white_matter = parts["WM"][..., 0] > 0                # the documented threshold
```

## Data
- Training image: {card['training_image']}.
- Licence: {card['data_licence']} The template is a population average of real scans, not one
  patient's image; the WM mask is the template's tissue map thresholded, not a lesion and not an
  expert label.
- Stacked with `kerasgan.medisingan.io.stack_channels` (T1 scaled from its 0.5-99.5 percentiles,
  mask 0/1, each to [-1, 1]); the model resizes it to {card['scales'][-1][0]}x{card['scales'][-1][1]}
  (long side {card['settings']['max_size']}).
- Held-out real slices (never trained on), axial voxels {results['measures']['held_out_slices']['A']}
  (set A) and {results['measures']['held_out_slices']['B']} (set B), 4-10 mm from the training slice,
  prepared the same way (`kerasgan.medisingan.brain_mri.real_slices`).

## Training set-up
- SinGAN as published: scales {scales} ({len(card['scales'])} scales, factor
  {card['settings']['scale_factor']} adjusted); WGAN-GP (lambda 0.1), reconstruction alpha 10,
  3 critic + 3 generator steps per iteration, Adam 5e-4 beta (0.5, 0.999), x0.1 after 80 %.
- Deviations, chosen from timings measured on this machine before training (recipe.sh):
  {card['iterations_per_scale']} iterations per scale (the paper: 2000) and filters {card['filters']}
  (the official code: 32, doubling to 64 from the 5th scale).
- Wall time: {f"{wall / 60:.1f} min" if wall else "not recorded"} on a shared 2-core CPU, no GPU
  (1-min load average during training: {load}); per scale (s):
  {[round(s) for s in card['per_scale_seconds'] if s is not None]}.
- Exact commands: `recipe.sh`.

## Measured performance
All numbers below: `{results['command']}` ({results['measured']}, CPU {results['cpu']},
load average before/after {results['load_average_before']} / {results['load_average_after']}),
{measured['count']} samples per start scale, seed {measured['seed']}, float16 weights as shipped;
stored in benchmarks/results/medisingan_mri.json.

### Mask-image agreement
Dice between the WM mask (> 0) and the same image's T1 channel > t, with t = {threshold['value']:.4f}
fitted once on the real training slice (the t on 255 midpoints of [-1, 1] with the best Dice
there; `kerasgan.metrics.mask_agreement.fit_intensity_threshold`) and kept for every row.
Mean ± std (min, n):

| images | Dice(mask > 0, T1 > t) |
|---|---|
{agreement_rows}

Share of mask-channel pixels within 0.5 of -1 or 1 (how binary the raw channel is; the real
rows are the resized masks):

| images | share |
|---|---|
{binary_rows}

### Copies?
RMSE ([-1, 1] units, both channels) of each sample to the training image; the model's
reconstruction (fixed noise) is at {copies['start_scale_1']['reconstruction_rmse']:.4f}.
Real neighbouring slices are at {min(neighbours.values()):.4f}-{max(neighbours.values()):.4f}.

| images | RMSE to the training image | share farther than the reconstruction | mean / reconstruction |
|---|---|---|---|
{copy_rows}

### Realism (T1 channel, weight-free, against held-out real slices set A)
`kerasgan.metrics.realism.realism_report`: 7x7 patch Fréchet distance, Sobel sharpness ratio,
intensity Wasserstein-1, pairwise-L1 diversity, on [0, 1] intensities; reference rows: set B
blurred (sigma 1) and set B itself.

{realism}

Samples (first column: the training slice; rows: T1, WM mask channel):
start scale 0 ![samples](samples_start_scale_0.png) start scale 1 ![samples](samples_start_scale_1.png)

## Limits
- Start scale 1 (the paper's MRI setting) gives near-copies here: its samples are
  {copies['start_scale_1']['ratio_mean_to_reconstruction']:.2f}x the reconstruction's distance from the training slice
  ({copies['start_scale_1']['fraction_farther_than_reconstruction']:.0%} of {copies['start_scale_1']['sample_rmse']['count']} farther than it, but only just) and their T1 diversity L1 is
  {measured['realism']['start_scale_1']['rows']['generated']['diversity_l1']:.4f} against {measured['realism']['start_scale_1']['real_diversity_l1']:.4f} between real slices; for that reason its
  shuffled-pairs baseline is not informative (the shifted-mask baseline is). Start scale 0
  varies the anatomy (diversity {measured['realism']['start_scale_0']['rows']['generated']['diversity_l1']:.4f}) but its patch Fréchet distance
  ({measured['realism']['start_scale_0']['rows']['generated']['patch_frechet_distance']:.4f}) is above the blurred-real reference
  ({measured['realism']['start_scale_0']['rows']['blurred_real']['patch_frechet_distance']:.4f}): its brains are not realistic shapes.
- One slice: samples recombine its patches; they are not new anatomy or new patients.
- The WM mask is a threshold of a probability map, not an expert segmentation; the agreement
  above is with the image's own intensities, not with a radiologist. No expert has rated samples.
- Fewer iterations and narrower networks than the paper (see Training set-up).
- The model stores the (resized) training slice (`arrays.npz`), derived from the nilearn data.
"""
    (folder / "MODEL_CARD.md").write_text(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description="the medisingan_brain_mri zoo entry")
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train (or resume) into RUN")
    train_parser.add_argument("run")
    train_parser.add_argument("--iterations", type=int, required=True)
    train_parser.add_argument("--threads", choices=["auto", "all", "one-per-op"], default="auto")
    build_parser = commands.add_parser("build", help="the zoo entry from a finished RUN")
    build_parser.add_argument("run")
    build_parser.add_argument("folder")
    build_parser.add_argument("--wall-seconds", type=float, default=None)
    build_parser.add_argument("--load-average", type=str, default=None,
                              help="the load average during training (text, e.g. '4.1-8.9, mean 6.0')")
    card_parser = commands.add_parser("card", help="MODEL_CARD.md from card.json and the benchmark JSON")
    card_parser.add_argument("folder")
    card_parser.add_argument("--results", default="benchmarks/results/medisingan_mri.json")
    args = parser.parse_args(argv)
    if args.command == "train":
        started = time.time()
        train(args.run, args.iterations, args.threads)
        print(f"wall seconds (this call): {time.time() - started:.0f}; load average {os.getloadavg()}", flush=True)
    elif args.command == "build":
        import kerasgan  # noqa: F401
        card = build(args.run, args.folder, args.wall_seconds, args.load_average)
        print(json.dumps({k: card[k] for k in ("scales", "filters", "iterations_per_scale", "files")}, indent=1))
    else:
        write_card(args.folder, args.results)
        print(f"wrote {pathlib.Path(args.folder) / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
