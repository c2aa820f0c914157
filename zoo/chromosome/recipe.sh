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
#   (pix2pix's linear policy), validation Dice every 5 epochs; the zoo takes the best epoch by
#   validation Dice (best_generator.keras), as the paper chose its model.
# Resumable: if interrupted, run this script again; it continues from the last finished epoch.
set -euo pipefail
RUN="${RUN:-runs/chromosome}"
kerasgan train chromosome --data ideogram:2400:1+synthetic:1200:1 --validation ideogram:240:2 \
    --out "$RUN" --epochs 30 --epochs-decay 20 --steps-per-epoch 100 --batch-size 8 --filters 32 \
    --validate-every 5 --seed 0
python - "$RUN" <<'PY'
import sys, keras
from kerasgan.serialization import save_weights_npz
best = keras.saving.load_model(f"{sys.argv[1]}/best_generator.keras", compile=False)
save_weights_npz(best, "zoo/chromosome/generator.weights.npz", dtype="float16")
PY
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
# Karyogram speed and crop accuracy, and realism against held-out renders:
python benchmarks/karyogram.py
python benchmarks/realism.py --entries chromosome
