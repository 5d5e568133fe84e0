/**
 * Saved tensors without a kernel dispatch. tfjs's engine saves every tensor a gradient needs by
 * `engine.clone(x)`, which runs the `Identity` kernel: a full dispatch (~7 µs of engine work) and,
 * on cpu and webgpu, a copy — 462 of the 1448 dispatches of a MiT-B0 + SegFormer training step.
 * Tensors are immutable (no kernel writes into its inputs, and `Variable.assign` swaps the data
 * rather than overwriting it), so the clone may share the buffer: here it is a new tensor on the
 * same data, with the backend's reference count raised as the backends' own `Reshape` does,
 * recorded on the tape exactly as the engine records it (the gradient of a clone is its input's
 * gradient cast to float32). Values are unchanged on every backend.
 *
 * @module
 */
import { tf } from "../tf.ts";

interface EngineInternals {
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  addTapeNode(
    scopeName: string,
    inputs: Record<string, tf.Tensor>,
    outputs: tf.Tensor[],
    gradientsFunc: (dy: tf.Tensor) => Record<string, () => tf.Tensor>,
    saved: tf.Tensor[],
    attrs: Record<string, unknown>,
  ): void;
  state: {
    activeScope: { name: string };
    tensorInfo: { get(dataId: unknown): { backend: tf.KernelBackend } | undefined };
  };
}

interface SharingBackend {
  incRef(dataId: unknown): void;
}

let installed = false;

/** Replaces `engine.clone` by the sharing clone above (idempotent). */
export function installSharingClone(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  const copyingClone = engine.clone.bind(engine);
  engine.clone = function (x: tf.Tensor): tf.Tensor {
    const backend = engine.state.tensorInfo.get(x.dataId)?.backend as
      | (tf.KernelBackend & Partial<SharingBackend>)
      | undefined;
    if (backend?.incRef === undefined || x.dtype === "string") return copyingClone(x);
    backend.incRef(x.dataId);
    const y = engine.makeTensorFromTensorInfo(
      { dataId: x.dataId, shape: x.shape, dtype: x.dtype },
      backend,
    );
    const grad = (dy: tf.Tensor) => ({
      x: () => tf.engine().runKernel("Cast", { x: dy }, { dtype: "float32" }) as tf.Tensor,
    });
    engine.addTapeNode(engine.state.activeScope.name, { x }, [y], grad, [], {});
    return y;
  };
}
