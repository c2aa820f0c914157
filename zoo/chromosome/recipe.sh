#!/usr/bin/env bash
# How the "chromosome" zoo generator was trained and measured (run from the repository root).
# Data: SYNTHETIC G-banded chromosomes, rendered here (no karyotype data set can be downloaded):
#   train: ideogram:2400:1 (the 24 human chromosome classes 1-22, X, Y with their real bands
#          from the UCSC CHM13 cytoband table at the 400/550 band level, centromeres and
#          relative lengths, 100 per class) + synthetic:1200:1 (random banding, the first
#          zoo model's data); validation: ideogram:240:2; test: ideogram:480:3 and
#          synthetic:500:3 -- disjoint seeds, no chromosome shared.
# Masks: f_SEG(f_BPE(image)) made on the fly by kerasgan.chromosome.data.pair_dataset, random
#   flips/transposes; pix2pix (U-Net ngf 32, PatchGAN ndf 32, batch norm, L1 weight 100,
#   Adam 2e-4 beta1 0.5), batch 8, 30 epochs x 100 steps at 2e-4 then 20 epochs of linear decay
#   (pix2pix's linear policy), validation Dice every 5 epochs; the zoo takes the epoch chosen
#   below (validation Dice and patch realism of every epoch's generator).
# Resumable: if interrupted, run this script again; it continues from the last finished epoch.
set -euo pipefail
RUN="${RUN:-runs/chromosome}"
kerasgan train chromosome --data ideogram:2400:1+synthetic:1200:1 --validation ideogram:240:2 \
    --out "$RUN" --epochs 30 --epochs-decay 20 --steps-per-epoch 100 --batch-size 8 --filters 32 \
    --validate-every 5 --seed 0
# Which epoch ships: every epoch's generator (checkpoints/) is scored on the validation set by
# the paper's Dice and by the 7x7 patch Frechet distance (outputs from the second half's masks
# against the first half's images); the lowest distance among the epochs
# within 0.005 of the best validation Dice is kept (between epochs of equal Dice the outputs'
# texture swings: grain, transposed-convolution grid). Writes generator.weights.npz (float16)
# and card.json's architecture/training (with every epoch's scores).
python -c "from kerasgan.chromosome.zoo_entry import select_and_export; select_and_export('$RUN', 'zoo/chromosome', dice_tolerance=0.005)"
python -c "import kerasgan.zoo as zoo; zoo.seal('zoo/chromosome')"
# Measured performance (the paper's Table 3 and Figure 4 layouts) on held-out SYNTHETIC chromosomes,
# under the reference test protocol (pix2pix test.py: dropout on, per-image batch statistics)
# and the deterministic one (what kerasgan.zoo.load(...)(x) and `generate` use):
for inference in reference deterministic; do
  suffix=$([ "$inference" = reference ] && echo "" || echo "_deterministic")
  kerasgan evaluate chromosome --generator zoo --data ideogram:480:3 --sources real,perlin,ideogram \
      --inference "$inference" --json "zoo/chromosome/evaluation_human$suffix.json"
  kerasgan evaluate chromosome --generator zoo --data synthetic:500:3 --inference "$inference" \
      --json "zoo/chromosome/evaluation$suffix.json"
done
python -c "from kerasgan.chromosome.zoo_entry import record_evaluation; record_evaluation('zoo/chromosome')"
# Karyogram speed, and realism against held-out renders:
python benchmarks/karyogram.py --speed-only
python benchmarks/realism.py --entries chromosome --count 64
