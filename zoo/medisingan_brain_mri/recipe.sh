#!/usr/bin/env bash
# Exact commands that trained and measured the zoo entry "medisingan_brain_mri"
# (shared 2-core CPU, no GPU, niced beside other jobs). Needs: pip install -e .[mri] (nilearn,
# whose wheel ships the MNI ICBM152 2009a T1 + tissue maps; nothing is downloaded).
# Resumable: run it again after an interruption and training goes on from the last finished
# scale (checkpoints in $RUN); the wall time of every training call is appended to
# $RUN.wall_seconds and the load average is sampled every 60 s into $RUN.load.
#
# Chosen from timings measured on this machine first (30 iterations per scale, load 6-9,
# niced): with the official widths (64 filters from scale 5) scale 5 (79x67) took 1.3-1.5
# s/iteration (vs 0.35 with 32 filters) and scale 6 (101x86) 3.2 s/iteration over its first 10
# (trace included; stopped there), so the whole pyramid would be > 6 s/iteration, > 3 h for
# 2000 iterations; with 32 filters at every scale the marginal s/iteration per scale were
# ~0.09, 0.10, 0.17, 0.24, 0.35, 0.54, 0.79 (2.3 s for the pyramid) -> 1200 iterations ~50 min.
# Threads: all cores per op (TensorFlow default; the timings above). "--threads auto" picks one
# thread per op for this pyramid, which measured 0.19 s/iteration at scale 1 vs 0.09 (load ~8).
# The shipped entry: training as below, 3938 s (one call, after a first attempt with
# "--threads auto" was stopped at 1.5 min and its run folder removed); the recipe file was
# edited while it ran, so bash stopped after training and the steps after it were run by hand,
# exactly as written here.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=${RUN:-/work/runs/medisingan_brain_mri}
ITERATIONS=1200
mkdir -p "$(dirname "$RUN")"
( while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RUN.load"; sleep 60; done ) &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
start=$(date +%s)
nice -n 10 python -m kerasgan.medisingan.brain_mri train "$RUN" --iterations $ITERATIONS --threads all
echo $(( $(date +%s) - start )) >> "$RUN.wall_seconds"
kill $SAMPLER 2>/dev/null || true
WALL=$(paste -sd+ "$RUN.wall_seconds" | bc)
LOAD=$(awk '{s+=$2; n++; if(min==""||$2<min)min=$2; if($2>max)max=$2} END {printf "1-min load %.1f-%.1f, mean %.1f over %d samples", min, max, s/n, n}' "$RUN.load")
python -m kerasgan.medisingan.brain_mri build "$RUN" zoo/medisingan_brain_mri --wall-seconds "$WALL" --load-average "$LOAD"
kerasgan zoo verify medisingan_brain_mri
python benchmarks/medisingan_mri.py
python -m kerasgan.medisingan.brain_mri card zoo/medisingan_brain_mri
