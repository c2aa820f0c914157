#!/usr/bin/env bash
# Exact commands that trained the zoo entry "syncgan" (SYNTHETIC data, 64 px, CPU).
set -euo pipefail
RUN=${RUN:-runs/syncgan_zoo}
mkdir -p "$RUN"
# 75 SYNTHETIC benign + 75 SYNTHETIC malignant rendered images (kerasgan.syncgan.render_cytology, seed 0).
kerasgan train syncgan --synthetic 75 --image-size 64 --filters 16 --batch-size 8 \
    --mask-epochs 150 --cgan-epochs 60 --seed 0 --out "$RUN/syncgan.keras"
# float16 npz per network + sha256 in card.json
python -m kerasgan.syncgan.zoo_entry "$RUN/syncgan.keras" zoo/syncgan
