/**
 * How many wasm compute threads a run may use, without TensorFlow.js: the launchers that run
 * several trainings side by side (the local sweep executor) import this to give each run its
 * share of the cores, and must not load tfjs to do so.
 *
 * @module
 */

/** The most threads tfjs's wasm backend uses (`max_num_threads` in its `backend.cc`). */
export const MAX_WASM_THREADS = 8;

/**
 * The environment variable through which a launcher that runs several trainings at once (the
 * local sweep executor, `scripts/reproduce_results.sh`) gives each its share of the cores. An
 * environment variable, not `--threads`, because runs on other backends must ignore it.
 */
export const WASM_THREADS_ENV = "UDA_WASM_THREADS";

/** Each run's share of this machine's cores when `jobs` runs share it (at least 1). */
export function threadsPerJob(jobs: number): number {
  const cores = Number.isInteger(navigator.hardwareConcurrency) ? navigator.hardwareConcurrency : 1;
  return Math.max(1, Math.min(Math.floor(cores / Math.max(1, jobs)), MAX_WASM_THREADS));
}
