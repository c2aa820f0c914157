#!/usr/bin/env bash
# Exact commands that trained the zoo entry "syncgan" (SYNTHETIC data, 64 px, CPU).
# Not resumable (train syncgan starts again from epoch 0); ~15-20 min on 2 quiet cores.
set -euo pipefail
RUN=${RUN:-runs/syncgan_zoo}
mkdir -p "$RUN"
# 75 SYNTHETIC benign + 75 SYNTHETIC malignant rendered images (kerasgan.syncgan.render_cytology, seed 0).
# The CGAN runs the paper's 200 epochs; the kept epoch is the one whose images for the 30
# held-out masks are closest to their real images in 7x7 patch statistics (--cgan-selection
# patch-frechet; the paper's lowest-generator-loss rule kept a smooth epoch 9, see MODEL_CARD.md).
kerasgan train syncgan --synthetic 75 --image-size 64 --filters 16 --batch-size 8 \
    --mask-epochs 400 --cgan-epochs 200 --cgan-selection patch-frechet --seed 0 --out "$RUN/syncgan.keras"
# float16 npz per network + sha256 in card.json
python -m kerasgan.syncgan.zoo_entry "$RUN/syncgan.keras" zoo/syncgan
# the card's realism rows
python benchmarks/realism.py --entries syncgan --count 64
