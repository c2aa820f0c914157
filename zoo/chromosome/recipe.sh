#!/usr/bin/env bash
# How the "chromosome" zoo generator was trained and measured (run from the repository root).
# Data: SYNTHETIC G-banded chromosomes from kerasgan.chromosome.render_chromosome
#   train: synthetic:2000:1 (seed 1; 1 image skipped by f_BPE), validation: synthetic:200:2,
#   test: synthetic:500:3 -- three disjoint seeds, no chromosome shared.
# Masks: f_SEG(f_BPE(image)) made on the fly by kerasgan.chromosome.data.pair_dataset,
#   random flips/transposes; pix2pix (U-Net ngf 16, PatchGAN ndf 16, batch norm, L1 weight
#   100, Adam 2e-4 beta1 0.5), batch 8, 15 epochs x 100 steps, seed 0, 2-core shared CPU.
set -euo pipefail
RUN="${RUN:-runs/chromosome}"
nice -n 10 kerasgan train chromosome --data synthetic:2000:1 --validation synthetic:200:2 \
    --out "$RUN" --epochs 15 --steps-per-epoch 100 --batch-size 8 --filters 16 --seed 0
cp "$RUN/generator.weights.npz" zoo/chromosome/generator.weights.npz
python -c "import kerasgan.zoo as zoo; zoo.seal('zoo/chromosome')"
# Measured performance (the paper's Table 3 layout) on 500 held-out SYNTHETIC chromosomes:
kerasgan evaluate chromosome --generator zoo --data synthetic:500:3 --json zoo/chromosome/evaluation.json
