/**
 * The exact gradient of `ResizeBilinear`, on every backend.
 *
 * tfjs 4.22's gradient runs `ResizeBilinearGrad` with `alignCorners` only, dropping
 * `halfPixelCenters`: for `resizeBilinear(x, size, false, true)` (PyTorch `align_corners=False`,
 * what every model here uses) it returns the gradient of the asymmetric mapping, off by tens of
 * percent; the cpu kernel also returns `[n, W, H, c]` on non-square inputs.
 *
 * The forward is separable and linear: per (n, c), `y = A_h · x · A_wᵀ` with interpolation
 * matrices `A_h [outH, inH]`, `A_w [outW, inW]` holding the forward kernel's lerp weights
 * ({@linkcode resizeMatrix}). Its adjoint is `dx = A_hᵀ · dy · A_w`, computed one of two ways,
 * both over tfjs ops that every backend runs:
 *
 * - integer upsampling without `alignCorners` (every resize the networks differentiate): the
 *   rows of `A` repeat with period s = out/in, so `Aᵀ` is a stride-s correlation with a fixed
 *   tent kernel on the input padded by one edge pixel each side (the forward's clamping is
 *   replicate padding), followed by folding the two padding rows back onto the edges. Both axes
 *   together are ONE strided depthwise convolution, O(4 · dy) work;
 * - any other geometry: the two dense matrix products, O(dy · inH) work.
 *
 * The convolution's kernel is checked against `resizeMatrix` on the host before first use, so the
 * fast path cannot silently diverge from the forward mapping.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * The forward kernel's interpolation matrix along one axis, `[outSize, inSize]` row-major:
 * `y[o] = Σ_i A[o, i] x[i]`. It reproduces tfjs's `ResizeBilinear` kernels (cpu, wasm, webgpu):
 * - source coordinate: `s = r·(o + ½) − ½` with half-pixel centers (PyTorch `align_corners=False`,
 *   TF `half_pixel_centers`), else `s = r·o`; `r = (in − 1)/(out − 1)` with `alignCorners` and
 *   out > 1, else `in/out`;
 * - taps: `lo = max(0, ⌊s⌋)`, `hi = min(in − 1, ⌈s⌉)`, weights `1 − (s − lo)` and `s − lo`.
 *   Where both taps clamp to one pixel (s < 0 or s > in − 1) the weights still sum to 1, which is
 *   PyTorch's clamping of s to [0, in − 1].
 */
export function resizeMatrix(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float64Array {
  const corners = alignCorners && outSize > 1;
  const ratio = corners ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const matrix = new Float64Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const source = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(source));
    const hi = Math.min(inSize - 1, Math.ceil(source));
    const frac = source - lo;
    matrix[o * inSize + lo] += 1 - frac;
    matrix[o * inSize + hi] += frac;
  }
  return matrix;
}

/**
 * `Aᵀ` along one axis as a correlation: padded input row p ∈ [first, last] (p = i + 1; rows 0
 * and in + 1 are the replicate padding) receives `Σ_u kernel[u] · dy[s·(p − first) + u − padBefore]`.
 */
interface AxisConvolution {
  /** The upsampling factor, the correlation's stride. */
  stride: number;
  /** The tent weights, `kernel[u]` for dy offset `t = tMin + u` from `s·(p − 1)`. */
  kernel: Float64Array;
  /** Zero rows before dy. */
  padBefore: number;
  /** Zero rows after dy. */
  padAfter: number;
  /** First padded row computed: 0 when the top padding row receives weight, else 1. */
  first: number;
  /** Last padded row computed: in + 1 when the bottom padding row receives weight, else in. */
  last: number;
}

/**
 * The correlation form of `Aᵀ`, or `undefined` where the rows of `A` are not periodic (not an
 * integer upsampling, or `alignCorners`) or where it would not reproduce `resizeMatrix`.
 *
 * With o = s·(p − 1) + t the padded source coordinate minus p is `t/s + δ`, δ = ½/s − ½ with
 * half-pixel centers and 0 without, so the weight is the tent `max(0, 1 − |t/s + δ|)`.
 */
function axisConvolution(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): AxisConvolution | undefined {
  if (alignCorners || outSize % inSize !== 0) return undefined;
  const s = outSize / inSize;
  const delta = halfPixelCenters ? 0.5 / s - 0.5 : 0;
  const tMin = Math.floor(-s * (1 + delta)) + 1;
  const tMax = Math.ceil(s * (1 - delta)) - 1;
  const kernel = new Float64Array(tMax - tMin + 1);
  for (let t = tMin; t <= tMax; t++) kernel[t - tMin] = Math.max(0, 1 - Math.abs(t / s + delta));
  const first = tMax >= s ? 0 : 1; // some o = t − s ≥ 0 lands on padded row 0
  const last = tMin <= -1 ? inSize + 1 : inSize; // some o = s·in + t < out lands on row in + 1
  const rows = last - first + 1;
  const padBefore = s * (1 - first) - tMin;
  const padAfter = s * (rows - 1) + kernel.length - padBefore - outSize;
  if (padBefore < 0 || padAfter < 0) return undefined;
  // The structured operator, expanded, must be the forward's matrix.
  const expanded = new Float64Array(outSize * inSize);
  for (let p = first; p <= last; p++) {
    const i = Math.min(inSize - 1, Math.max(0, p - 1));
    for (let t = tMin; t <= tMax; t++) {
      const o = s * (p - 1) + t;
      if (o >= 0 && o < outSize) expanded[o * inSize + i] += kernel[t - tMin];
    }
  }
  const reference = resizeMatrix(inSize, outSize, alignCorners, halfPixelCenters);
  for (let k = 0; k < reference.length; k++) {
    if (Math.abs(expanded[k] - reference[k]) > 1e-12) return undefined;
  }
  return { stride: s, kernel, padBefore, padAfter, first, last };
}

const axisCache = new Map<string, AxisConvolution | null>();
const matrixCache = new Map<string, Float32Array>();

function cachedAxis(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): AxisConvolution | undefined {
  const key = `${inSize}:${outSize}:${alignCorners}:${halfPixelCenters}`;
  if (!axisCache.has(key)) {
    axisCache.set(key, axisConvolution(inSize, outSize, alignCorners, halfPixelCenters) ?? null);
  }
  return axisCache.get(key) ?? undefined;
}

/**
 * {@linkcode resizeMatrix} as float32, `[outSize, inSize]`, or its transpose `[inSize, outSize]`,
 * cached per geometry. The transpose is taken on the host because transpose flags make wasm's
 * matrix product ~10× slower.
 */
function hostMatrix(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
  transposed: boolean,
): Float32Array {
  const key = `${inSize}:${outSize}:${alignCorners}:${halfPixelCenters}:${transposed}`;
  let cached = matrixCache.get(key);
  if (cached === undefined) {
    const a = resizeMatrix(inSize, outSize, alignCorners, halfPixelCenters);
    cached = new Float32Array(inSize * outSize);
    for (let o = 0; o < outSize; o++) {
      for (let i = 0; i < inSize; i++) {
        cached[transposed ? i * outSize + o : o * inSize + i] = a[o * inSize + i];
      }
    }
    matrixCache.set(key, cached);
  }
  return cached;
}

/**
 * Folds the computed padded rows `[first, last]` of `g` along `axis` onto the `inSize` image rows:
 * padding row 0 adds to row 0, padding row in + 1 to row in − 1 (the forward read them there).
 * Uses SplitV/Add/Concat, which the kernel lists already declare (no Slice).
 */
function foldPadding(
  g: tf.Tensor4D,
  axis: 1 | 2,
  inSize: number,
  first: number,
  last: number,
): tf.Tensor4D {
  if (first === 1 && last === inSize) return g;
  if (inSize === 1) return tf.sum(g, axis, true);
  const sizes = [
    ...(first === 0 ? [1] : []),
    1,
    ...(inSize > 2 ? [inSize - 2] : []),
    1,
    ...(last === inSize + 1 ? [1] : []),
  ];
  const parts = tf.split(g, sizes, axis);
  const top = first === 0 ? tf.add(parts.shift()!, parts.shift()!) : parts.shift()!;
  const bottom = last === inSize + 1 ? tf.add(parts.pop()!, parts.pop()!) : parts.pop()!;
  return tf.concat([top, ...parts, bottom], axis) as tf.Tensor4D;
}

/** The fast path: one strided depthwise correlation with the outer product of the tents. */
function convolutionBackprop(
  dy: tf.Tensor4D,
  inH: number,
  inW: number,
  rows: AxisConvolution,
  cols: AxisConvolution,
): tf.Tensor4D {
  const c = dy.shape[3];
  const kh = rows.kernel.length;
  const kw = cols.kernel.length;
  const filter = new Float32Array(kh * kw * c);
  for (let u = 0; u < kh; u++) {
    for (let v = 0; v < kw; v++) {
      filter.fill(rows.kernel[u] * cols.kernel[v], (u * kw + v) * c, (u * kw + v + 1) * c);
    }
  }
  const g = tf.depthwiseConv2d(
    dy,
    tf.tensor4d(filter, [kh, kw, c, 1]),
    [rows.stride, cols.stride],
    [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]],
  );
  const folded = foldPadding(g, 1, inH, rows.first, rows.last);
  return foldPadding(folded, 2, inW, cols.first, cols.last);
}

/**
 * The general path: `A_hᵀ · dy · A_w` as rank-2 matrix products only (wasm runs batched and
 * broadcast ones outside XNNPACK, ~15× slower). The height product runs first, with the rows
 * leading (`[outH, n·outW·c]`, a transpose only when n > 1); the width product then runs with
 * `outW` moved last (`[inH·n·c, outW] · A_w`).
 */
function matrixBackprop(
  dy: tf.Tensor4D,
  inH: number,
  inW: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): tf.Tensor4D {
  const [n, outH, outW, c] = dy.shape;
  const ahT = tf.tensor2d(hostMatrix(inH, outH, alignCorners, halfPixelCenters, true), [
    inH,
    outH,
  ]);
  const aw = tf.tensor2d(hostMatrix(inW, outW, alignCorners, halfPixelCenters, false), [
    outW,
    inW,
  ]);
  const byRow = n === 1
    ? tf.reshape(dy, [outH, outW * c])
    : tf.reshape(tf.transpose(tf.reshape(dy, [n, outH, outW * c]), [1, 0, 2]), [
      outH,
      n * outW * c,
    ]);
  // [inH, n, outW, c] → [inH, n, c, outW] → · A_w → [inH, n, c, inW] → [n, inH, inW, c].
  const rows = tf.reshape(tf.matMul(ahT, byRow), [inH, n, outW, c]);
  const widthLast = c === 1 ? rows : tf.transpose(rows, [0, 1, 3, 2]);
  const cols = tf.matMul(tf.reshape(widthLast, [inH * n * c, outW]), aw);
  return tf.transpose(tf.reshape(cols, [inH, n, c, inW]), [1, 0, 3, 2]);
}

/**
 * `dx = A_hᵀ · dy · A_w` per (n, c): the gradient of `resizeBilinear(images, [outH, outW],
 * alignCorners, halfPixelCenters)` for `dy [n, outH, outW, c]` and images of `imageShape`.
 */
export function resizeBilinearBackprop(
  dy: tf.Tensor4D,
  imageShape: readonly number[],
  alignCorners: boolean,
  halfPixelCenters: boolean,
): tf.Tensor4D {
  const [, inH, inW] = imageShape;
  const [, outH, outW] = dy.shape;
  return tf.tidy(() => {
    const grad = dy.dtype === "float32" ? dy : tf.cast(dy, "float32");
    const rows = cachedAxis(inH, outH, alignCorners, halfPixelCenters);
    const cols = cachedAxis(inW, outW, alignCorners, halfPixelCenters);
    return rows !== undefined && cols !== undefined
      ? convolutionBackprop(grad, inH, inW, rows, cols)
      : matrixBackprop(grad, inH, inW, alignCorners, halfPixelCenters);
  });
}

const resizeBilinearGrad: tf.GradConfig = {
  kernelName: "ResizeBilinear",
  inputsToSave: ["images"],
  gradFunc: (dy, saved, attrs) => {
    const [images] = saved;
    const alignCorners = attrs.alignCorners === true;
    const halfPixelCenters = attrs.halfPixelCenters === true;
    return {
      images: () =>
        resizeBilinearBackprop(dy as tf.Tensor4D, images.shape, alignCorners, halfPixelCenters),
    };
  },
};

/** Replaces tfjs's `ResizeBilinear` gradient with the exact adjoint of the forward kernel. */
export function registerResizeGradient(): void {
  tf.registerGradient(resizeBilinearGrad);
}
