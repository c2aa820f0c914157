"""Mode collapse measured: plain pix2pix vs mode-seeking pix2pix on the same data and steps.

Bars (issue 5): the full model's output diversity (mean pairwise L1 between the outputs of
different held-out conditions) is >= 1.5x plain pix2pix's, with L1 to the ground truth no
more than 10% worse. Both train the same U-Net for the same steps on the same batches, on
the histology that ships with scikit-image (kerasgan.glomeruli.data.SHIPPED_DATA_DESCRIPTION:
real colon IHC, thresholded masks). Each training seed (network init and batch order) is one
run; the bars are judged on the means over seeds, and every seed's ratio is listed. The
machine is a shared 2-core CPU: the seconds are noisy, the quality numbers are not.

    python benchmarks/mode_seeking.py                                # global D, 3 seeds (6 trainings)
    python benchmarks/mode_seeking.py --discriminators global,patch  # both Ds: 44 min on the shared CPU
    python benchmarks/mode_seeking.py --all-variants --seeds 0       # the whole ablation
"""

import argparse
import pathlib
import platform
import sys
import time

import numpy as np

DIVERSITY_BAR = 1.5
FIDELITY_BAR = 1.10
METRICS = ("l1_to_ground_truth", "pairwise_l1", "pairwise_ms_ssim_distance", "explained_variance_share")
TITLES = ("L1 to GT", "pairwise L1", "1-MS-SSIM", "R2(input)")


def _summary(rows):
    return {key: {"mean": float(np.mean([r[key] for r in rows])), "std": float(np.std([r[key] for r in rows]))}
            for key in (*METRICS, "train_seconds")}


def _table(summaries, reference, seeds):
    lines = [f"mean ± sd over {seeds} seed(s)", "", "| variant | " + " | ".join(TITLES) + " | train s |",
             "|" + "---|" * (len(TITLES) + 2)]
    for name, summary in summaries.items():
        cells = " | ".join(f"{summary[k]['mean']:.4f} ± {summary[k]['std']:.4f}" for k in METRICS)
        lines.append(f"| {name} | {cells} | {summary['train_seconds']['mean']:.0f} |")
    cells = " | ".join("-" if k == "l1_to_ground_truth" else f"{reference[k]:.4f}" for k in METRICS)
    lines.append(f"| real test images | {cells} | - |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--train-patches", type=int, default=256)
    parser.add_argument("--test-patches", type=int, default=64)
    parser.add_argument("--discriminators", default="global",
                        help="comma-separated: 'global' (the paper's appendix D) and/or 'patch' (PatchGAN)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    parser.add_argument("--data-seed", type=int, default=0, help="patch positions (same for every run)")
    parser.add_argument("--all-variants", action="store_true", help="train every ablation variant")
    parser.add_argument("--output", default=str(pathlib.Path(__file__).parent / "results" / "mode_seeking.json"))
    parser.add_argument("--figure-dir", default=None, help="save a grid of outputs per discriminator and seed")
    args = parser.parse_args(argv)
    discriminators = [name.strip() for name in args.discriminators.split(",") if name.strip()]
    if not discriminators or any(name not in ("global", "patch") for name in discriminators):
        parser.error(f"--discriminators must list 'global' and/or 'patch', got {args.discriminators!r}")
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds is empty")

    import kerasgan  # noqa: F401  (sets TensorFlow's CPU options before it is imported)
    import tensorflow as tf

    from kerasgan.glomeruli import ablation
    from kerasgan.glomeruli.data import SHIPPED_DATA_DESCRIPTION, ihc_patches

    train = ihc_patches(args.image_size, args.train_patches, "train", seed=args.data_seed)
    test = ihc_patches(args.image_size, args.test_patches, "test", seed=args.data_seed)
    variants = list(ablation.VARIANTS) if args.all_variants else ["pix2pix", "full"]
    start = time.perf_counter()
    results = {"runs": {}, "summary": {}, "bars": {}, "reference_real_images": ablation.reference_row(test)}
    for discriminator in discriminators:
        runs = []
        for seed in seeds:
            settings = ablation.AblationSettings(
                image_size=args.image_size, filters=args.filters, batch_size=args.batch_size,
                steps=args.steps, discriminator=discriminator, seed=seed,
            )
            outputs = {}
            run = ablation.run_ablation(
                train, test, settings, variants=variants,
                on_variant=lambda name, model, images: outputs.__setitem__(name, images),
            )
            if args.figure_dir:
                from kerasgan.glomeruli.plots import save_comparison_grid

                save_comparison_grid(
                    pathlib.Path(args.figure_dir) / f"mode_seeking_{discriminator}_seed{seed}.png", test,
                    outputs, title=f"{discriminator} discriminator, {args.steps} steps, seed {seed}",
                )
            runs.append(run)
        results["runs"][discriminator] = runs
        summaries = {name: _summary([run["variants"][name] for run in runs]) for name in variants}
        results["summary"][discriminator] = summaries
        diversity_ratio = summaries["full"]["pairwise_l1"]["mean"] / summaries["pix2pix"]["pairwise_l1"]["mean"]
        fidelity_ratio = (summaries["full"]["l1_to_ground_truth"]["mean"]
                          / summaries["pix2pix"]["l1_to_ground_truth"]["mean"])
        per_seed = [run["variants"]["full"]["pairwise_l1"] / run["variants"]["pix2pix"]["pairwise_l1"]
                    for run in runs]
        per_seed_l1 = [run["variants"]["full"]["l1_to_ground_truth"] / run["variants"]["pix2pix"]["l1_to_ground_truth"]
                       for run in runs]
        results["bars"][discriminator] = {
            "diversity_ratio_full_over_pix2pix": diversity_ratio,
            "diversity_ratio_per_seed": per_seed,
            "diversity_bar": DIVERSITY_BAR,
            "diversity_met": bool(diversity_ratio >= DIVERSITY_BAR),
            "l1_ratio_full_over_pix2pix": fidelity_ratio,
            "l1_ratio_per_seed": per_seed_l1,
            "l1_bar": FIDELITY_BAR,
            "l1_met": bool(fidelity_ratio <= FIDELITY_BAR),
        }
    results["settings"] = {
        "image_size": args.image_size, "filters": args.filters, "batch_size": args.batch_size,
        "steps": args.steps, "train_patches": len(train), "test_patches": len(test), "seeds": seeds,
        "data_seed": args.data_seed, "variants": variants,
    }
    results["data"] = SHIPPED_DATA_DESCRIPTION
    results["command"] = "python benchmarks/mode_seeking.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results["machine"] = {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "tensorflow": tf.__version__, "note": "shared 2-core CPU, other jobs running: seconds are noisy",
    }
    results["total_seconds"] = round(time.perf_counter() - start, 1)

    for discriminator in discriminators:
        bars = results["bars"][discriminator]
        print(f"\n{discriminator} discriminator: {args.steps} steps, {args.image_size} px, {args.filters} filters, "
              f"batch {args.batch_size}, seeds {seeds}")
        print(_table(results["summary"][discriminator], results["reference_real_images"], len(seeds)))
        seeds_text = ", ".join(f"{ratio:.2f}" for ratio in bars["diversity_ratio_per_seed"])
        print(f"diversity (pairwise L1) full / pix2pix = {bars['diversity_ratio_full_over_pix2pix']:.3f}x "
              f"(per seed {seeds_text}; bar >= {DIVERSITY_BAR}x: {'met' if bars['diversity_met'] else 'NOT met'})")
        seeds_text = ", ".join(f"{ratio:.2f}" for ratio in bars["l1_ratio_per_seed"])
        print(f"L1 to ground truth full / pix2pix      = {bars['l1_ratio_full_over_pix2pix']:.3f} "
              f"(per seed {seeds_text}; bar <= {FIDELITY_BAR}: {'met' if bars['l1_met'] else 'NOT met'})")
    path = ablation.save_results(results, args.output)
    print(f"\nwrote {path} ({results['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
