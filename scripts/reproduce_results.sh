#!/usr/bin/env bash
# Trains every run behind docs/results.md and regenerates it from them.
#
# 18 CPU-scale runs (the target oracle, source-only, DAFormer and three ablations, seeds 0–2)
# after the encoder pretraining, JOBS at a time (default 2: each run gets its share of the cores).
# About 1.5 hours on 2 cores. Runs resume where they stopped, so the script can be re-run after an
# interruption; finished runs are skipped in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
# Deno from PATH (`deno task reproduce` puts npm's node_modules/.bin first), also when this script
# is started by hand after `npm install`.
command -v deno >/dev/null || PATH="$PWD/node_modules/.bin:$PATH"
jobs="${JOBS:-2}"
# Each run gets its share of the cores for its wasm thread pool (runtime/backend/thread_share.ts).
share=$(( $(nproc) / jobs )); share=$(( share < 1 ? 1 : share > 8 ? 8 : share ))
export UDA_WASM_THREADS="${UDA_WASM_THREADS:-$share}"
logs=".cache/logs"
mkdir -p "$logs"
experiments=(
  experiments/target_oracle.ts
  experiments/source_only.ts
  experiments/daformer.ts
  experiments/ablations/daformer_no_rcs.ts
  experiments/ablations/daformer_no_fd.ts
  experiments/ablations/daformer_no_mix.ts
)
# The shared pretrained encoder first, once: every experiment above starts from it.
deno task run experiments/pretrain.ts > "$logs/pretrain.log" 2>&1
# The main comparison first (oracle, source-only and DAFormer, all seeds), then the ablations.
queue=()
for seed in 0 1 2; do
  for x in "${experiments[@]:0:3}"; do queue+=("$x $seed"); done
done
for seed in 0 1 2; do
  for x in "${experiments[@]:3}"; do queue+=("$x $seed"); done
done
printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -L 1 sh -c '
  log=".cache/logs/$(basename "$0" .ts)-s$1.log"
  deno task run "$0" --seed "$1" > "$log" 2>&1 || echo "failed: $0 seed $1 (see $log)"
'
# The title records how the runs shared the machine: the train-time column depends on it.
deno task results "${experiments[@]}" --seeds 0,1,2 --baseline daformer \
  --gap source_only:target_oracle --chart --out docs/results.md \
  --title "CPU-scale results: wasm backend, $jobs runs at a time on $(nproc) cores"
