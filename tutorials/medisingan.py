"""MediSinGAN tutorial: SinGAN on ONE medical image (Jethi et al.; Rott Shaham et al. 2019).

Extras: needs the medical extra for the MR slice (pydicom): pip install -e ".[medical]"

    python tutorials/medisingan.py --out /tmp/medisingan_tutorial            # ~1 h on 2 CPU cores
    python tutorials/medisingan.py --out /tmp/medisingan_tutorial --small    # CI: ~2 min

1. Multi-channel generation (paper 2.2): a real histology image (scikit-image
   immunohistochemistry) and a nuclei mask DERIVED from it (threshold, not expert) are
   stacked as 4 channels; samples come with a matching mask, split back with split_channels.
2. Harmonization (paper 2.3): a SinGAN trained on a real MR slice (pydicom MR_small.dcm)
   blends a naively pasted SYNTHETIC bright lesion into the image, injected at each scale.
3. The samples are scored with the weight-free patch statistic (not Inception SIFID).

Everything used here ships offline with scikit-image and pydicom; outputs go to --out.
"""

import argparse
import json
import pathlib
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--small", action="store_true", help="tiny setting for CI (minutes, poor quality)")
    args = parser.parse_args(argv)
    import importlib.util

    if importlib.util.find_spec("pydicom") is None:  # part 2 reads pydicom's MR file: fail now, not after part 1
        parser.error('this tutorial needs pydicom (the medical extra): pip install -e ".[medical]"')
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import kerasgan  # noqa: F401  (oneDNN before TensorFlow)
    import numpy as np

    from kerasgan.medisingan import examples, io
    from kerasgan.medisingan.commands import save_grid
    from kerasgan.metrics import patch_statistic_distance
    from kerasgan.models import SinGAN
    from kerasgan.models.singan import preferred_intra_op_threads

    if args.small:
        settings = dict(max_size=32, filters=8)
        iterations = 10
    else:
        settings = dict(max_size=96)
        iterations = 2000
    report = {"setting": "small (CI)" if args.small else "full", "iterations_per_scale": iterations}

    # -- 1. histology image + nuclei mask as one 4-channel image
    channels, description = examples.load_example("histology-nuclei")
    stacked, layout, _ = io.stack_channels(channels)
    # Small pyramids train faster on CPU with one thread per TensorFlow op (the cores then run
    # independent ops side by side): a process-wide choice, made before TensorFlow starts.
    threads = preferred_intra_op_threads(*stacked.shape[:2], max_size=settings["max_size"],
                                         filters=settings.get("filters", 32))
    if kerasgan.set_intra_op_threads(threads):
        print("    one thread per TensorFlow op (small pyramid)")
    print(f"[1] {description}: stacked {stacked.shape}, layout {layout}", flush=True)
    started = time.time()
    histology = SinGAN(seed=0, **settings)
    histology.fit(stacked, iterations_per_scale=iterations, channel_layout=layout,
                  checkpoint_dir=out / "histology_run")
    report["histology_train_seconds"] = time.time() - started
    samples = histology.sample(8, start_scale=0, seed=0)  # the paper: scale 0 for histology
    parts = histology.split_channels(samples)
    print(f"    samples {samples.shape} -> image {parts['image'].shape}, mask {parts['mask'].shape}")
    save_grid(np.concatenate([histology.image[None], samples]), out / "histology_samples.png", layout, columns=9)
    wide = histology.sample(2, size=(histology.shapes[-1][0], 2 * histology.shapes[-1][1]), seed=1)
    save_grid(wide, out / "histology_wide.png", layout, columns=2)
    distance = patch_statistic_distance(histology.image, samples)
    report["histology_patch_statistic_distance"] = {"mean": float(distance.mean()), "std": float(distance.std())}
    report["histology_mask_fraction_real"] = float(io.binarize_mask(histology.image[..., 3:]).mean())
    report["histology_mask_fraction_samples"] = float(io.binarize_mask(parts["mask"]).mean())
    histology.save(out / "histology.keras")

    # -- 2. harmonization of a pasted lesion in an MR slice
    channels, description = examples.load_example("mr")
    mr, _, _ = io.stack_channels(channels)
    print(f"[2] {description}: {mr.shape}", flush=True)
    started = time.time()
    brain = SinGAN(seed=0, **dict(settings, max_size=min(settings["max_size"], 64)))
    brain.fit(mr, iterations_per_scale=iterations, checkpoint_dir=out / "mr_run")
    report["mr_train_seconds"] = time.time() - started
    height, width = brain.shapes[-1]
    composite, mask = examples.paste_lesion(brain.image, center=(height // 2, width // 3),
                                            radius=max(2, height // 10))
    rows = [composite[None]]
    for start_scale in range(1, brain.num_scales):
        rows.append(brain.harmonize(composite, mask, start_scale=start_scale, seed=0,
                                    dilation_radius=max(1, height // 25), blur_sigma=max(1.0, height / 50)))
    save_grid(np.concatenate(rows), out / "mr_harmonization_by_scale.png", columns=len(rows))
    report["harmonization_scales"] = list(range(1, brain.num_scales))
    print(f"    harmonized at scales {report['harmonization_scales']} -> mr_harmonization_by_scale.png")

    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
