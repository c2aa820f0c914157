"""Tutorial: see pix2pix collapse on histology, and see it gone (Allender et al.).

Extras: none (pip install -e . is enough).

    python tutorials/mode_seeking_histology.py --out figures/          # ~15 min on 2 CPU cores
    python tutorials/mode_seeking_histology.py --small --out /tmp/t    # ~1 min (CI)

1. Data: real histology that ships with scikit-image (colon IHC, *not* glomeruli), cut into
   patches; nucleus masks by thresholding the hematoxylin channel; structure maps by
   thresholding the grey level (`kerasgan.transforms.structure_map`).
2. Ablation: plain pix2pix (mask only), mask + L_ms, mask + structure map without L_ms, the
   full model with a conditional D, and the paper's full model, trained the same way.
3. Measure: L1 to the real image (fidelity) and diversity (pairwise L1, 1 - MS-SSIM, share
   of the output explained by the input), next to the same numbers on the real images.
4. Plot the outputs of every variant for the same held-out conditions into --out.
5. The zoo model: `kerasgan.zoo.load("glomeruli")` on a mask + structure map you make.
"""

import argparse
import pathlib


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the figures and results.json")
    parser.add_argument("--small", action="store_true", help="32 px, 8 filters, a few steps (CI)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per variant")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import kerasgan  # noqa: F401  (CPU options before TensorFlow)
    import numpy as np

    from kerasgan import zoo
    from kerasgan.glomeruli import ablation, data, plots
    from kerasgan.metrics import mean_pairwise_l1
    from kerasgan.transforms import structure_map

    # 1. Data --------------------------------------------------------------------------
    size = 32 if args.small else 64
    train = data.ihc_patches(size, 32 if args.small else 256, "train")
    test = data.ihc_patches(size, 8 if args.small else 64, "test")
    print(data.SHIPPED_DATA_DESCRIPTION, "\n")
    print(f"{len(train)} train / {len(test)} test patches of {size} px; condition = "
          f"concat(mask, structure map): {train.conditions().shape[1:]}")
    image = (test.images[0] + 1.0) / 2.0                     # a [0, 1] RGB patch
    print("structure map of one patch: share of structure pixels =",
          float(structure_map(image).mean()).__round__(3))

    # 2-3. Ablation: train every variant the same way, measure -------------------------
    settings = ablation.AblationSettings(
        image_size=size, filters=8 if args.small else 16, batch_size=4 if args.small else 8,
        steps=args.steps or (6 if args.small else 800), steps_per_log=3 if args.small else 100,
    )
    outputs = {}
    results = ablation.run_ablation(
        train, test, settings, on_variant=lambda name, model, out_images: outputs.__setitem__(name, out_images),
    )
    print()
    print(ablation.format_table(results))
    ablation.save_results(results, out / "results.json")

    # 4. Plot: one row per variant, the same held-out conditions in every column ---------
    grid = plots.save_comparison_grid(out / "variants.png", test, outputs,
                                      title="same held-out conditions, one row per variant")
    print(f"\nfigure: {grid}")
    print("mode collapse reads as a row of look-alike tiles and a low R2(input).")

    # 5. The zoo model ------------------------------------------------------------------
    if "glomeruli" in zoo.list():
        generator = zoo.load("glomeruli")
        zoo_size = generator.input_shape[1]
        patches = data.ihc_patches(zoo_size, 8, "test", seed=1)
        generated = np.asarray(generator(patches.conditions(), training=False))
        print(f"zoo 'glomeruli' generator on {len(patches)} held-out conditions: pairwise L1 "
              f"{mean_pairwise_l1(generated):.3f} (real {mean_pairwise_l1(patches.images):.3f}), "
              f"L1 to real {float(np.mean(np.abs(generated - patches.images))):.3f}")
        plots.save_comparison_grid(out / "zoo_glomeruli.png", patches, {"zoo glomeruli": generated},
                                   title="zoo 'glomeruli' generator")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
