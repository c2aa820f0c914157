#!/usr/bin/env bash
# Exact commands that trained the zoo entry "medisingan" (shared 2-core CPU, no GPU).
# Training image: scikit-image immunohistochemistry (real IHC histology) + a nuclei mask
# DERIVED by thresholding the haematoxylin channel, stacked as 4 channels.
# Reduced from the paper's setting (max_size 250, 2000 iterations) to fit ~25 min on this CPU.
set -euo pipefail
RUN=${RUN:-/tmp/medisingan_zoo_run}
start=$(date +%s)
kerasgan train singan example:histology-nuclei --max-size 56 --iterations 600 --seed 0 --out "$RUN"
end=$(date +%s)
python -m kerasgan.medisingan.zoo_entry "$RUN" zoo/medisingan --wall-seconds $((end - start))
kerasgan generate medisingan --zoo --count 16 --start-scale 1 --seed 0 --out /tmp/medisingan_samples
