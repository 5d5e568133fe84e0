/** Shared helpers of the backend tests: run the same computation on two backends and compare. */
import { tf } from "../../runtime/tf.ts";
import { type BackendName, hasWebGpuAdapter, useBackend } from "../../runtime/backend/mod.ts";

/** Whether a WebGPU adapter exists here (lavapipe in CI); webgpu tests are ignored otherwise. */
export const WEBGPU = await hasWebGpuAdapter();

/** max|a − b| / max|b|: the error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Runs `compute` on `backend` and reads every output back (never synchronously). */
export async function runOn(
  backend: BackendName,
  compute: () => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await useBackend(backend);
  const outputs = tf.tidy(compute);
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const values = await Promise.all(list.map(async (t) => new Float32Array(await t.data())));
  tf.dispose(list);
  return values;
}
