"""MediSinGAN on a brain MRI slice (zoo entry medisingan_brain_mri): every number of its card.

    python benchmarks/medisingan_mri.py                          # the zoo entry
    python benchmarks/medisingan_mri.py --model RUN --out x.json # a training run folder
    python benchmarks/medisingan_mri.py --count 8                # quicker

Measures (`kerasgan.medisingan.brain_mri.evaluate`), 32 samples per start scale (0, 1, 2),
seed 0:
  * mask-image agreement: Dice(WM mask > 0, T1 > t), t fitted on the real training slice,
    beside the real training slice, 8 held-out real MNI slices (4-10 mm away) and the
    shuffled-pairs baseline (each mask with another sample's image);
  * copies: RMSE of each sample to the training image vs the reconstruction's RMSE;
  * realism of the T1 channel against held-out real slices (set A), with the reference rows
    set B blurred (sigma 1) and set B (`kerasgan.metrics.realism.realism_report`).

Writes benchmarks/results/medisingan_mri.json with the CPU model, the load average, the
command and the sha256 of the measured files. Requires nilearn (the held-out slices).
"""

import argparse
import json
import os
import pathlib
import sys
import time

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

import kerasgan  # noqa: F401  (sets TensorFlow options before it loads)
from kerasgan.medisingan import brain_mri
from kerasgan.metrics.realism import format_realism_table

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results" / "medisingan_mri.json"


def print_tables(measured):
    threshold = measured["intensity_threshold"]
    print(f"intensity threshold t = {threshold['value']:.4f} (fitted on the training slice, Dice there "
          f"{threshold['dice_on_training_slice']:.4f}); mask threshold {measured['mask_threshold']}")
    print("\nmask-image agreement, Dice(mask > 0, T1 > t): mean ± std (min, n)")
    for key, rows in measured["agreement"].items():
        for row, summary in rows.items():
            print(f"  {key:14s} {row:26s} {brain_mri._fmt(summary)}")
    print("\nshare of near-binary mask pixels (|v| >= 0.5):")
    for key, value in measured["binary_fraction"].items():
        print(f"  {key:22s} {value:.3f}")
    print("\ncopies: RMSE to the training image (reconstruction at "
          f"{measured['reconstruction_rmse']:.4f})")
    for key, values in measured["copies"].items():
        if key.startswith("start_scale"):
            print(f"  {key:14s} {brain_mri._fmt(values['sample_rmse'])}, farther than the reconstruction: "
                  f"{values['fraction_farther_than_reconstruction']:.3f}, mean / reconstruction "
                  f"{values['ratio_mean_to_reconstruction']:.2f}")
    neighbours = measured["copies"]["held_out_real_rmse_to_training_slice"]
    print(f"  held-out real slices: {min(neighbours.values()):.4f}-{max(neighbours.values()):.4f}")
    for key, report in measured["realism"].items():
        print()
        print(format_realism_table(report, title=f"realism, T1 channel, samples from {key.replace('_', ' ')}"))


def main(argv=None):
    from kerasgan import zoo
    from kerasgan.models.singan import SinGAN

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a SinGAN folder (default: the zoo entry)")
    parser.add_argument("--count", type=int, default=32, help="samples per start scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.count < 2:
        parser.error("--count must be at least 2 (shuffled pairs, realism)")
    load_before, started = os.getloadavg(), time.perf_counter()
    if args.model is None:
        model, files = zoo.load(brain_mri.ENTRY), zoo.metadata(brain_mri.ENTRY)["files"]
    else:
        from kerasgan.medisingan.zoo_entry import model_files

        model = SinGAN.load(args.model)
        files = {name: zoo.sha256(pathlib.Path(args.model) / name) for name in model_files(args.model)}
    measured = brain_mri.evaluate(model, count=args.count, seed=args.seed)
    seconds = time.perf_counter() - started
    print_tables(measured)
    results = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python benchmarks/medisingan_mri.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "model": args.model or f"zoo:{brain_mri.ENTRY}",
        "cpu": cpu_model(), "cpu_count": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "wall_seconds": round(seconds, 1),
        "zoo_files_sha256": files,
        "measures": measured,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n[{seconds:.0f} s, load {load_before[0]:.1f}] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
