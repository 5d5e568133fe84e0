/**
 * Measurement primitives shared by `deno task bench` and `deno task bench-steps`: medians,
 * timed repetitions that wait for the backend, and kernel-dispatch counts.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Milliseconds of each of `repeats` calls of `run` after `warmup` calls. Each call's result is
 * read back with `await data()`, which waits for the backend to finish (asynchronously: webgpu
 * has no synchronous reads), and then disposed.
 */
export async function timeRuns(
  repeats: number,
  warmup: number,
  run: () => tf.Tensor | Promise<tf.Tensor>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const start = performance.now();
    const out = await run();
    await out.data();
    out.dispose();
    if (i >= warmup) times.push(performance.now() - start);
  }
  return times;
}

/** Kernel dispatches of one call of `run`, in total and by kernel name (most frequent first). */
export interface DispatchCount {
  /** Kernels the engine dispatched. */
  total: number;
  /** Dispatches per kernel name, most frequent first. */
  byKernel: [string, number][];
}

/**
 * Counts the kernels the engine dispatches during one call of `run` (`tf.profile`; kernels that
 * our own kernels call internally are not engine dispatches and are not counted, which is the
 * point: each dispatch costs engine overhead whatever it computes). The result is disposed.
 */
export async function countDispatches(
  run: () => tf.Tensor | Promise<tf.Tensor>,
): Promise<DispatchCount> {
  let result: tf.Tensor | undefined;
  const info = await tf.profile(async () => {
    result = await run();
    return result;
  });
  await result?.data();
  result?.dispose();
  const counts = new Map<string, number>();
  for (const k of info.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
  return {
    total: info.kernels.length,
    byKernel: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  };
}

/** Median GFLOP/s of a dense 1024³ matmul: the backend's practical ceiling. */
export async function matmulCeiling(repeats: number): Promise<number> {
  const n = 1024;
  const rng = new RandomStream(0);
  const a = tf.tensor2d(rng.normalArray(n * n), [n, n]);
  const b = tf.tensor2d(rng.normalArray(n * n), [n, n]);
  const ms = median(await timeRuns(repeats, 2, () => tf.matMul(a, b)));
  tf.dispose([a, b]);
  return (2 * n ** 3) / ms / 1e6;
}
