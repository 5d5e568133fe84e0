/**
 * Our SIMD kernels (`functions.ts`), compiled once per process and instantiated on the active
 * tfjs wasm backend's own memory, so that they read and write tensors in place: the heap is
 * `Module.asm.memory` in the single-threaded build and the shared `Module.wasmMemory` in the
 * threaded one. They run on the calling thread, like every kernel of ours.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { simdFunctionDefs } from "./functions.ts";
import { buildModule } from "./wasm_binary.ts";

/** The SIMD functions, called with byte addresses on the wasm heap. */
export interface SimdKernels {
  /** AdamW over `count` (a multiple of 4) elements; see `functions.ts`. */
  adamwUpdate(
    p: number,
    g: number,
    m: number,
    v: number,
    outP: number,
    outM: number,
    outV: number,
    count: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    eps: number,
    stepSize: number,
    sqrtCorrection2: number,
    decayFactor: number,
  ): void;
  /** `out = teacher·α + student·(1−α)` over `count` (a multiple of 4) elements. */
  emaUpdate(
    teacher: number,
    student: number,
    out: number,
    count: number,
    alpha: number,
    oneMinusAlpha: number,
  ): void;
  /** `out[b] = a[b]·b[b]` for `batch` row-major m×k and k×n float32 matrices. */
  batchMatMul(
    a: number,
    b: number,
    out: number,
    batch: number,
    aStride: number,
    bStride: number,
    m: number,
    k: number,
    n: number,
  ): void;
  /** `out = dy · (x > 0 ? 1 : 0)` over `count` (a multiple of 4) elements. */
  reluGrad(dy: number, x: number, out: number, count: number): void;
  /** `out[c] = Σ_r a[r][c]` for a row-major `rows × cols` float32 matrix, in row order. */
  columnSums(a: number, out: number, rows: number, cols: number): void;
  /** Adds the depthwise filter gradient's products into float64 `sums` (multiplier 1). */
  depthwiseFilterGrad(
    x: number,
    dy: number,
    sums: number,
    batch: number,
    inHeight: number,
    inWidth: number,
    channels: number,
    outHeight: number,
    outWidth: number,
    filterHeight: number,
    filterWidth: number,
    strideHeight: number,
    strideWidth: number,
    dilationHeight: number,
    dilationWidth: number,
    padTop: number,
    padLeft: number,
  ): void;
}

/** The parts of tfjs's wasm backend this module reads. */
export interface HeapBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
}

const modules = new Map<boolean, WebAssembly.Module>();
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** The wasm backend's heap memory. */
function heapMemory(backend: HeapBackend): WebAssembly.Memory {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      "SIMD kernels: the tfjs wasm backend exposes no WebAssembly.Memory (neither " +
        "Module.wasmMemory nor Module.asm.memory); @tensorflow/tfjs-backend-wasm must be 4.22.0.",
    );
  }
  return memory;
}

/** The SIMD kernels bound to `backend`'s heap (compiled and instantiated on first use). */
export function simdKernels(backend: HeapBackend): SimdKernels {
  const memory = heapMemory(backend);
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const shared = memory.buffer instanceof SharedArrayBuffer;
    let module = modules.get(shared);
    if (module === undefined) {
      module = new WebAssembly.Module(buildModule(simdFunctionDefs(), shared));
      modules.set(shared, module);
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    kernels = instance.exports as unknown as SimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The byte address of a tensor's data on the wasm heap. */
export function heapAddress(backend: HeapBackend, info: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error("SIMD kernels: a tensor has no data on the wasm heap");
  return data.memoryOffset;
}
