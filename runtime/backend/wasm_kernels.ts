/**
 * Training kernels for the wasm backend, registered on top of `@tensorflow/tfjs-backend-wasm`.
 *
 * tfjs 4.22's wasm backend lacks `Conv2DBackpropFilter`, both depthwise backprops and
 * `UnsortedSegmentSum`, and its `Conv2DBackpropInput` is a scalar C++ loop
 * (`shared/reference/tfjs_in_deno.md` §B). Each convolution backprop here is one forward
 * convolution or one matrix product over rearranged tensors (see `conv_backprop.ts`), so the
 * work runs in XNNPACK at forward-pass speed.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
} from "./conv_backprop.ts";
import { geometryOf, type WasmBackendLike, WasmKernelOps } from "./tensor_ops.ts";

/** The wasm backend's own API that {@linkcode unsortedSegmentSum} needs. */
interface WasmBackend extends WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: WasmBackend; attrs: Attrs };

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  const dilations = (attrs.dilations ?? 1) as number | [number, number];
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    dilations,
    attrs.pad as "valid",
    attrs.dimRoundingMode as "floor" | undefined,
    depthwise,
  );
}

function requireNHWC(kernel: string, attrs: Attrs): void {
  const format = attrs.dataFormat;
  if (format !== undefined && format !== "NHWC" && format !== "channelsLast") {
    throw new Error(`wasm ${kernel}: only NHWC is supported, got dataFormat '${format}'`);
  }
}

function conv2DBackpropFilterKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  requireNHWC("Conv2DBackpropFilter", attrs);
  const { x, dy } = inputs;
  const ops = new WasmKernelOps(backend);
  const g = geometryOf(convInfo(x.shape, attrs.filterShape as number[], attrs, false));
  return ops.finish(conv2dBackpropFilter(ops, x, dy, g));
}

function conv2DBackpropInputKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  requireNHWC("Conv2DBackpropInput", attrs);
  const { dy, filter } = inputs;
  const ops = new WasmKernelOps(backend);
  const g = geometryOf(convInfo(attrs.inputShape as number[], filter.shape, attrs, false));
  return ops.finish(conv2dBackpropInput(ops, dy, filter, g));
}

function depthwiseBackpropFilterKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const ops = new WasmKernelOps(backend);
  const g = geometryOf(convInfo(x.shape, filterShape, attrs, true));
  return ops.finish(depthwiseBackpropFilter(ops, x, dy, g, filterShape[3]));
}

function depthwiseBackpropInputKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, filter } = inputs;
  const ops = new WasmKernelOps(backend);
  const g = geometryOf(convInfo(attrs.inputShape as number[], filter.shape, attrs, true));
  return ops.finish(depthwiseBackpropInput(ops, dy, filter, g));
}

/**
 * `UnsortedSegmentSum` (the gradient of `gather`): sums rows of `x` into `numSegments` rows by
 * `segmentIds`; ids outside [0, numSegments) are dropped, as TensorFlow does. A single pass over
 * the wasm heap: the work is one add per input element.
 */
function unsortedSegmentSumKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new Error(
      `wasm UnsortedSegmentSum: segmentIds must be a vector with one id per row of x ` +
        `(x [${x.shape}], segmentIds [${segmentIds.shape}])`,
    );
  }
  const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = backend.readSync(x.dataId);
  const ids = backend.readSync(segmentIds.dataId);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  const result = backend.typedArrayFromHeap(out);
  result.fill(0);
  for (let row = 0; row < ids.length; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) continue;
    const src = row * rowSize;
    const dst = segment * rowSize;
    for (let k = 0; k < rowSize; k++) result[dst + k] += values[src + k];
  }
  return out;
}

/**
 * `BatchMatMul` with transposed operands: the wasm kernel's transposed path is a scalar loop about
 * 10× slower than its plain path (measured: 1.3 vs 23 GFLOP/s for 2048×9216ᵀ·2048×256), and
 * every matmul gradient transposes an operand. Transposing explicitly first is far cheaper.
 */
function batchMatMulWith(original: tf.KernelFunc) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    }
    const ops = new WasmKernelOps(backend);
    const swapLast = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [
        perm[perm.length - 1],
        perm[perm.length - 2],
      ];
      return ops.transpose(t, perm);
    };
    const a = transposeA ? swapLast(inputs.a) : inputs.a;
    const b = transposeB ? swapLast(inputs.b) : inputs.b;
    const out = original(
      { inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } } as never,
    ) as tf.TensorInfo;
    ops.finish(out);
    return out;
  };
}

/**
 * `Sum` over leading axes (every bias and BatchNorm gradient sums over N, H, W) as a matrix–vector
 * product with ones: the wasm kernel transposes and loops (measured 19 ms for [2,32,32,1024] →
 * [1024]) where XNNPACK's GEMM takes 1 ms. Other reductions keep the original kernel.
 */
function sumWith(original: tf.KernelFunc, matMul: tf.KernelFunc) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { x } = inputs;
    const rank = x.shape.length;
    const axes = ([] as number[]).concat(attrs.axis as number | number[]).map((
      a,
    ) => (a < 0 ? a + rank : a))
      .sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== "float32") {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    }
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const rest = x.shape.slice(axes.length);
    const columns = rest.reduce((a, b) => a * b, 1);
    const ops = new WasmKernelOps(backend);
    const ones = backend.makeOutput([1, rows], "float32");
    backend.typedArrayFromHeap(ones).fill(1);
    const product = matMul({
      inputs: { a: ones, b: ops.reshape(x, [rows, columns]) },
      backend,
      attrs: { transposeA: false, transposeB: false },
    } as never) as tf.TensorInfo;
    const shape = attrs.keepDims ? [...axes.map(() => 1), ...rest] : rest;
    const out = ops.reshape(product, shape);
    ops.finish(out);
    backend.disposeData(ones.dataId);
    backend.disposeData(product.dataId);
    return out;
  };
}

/** The kernels this module registers on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "UnsortedSegmentSum",
];

const implementations: Record<string, (args: KernelArgs) => tf.TensorInfo> = {
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  Conv2DBackpropInput: conv2DBackpropInputKernel,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel,
};

let originalBatchMatMul: tf.KernelFunc | undefined;

/** Registers (or re-registers, replacing tfjs's slow one) every kernel of ours on wasm. */
export function registerWasmTrainingKernels(): void {
  if (originalBatchMatMul === undefined) {
    const kernel = tf.getKernel("BatchMatMul", "wasm");
    if (kernel === undefined) throw new Error("wasm backend: BatchMatMul is not registered");
    originalBatchMatMul = kernel.kernelFunc;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({
      kernelName: "BatchMatMul",
      backendName: "wasm",
      setupFunc: kernel.setupFunc,
      kernelFunc: batchMatMulWith(originalBatchMatMul) as unknown as tf.KernelFunc,
    });
    const sum = tf.getKernel("Sum", "wasm");
    if (sum === undefined) throw new Error("wasm backend: Sum is not registered");
    tf.unregisterKernel("Sum", "wasm");
    tf.registerKernel({
      kernelName: "Sum",
      backendName: "wasm",
      setupFunc: sum.setupFunc,
      kernelFunc: sumWith(sum.kernelFunc, originalBatchMatMul) as unknown as tf.KernelFunc,
    });
  }
  for (const name of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: implementations[name] as unknown as tf.KernelFunc,
    });
  }
}
