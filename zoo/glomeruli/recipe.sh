#!/usr/bin/env bash
# Exact commands that trained the zoo entry "glomeruli" (run from the repository root).
# Mode-seeking pix2pix (mask + structure map -> H&E tissue, unconditional whole-image
# discriminator, lambda 10, mu 10) on the CC0 H&E region shipped in kerasgan
# (kerasgan/data/data_files, needs the `histology` extra). Resumable: run it again after an
# interruption and training continues from the last checkpoint in $RUN.
set -euo pipefail
RUN=${RUN:-runs/glomeruli_he128}
nice -n 10 python -m kerasgan.cli train glomeruli --shipped-data he \
    --image-size 128 --filters 32 --batch-size 8 --epochs 60 --steps-per-epoch 150 \
    --discriminator global --train-patches 1024 --test-patches 64 --seed 0 \
    --out "$RUN"
# Keep the epoch whose outputs for 64 TRAINING-row patches are closest to them in 7x7 patch
# statistics (every epoch's generator is in $RUN/checkpoints; the test rows are not read).
python -c "from kerasgan.glomeruli.zoo_entry import select_and_export; select_and_export('$RUN', 'zoo/glomeruli')"
python -c "import kerasgan.zoo as zoo; zoo.seal('zoo/glomeruli', files=['generator.weights.npz'])"
python -m kerasgan.glomeruli.evaluation --out zoo/glomeruli/evaluation.json
python benchmarks/realism.py --entries glomeruli --count 64
