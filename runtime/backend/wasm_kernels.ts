/**
 * Training kernels for the wasm backend, registered on top of `@tensorflow/tfjs-backend-wasm`.
 *
 * tfjs 4.22's wasm backend lacks `Conv2DBackpropFilter`, both depthwise backprops and
 * `UnsortedSegmentSum`, and its `Conv2DBackpropInput` is a scalar C++ loop
 * (`shared/reference/tfjs_in_deno.md` §B). Each convolution backprop here does only the work the
 * gradient needs: the multiply-adds of a dense convolution run as one XNNPACK matrix product (or,
 * for stride-1 input gradients, one forward convolution), and the rearranging around it is a
 * single JavaScript pass over the wasm heap (`conv_loops.ts`): no zero-inserted inputs, no
 * per-tap slices, no `Reverse`. XNNPACK caches a product's packed right operand per tensor id,
 * and in training every operand is new, so each product also pays one packing pass over its
 * right operand; the kernels put the smaller matrix there.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { conv2dBackpropInput, depthwiseBackpropInput, isPointwise } from "./conv_backprop.ts";
import { col2im, depthwiseFilterGradient, im2colTransposed, transpose } from "./conv_loops.ts";
import { geometryOf, type WasmBackendLike, WasmKernelOps } from "./tensor_ops.ts";
import { heapAddress, type HeapBackend, simdKernels } from "./simd/mod.ts";
import { WASM_LAYOUT_KERNELS, wrapWasmKernels } from "./wasm_layout.ts";

/** The wasm backend's own API that our kernels need. */
interface WasmBackend extends WasmBackendLike, HeapBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  incRef(dataId: unknown): void;
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

/**
 * dW `[kh, kw, C, O]` = colsᵀ · dY: the transposed im2col matrix `[kh·kw·C, n·oh·ow]` built in one
 * pass, then one XNNPACK product with dY `[n·oh·ow, O]` as the packed operand (the other
 * orientation, dYᵀ · cols, measured slower on every MiT-B0 shape). The matrix and the product are
 * those of the formulation this replaced (per-tap slices and a concat), so results are
 * bit-identical to it.
 */
function conv2DBackpropFilterKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  requireNHWC("Conv2DBackpropFilter", attrs);
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const g = geometryOf(convInfo(x.shape, filterShape, attrs, false));
  const ops = new WasmKernelOps(backend);
  const rows = filterShape[0] * filterShape[1] * filterShape[2];
  const columns = g.batch * g.outHeight * g.outWidth;
  const colsT = ops.alloc([rows, columns]);
  im2colTransposed(ops.view(x), g, ops.view(colsT));
  const product = ops.matMul(colsT, ops.reshape(dy, [columns, filterShape[3]]));
  return ops.finish(ops.reshape(product, filterShape));
}

/**
 * dX `[n, H, W, C]`. Stride 1 (k > 1): one forward convolution of the padded dY with the flipped
 * filter (`conv_backprop.ts`, flipped in JavaScript), as before: as fast as the product below at
 * DAFormer's 3×3 shapes (within ±15%, the measurement's noise) and bit-identical. Otherwise the
 * per-pixel column gradients `dY · Wᵀ` `[n·oh·ow, kh·kw·C]` are one XNNPACK product, scattered
 * into dX by col2im: a strided convolution's input gradient no longer runs on a zero-inserted dY
 * (15 of 16 multiplications by zero at stride 4), and 1×1 needs no col2im at all. Where kernel =
 * stride the taps do not overlap and dX is bit-identical to before; overlapping taps are summed
 * in another order (differences ~1e-6 of the largest entry).
 */
function conv2DBackpropInputKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  requireNHWC("Conv2DBackpropInput", attrs);
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  const g = geometryOf(convInfo(inputShape, filter.shape, attrs, false));
  const ops = new WasmKernelOps(backend);
  if (g.strideHeight === 1 && g.strideWidth === 1 && !isPointwise(g)) {
    return ops.finish(conv2dBackpropInput(ops, dy, filter, g));
  }
  const [kh, kw, c, outC] = filter.shape;
  const rows = kh * kw * c;
  const columns = g.batch * g.outHeight * g.outWidth;
  let cols: tf.TensorInfo;
  if (columns < rows) {
    // Fewer pixels than filter rows (MiT's late patch embeds and spatial reductions): pack dYᵀ
    // rather than the larger Wᵀ, and transpose the small product back.
    const dyT = ops.alloc([outC, columns]);
    transpose(ops.view(dy), columns, outC, ops.view(dyT));
    const colsT = ops.matMul(ops.reshape(filter, [rows, outC]), dyT);
    cols = ops.alloc([columns, rows]);
    transpose(ops.view(colsT), rows, columns, ops.view(cols));
  } else {
    const filterT = ops.alloc([outC, rows]);
    transpose(ops.view(filter), rows, outC, ops.view(filterT));
    cols = ops.matMul(ops.reshape(dy, [columns, outC]), filterT);
  }
  if (isPointwise(g)) return ops.finish(ops.reshape(cols, inputShape));
  const dx = ops.alloc(inputShape);
  col2im(ops.view(cols), g, ops.view(dx));
  return ops.finish(dx);
}

/**
 * The depthwise filter gradient in one pass with float64 sums (`depthwiseFilterGradient`),
 * measured 2.5–10× faster than the depthwise convolution of X with dY it replaces; its values
 * move by float32 rounding (≤ 1.2e-6 of the largest entry on MiT-B0's shapes). With channel
 * multiplier 1 (every MiT and DAFormer layer) the pass is the SIMD kernel's, bit-identical to the
 * JavaScript one and ~5× faster; the float64 sums live in a scratch tensor on the heap.
 */
function depthwiseBackpropFilterKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const ops = new WasmKernelOps(backend);
  const g = geometryOf(convInfo(x.shape, filterShape, attrs, true));
  const out = ops.alloc(filterShape);
  const count = tf.util.sizeFromShape(filterShape);
  if (filterShape[3] !== 1) {
    depthwiseFilterGradient(ops.view(x), ops.view(dy), g, filterShape[3], ops.view(out));
    return ops.finish(out);
  }
  // Two float32 slots per double, and one more for 8-byte alignment.
  const scratch = ops.alloc([2 * count + 1]);
  const start = heapAddress(backend, scratch);
  const aligned = start % 8 === 0 ? start : start + 4;
  const sums = new Float64Array(ops.view(scratch).buffer, aligned, count);
  sums.fill(0);
  simdKernels(backend).depthwiseFilterGrad(
    heapAddress(backend, x),
    heapAddress(backend, dy),
    aligned,
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outHeight,
    g.outWidth,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.dilationHeight,
    g.dilationWidth,
    g.padTop,
    g.padLeft,
  );
  ops.view(out).set(sums);
  return ops.finish(out);
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

/** `t` with its last two axes swapped, by a JavaScript pass per matrix of the batch. */
function swapLastAxes(ops: WasmKernelOps, t: tf.TensorInfo): tf.TensorInfo {
  const shape = t.shape;
  const [rows, cols] = shape.slice(-2);
  const out = ops.alloc([...shape.slice(0, -2), cols, rows]);
  const source = ops.view(t);
  const target = ops.view(out);
  for (let offset = 0; offset < source.length; offset += rows * cols) {
    const end = offset + rows * cols;
    transpose(source.subarray(offset, end), rows, cols, target.subarray(offset, end));
  }
  return out;
}

/**
 * Whether C = A·B is clearly cheaper computed as Cᵀ = Bᵀ·Aᵀ, counting element passes: XNNPACK
 * packs the right operand on every call (its cache is per tensor id, and training operands are
 * new each step), so that orientation packs k·m instead of k·n, at the price of transposing C
 * back; either side also transposes whichever operand is not stored the way it needs. Where the
 * counts are within 2× the GEMM's own shape preferences decide (measured: the swap lost 1.2–2.4×
 * at 128×640·(160×640)ᵀ, counts 184K vs 205K), so the direct orientation is kept.
 */
function swapIsCheaper(m: number, k: number, n: number, ta: boolean, tb: boolean): boolean {
  const direct = (ta ? m * k : 0) + (tb ? k * n : 0) + k * n;
  const swapped = (tb ? 0 : k * n) + (ta ? 0 : m * k) + k * m + m * n;
  return 2 * swapped < direct;
}

/**
 * A product of untransposed operands with more than one matrix in the batch, on the SIMD kernel
 * (`simd/functions.ts`): tfjs runs these through a scalar loop (~0.5 GFLOP/s for attention's
 * 1024×16·16×32 per image), and the kernel sums in that loop's order, so the results are
 * bit-identical. A batch of one stays on XNNPACK (`undefined`), and so do batch shapes that do
 * not broadcast by a batch of one.
 */
function batchedProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo | undefined {
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const [m, k] = a.shape.slice(-2);
  const [kb, n] = b.shape.slice(-2);
  if (batch === 1 || kb !== k || ![1, batch].includes(batchA) || ![1, batch].includes(batchB)) {
    return undefined;
  }
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const out = backend.makeOutput([...outer, m, n], "float32");
  simdKernels(backend).batchMatMul(
    heapAddress(backend, a),
    heapAddress(backend, b),
    heapAddress(backend, out),
    batch,
    batchA === 1 ? 0 : 4 * m * k,
    batchB === 1 ? 0 : 4 * k * n,
    m,
    k,
    n,
  );
  return out;
}

/**
 * `BatchMatMul` with transposed operands: the wasm kernel's transposed path is a scalar loop about
 * 10× slower than its plain path (measured: 1.3 vs 23 GFLOP/s for 2048×9216ᵀ·2048×256), and
 * every matmul gradient transposes an operand. We transpose in JavaScript first (tiled, ~2× the
 * wasm `Transpose`) and, for single matrices, take the orientation that packs the smaller operand
 * (`swapIsCheaper`: `dY · Wᵀ` with few tokens, 6× faster at 32×256·(1024×256)ᵀ). Each output
 * element is the same k-ordered float32 sum either way, so results are bit-identical.
 */
function batchMatMulWith(original: tf.KernelFunc) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const { a, b } = inputs;
    const plain = { transposeA: false, transposeB: false };
    const product = (left: tf.TensorInfo, right: tf.TensorInfo) =>
      batchedProduct(backend, left, right) ??
        original(
          { inputs: { a: left, b: right }, backend, attrs: plain } as never,
        ) as tf.TensorInfo;
    if (a.dtype !== "float32" || b.dtype !== "float32") {
      return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    }
    if (!transposeA && !transposeB) return product(a, b);
    const ops = new WasmKernelOps(backend);
    const [ar, ac] = a.shape.slice(-2);
    const [m, k] = transposeA ? [ac, ar] : [ar, ac];
    const [br, bc] = b.shape.slice(-2);
    const [kb, n] = transposeB ? [bc, br] : [br, bc];
    // Mismatched operands: the original kernel reports them with its own message.
    if (kb !== k) return original({ inputs, backend, attrs } as never) as tf.TensorInfo;
    const single = [a, b].every((t) => t.shape.slice(0, -2).every((d) => d === 1));
    if (single && swapIsCheaper(m, k, n, transposeA, transposeB)) {
      const left = transposeB ? ops.reshape(b, [n, k]) : ops.reshape(swapLastAxes(ops, b), [n, k]);
      const right = transposeA ? ops.reshape(a, [k, m]) : ops.reshape(swapLastAxes(ops, a), [k, m]);
      const cT = product(left, right);
      ops.finish(cT);
      const batchDims = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
      const out = backend.makeOutput([...batchDims, m, n], "float32");
      const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      transpose(view(cT), n, m, view(out));
      backend.disposeData(cT.dataId);
      return out;
    }
    const out = product(
      transposeA ? swapLastAxes(ops, a) : a,
      transposeB ? swapLastAxes(ops, b) : b,
    );
    return ops.finish(out);
  };
}

/** The kernels this module registers on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "UnsortedSegmentSum",
  "Identity",
];

/**
 * `Identity` without a copy: the output shares the input's buffer and bumps its reference count,
 * as tfjs's cpu backend and the wasm `Reshape` already do. tfjs's engine dispatches an Identity
 * for every tensor a kernel saves for its gradient (`engine.clone`), ~640 per MiT-B0 step, and
 * the wasm kernel copied each one. Sharing is safe because no kernel writes into its inputs.
 */
function identityKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs;
  if (x.dtype === "string") {
    return copyIdentity!({ inputs, backend, attrs: {} } as never) as tf.TensorInfo;
  }
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const implementations: Record<string, (args: KernelArgs) => tf.TensorInfo> = {
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  Conv2DBackpropInput: conv2DBackpropInputKernel,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInputKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel,
  Identity: identityKernel,
};

let copyIdentity: tf.KernelFunc | undefined;

/** Registers (or re-registers, replacing tfjs's slow one) every kernel of ours on wasm. */
export function registerWasmTrainingKernels(): void {
  wrapWasmKernels({ BatchMatMul: batchMatMulWith });
  wrapWasmKernels(WASM_LAYOUT_KERNELS);
  copyIdentity ??= tf.getKernel("Identity", "wasm")?.kernelFunc;
  for (const name of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: implementations[name] as unknown as tf.KernelFunc,
    });
  }
}
