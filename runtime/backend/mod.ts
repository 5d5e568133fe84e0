/**
 * Backend selection: `useBackend("wasm" | "webgpu" | "tensorflow" | "cpu")`.
 *
 * Minimal first version (cpu, wasm); the backend helper extends it with the wasm training
 * kernels, the dilated-convolution gradients, webgpu and tfjs-node.
 *
 * @module
 */
import { tf } from "../tf.ts";
import "@tensorflow/tfjs-backend-wasm";

/** Names a user may pass to `--backend`. */
export type BackendName = "wasm" | "webgpu" | "tensorflow" | "cpu";

/** Makes `name` the active TensorFlow.js backend and waits until it is ready. */
export async function useBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' could not be initialised`);
  await tf.ready();
}
