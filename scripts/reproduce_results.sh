#!/usr/bin/env bash
# Trains every run behind docs/results.md and regenerates it from them.
#
# 15 CPU-scale runs (source-only, DAFormer and three ablations, seeds 0–2) after the encoder
# pretraining, JOBS at a time (default 2: each run is single-threaded wasm plus a data worker).
# About 2 hours on 2 cores. Runs resume where they stopped, so the script can be re-run after an
# interruption; finished runs are skipped in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"
logs=".cache/logs"
mkdir -p "$logs"
experiments=(
  experiments/source_only.ts
  experiments/daformer.ts
  experiments/ablations/daformer_no_rcs.ts
  experiments/ablations/daformer_no_fd.ts
  experiments/ablations/daformer_no_mix.ts
)
# The shared pretrained encoder first, once: every experiment above starts from it.
node_modules/deno/deno task run experiments/pretrain.ts > "$logs/pretrain.log" 2>&1
# The main comparison first (source-only and DAFormer, all seeds), then the ablations.
queue=()
for seed in 0 1 2; do
  for x in "${experiments[@]:0:2}"; do queue+=("$x $seed"); done
done
for seed in 0 1 2; do
  for x in "${experiments[@]:2}"; do queue+=("$x $seed"); done
done
printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -L 1 sh -c '
  log=".cache/logs/$(basename "$0" .ts)-s$1.log"
  node_modules/deno/deno task run "$0" --seed "$1" > "$log" 2>&1 || echo "failed: $0 seed $1 (see $log)"
'
# The title records how the runs shared the machine: the train-time column depends on it.
node_modules/deno/deno task results "${experiments[@]}" --seeds 0,1,2 --out docs/results.md \
  --title "CPU-scale results: wasm backend, $jobs runs at a time on $(nproc) cores"
