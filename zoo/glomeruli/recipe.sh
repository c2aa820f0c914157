#!/usr/bin/env bash
# Exact commands that trained the zoo entry "glomeruli" (run from the repository root).
# One ablation run trains every variant on the same batches; the zoo weights are its "full"
# variant (mask + structure map + L_ms, unconditional appendix discriminator), so the model
# card's ablation table and the shipped generator come from the same run.
set -euo pipefail
RUN=${RUN:-runs/glomeruli_ablation}
nice -n 10 python -m kerasgan.cli ablation glomeruli \
    --image-size 64 --filters 16 --batch-size 8 --steps 1500 \
    --discriminator global --train-patches 256 --test-patches 64 --seed 0 \
    --out "$RUN"
cp "$RUN/full.generator.weights.npz" zoo/glomeruli/generator.weights.npz
# the structure-map threshold the run cut its training maps at (make_condition's default)
python -c "from kerasgan.glomeruli.zoo_entry import store_preprocessing; store_preprocessing('zoo/glomeruli', '$RUN/results.json')"
python -c "import kerasgan.zoo as zoo; zoo.seal('zoo/glomeruli', files=['generator.weights.npz'])"
# the model card's figure: every variant of this run on the same held-out conditions
python -c "from kerasgan.glomeruli import data, plots; plots.save_run_comparison('zoo/glomeruli/ablation_outputs.png', '$RUN', data.ihc_patches(64, 64, 'test', seed=0))"
