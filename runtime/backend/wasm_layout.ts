/**
 * Faster versions of four tfjs-backend-wasm kernels that every training step runs on large
 * tensors, each wrapping the original and computing exactly what it computes:
 *
 * - `Sum` and `Mean` over leading axes (every bias, BatchNorm and LayerNorm-statistics reduction
 *   over N, H, W): column sums in one pass of the SIMD module (`simd/functions.ts`). The wasm kernels transpose first and then
 *   loop, and the XNNPACK product `ones · X` packs all of X on every call.
 * - `SplitV` (the gradient of every `concat`, such as the SegFormer head's four-scale concat):
 *   contiguous row copies. The wasm kernel runs one generic strided `Slice` per output (measured
 *   9.4 ms for [2,32,32,1024] into four; the copies take ~1 ms).
 * - `Transpose` keeping the last axis (attention's head split and merge): row copies.
 *
 * Other reductions, axes and dtypes go to the original kernel, which
 * {@linkcode originalWasmKernel} keeps for the tests that compare the two bit for bit.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { heapAddress, type HeapBackend, simdKernels } from "./simd/mod.ts";

interface WasmBackend extends HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
}

/** The arguments tfjs passes a wasm kernel function. */
export type KernelArgs<B = WasmBackend> = {
  inputs: Record<string, tf.TensorInfo>;
  backend: B;
  attrs: Record<string, unknown>;
};
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
/** Makes a replacement kernel from tfjs's original one. */
// deno-lint-ignore no-explicit-any
export type KernelWrapper = (original: tf.KernelFunc) => (args: KernelArgs<any>) => unknown;

const originals = new Map<string, tf.KernelFunc>();

/** tfjs's own wasm kernel `name`, as it was before {@linkcode wrapWasmLayoutKernels}. */
export function originalWasmKernel(name: string): tf.KernelFunc {
  const kernel = originals.get(name) ?? tf.getKernel(name, "wasm")?.kernelFunc;
  if (kernel === undefined) throw new Error(`wasm backend: ${name} is not registered`);
  return kernel;
}

/** The reduced axes, when they are exactly the leading `k` axes of `x` (k ≥ 1). */
function leadingAxes(x: tf.TensorInfo, axis: unknown): number | undefined {
  const rank = x.shape.length;
  const axes = ([] as number[]).concat(axis as number | number[])
    .map((a) => (a < 0 ? a + rank : a))
    .sort((a, b) => a - b);
  return axes.length > 0 && axes.every((a, i) => a === i) ? axes.length : undefined;
}

/**
 * Sum or mean over the leading axes as column sums, accumulated in float32 in row order: the
 * arithmetic of the wasm `Mean` (a sequential float sum over the reduced elements, then one
 * division by their count) and of the product `ones · X` that `Sum` replaced, so the results
 * are bit-identical. (Computing `sum / count` in double and rounding once is the correctly
 * rounded float32 quotient.)
 */
function leadingReduction(mean: boolean) {
  return (original: tf.KernelFunc): Kernel => ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const k = leadingAxes(x, attrs.axis);
    if (k === undefined || x.dtype !== "float32" || x.shape.some((d) => d === 0)) {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    }
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const rest = x.shape.slice(k);
    const out = backend.makeOutput(
      attrs.keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest,
      "float32",
    );
    const columns = tf.util.sizeFromShape(rest);
    simdKernels(backend).columnSums(
      heapAddress(backend, x),
      heapAddress(backend, out),
      rows,
      columns,
    );
    const values = backend.typedArrayFromHeap(out) as Float32Array;
    if (mean) { for (let i = 0; i < values.length; i++) values[i] /= rows; }
    return out;
  };
}

/** `SplitV` along any axis of a numeric tensor as row copies. */
function splitVWith(original: tf.KernelFunc): Kernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (x.dtype === "string") {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo[];
    }
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      attrs.numOrSizeSplits as number | number[],
      axis,
    );
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const outs = sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      return backend.makeOutput(shape, x.dtype);
    });
    // Heap views only after every allocation: an allocation may grow (and detach) the heap.
    const source = backend.typedArrayFromHeap(x);
    const rowLength = x.shape[axis] * inner;
    let start = 0;
    outs.forEach((out, i) => {
      const chunk = sizes[i] * inner;
      const target = backend.typedArrayFromHeap(out);
      for (let r = 0; r < outer; r++) {
        const from = r * rowLength + start;
        target.set(source.subarray(from, from + chunk), r * chunk);
      }
      start += chunk;
    });
    return outs;
  };
}

/**
 * Copies `x` into `out` with its axes permuted by `perm`, which keeps the last axis last: one
 * contiguous run of `shape[last]` elements per output row, source offsets stepped like an
 * odometer.
 */
function transposeRows(
  x: tf.backend_util.TypedArray,
  shape: readonly number[],
  perm: readonly number[],
  out: tf.backend_util.TypedArray,
): void {
  const rank = shape.length;
  const run = shape[rank - 1];
  const strides = tf.util.computeStrides(shape as number[]);
  const outer = perm.slice(0, -1).map((p) => shape[p]);
  const steps = perm.slice(0, -1).map((p) => strides[p]);
  const index = new Array(outer.length).fill(0);
  const rows = tf.util.sizeFromShape(outer);
  let from = 0;
  for (let r = 0, to = 0; r < rows; r++, to += run) {
    if (run >= 64) out.set(x.subarray(from, from + run), to);
    else for (let t = 0; t < run; t++) out[to + t] = x[from + t];
    for (let axis = outer.length - 1; axis >= 0; axis--) {
      from += steps[axis];
      if (++index[axis] < outer[axis]) break;
      from -= steps[axis] * outer[axis];
      index[axis] = 0;
    }
  }
}

/**
 * `Transpose` of a permutation that keeps the last axis (every attention head split and merge)
 * as row copies; measured ~3× faster than the wasm kernel's generic element loop on MiT's
 * [2,16,2,8,32] head layouts. Other permutations go to the original.
 */
function transposeWith(original: tf.KernelFunc): Kernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const perm = attrs.perm as number[];
    const rank = x.shape.length;
    if (x.dtype === "string" || rank < 2 || perm[rank - 1] !== rank - 1) {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    }
    const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
    transposeRows(backend.typedArrayFromHeap(x), x.shape, perm, backend.typedArrayFromHeap(out));
    return out;
  };
}

const WRAPPERS: Record<string, KernelWrapper> = {
  Sum: leadingReduction(false),
  Mean: leadingReduction(true),
  SplitV: splitVWith,
  Transpose: transposeWith,
};

/** The kernels this module replaces, each by a function of the original. */
export const WASM_LAYOUT_KERNELS: Readonly<Record<string, KernelWrapper>> = WRAPPERS;

/**
 * Replaces each kernel of `wrappers` on wasm by the wrapper applied to tfjs's own kernel (once
 * per process and name; the original stays reachable through {@linkcode originalWasmKernel}).
 */
export function wrapWasmKernels(wrappers: Readonly<Record<string, KernelWrapper>>): void {
  for (const [name, wrap] of Object.entries(wrappers)) {
    if (originals.has(name)) continue;
    const kernel = tf.getKernel(name, "wasm");
    if (kernel === undefined) throw new Error(`wasm backend: ${name} is not registered`);
    originals.set(name, kernel.kernelFunc);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      setupFunc: kernel.setupFunc,
      kernelFunc: wrap(kernel.kernelFunc) as unknown as tf.KernelFunc,
    });
  }
}
