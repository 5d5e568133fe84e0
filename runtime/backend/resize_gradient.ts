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
 *   replicate padding), then the two padding rows are added back onto the edge rows. Each axis
 *   is one strided depthwise convolution (and a two-row one for the padding rows), about
 *   2–3 multiply-adds per dy element in all;
 * - any other geometry: the two dense matrix products, O(dy · inH) work.
 *
 * The convolution form is expanded and checked against `resizeMatrix` on the host before first
 * use (per geometry), so the fast path cannot silently diverge from the forward mapping.
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
 * `Aᵀ` along one axis as a correlation. With the input replicate-padded by one pixel each side
 * (padded row p = i + 1), padded row p receives `Σ_t K[t] · dy[s·(p − 1) + t]`; rows 0 and
 * in + 1 (the "phantom" rows) are then added onto image rows 0 and in − 1.
 */
interface AxisConvolution {
  /** The upsampling factor, the correlation's stride. */
  stride: number;
  /** First dy offset `t` of the kernel. */
  tMin: number;
  /** `K[tMin + u]`, zero-extended to a tap count XNNPACK has a fast kernel for (4, 9 or 25). */
  kernel: Float32Array;
  /** Whether a phantom row receives weight (always, except for s = 1). */
  phantoms: boolean;
}

/**
 * XNNPACK (tfjs-wasm 4.22) runs a depthwise convolution fast only when its tap count is exactly
 * 4, 9 or 25; others (8, 16) fall back to a path ~30× slower, so the kernels are zero-extended.
 */
function fastTapCount(taps: number): number {
  return [4, 9, 25].find((n) => n >= taps) ?? taps;
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
  const tent = (t: number) => Math.max(0, 1 - Math.abs(t / s + delta));
  // The structured operator, expanded, must be the forward's matrix.
  const expanded = new Float64Array(outSize * inSize);
  for (let p = 0; p <= inSize + 1; p++) {
    const i = Math.min(inSize - 1, Math.max(0, p - 1));
    for (let t = tMin; t <= tMax; t++) {
      const o = s * (p - 1) + t;
      if (o >= 0 && o < outSize) expanded[o * inSize + i] += tent(t);
    }
  }
  const reference = resizeMatrix(inSize, outSize, alignCorners, halfPixelCenters);
  for (let k = 0; k < reference.length; k++) {
    if (Math.abs(expanded[k] - reference[k]) > 1e-12) return undefined;
  }
  const kernel = new Float32Array(fastTapCount(tMax - tMin + 1));
  for (let t = tMin; t <= tMax; t++) kernel[t - tMin] = tent(t);
  return { stride: s, tMin, kernel, phantoms: s > 1 };
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
 * One axis of the fast path on `t` (`axis` 1 = rows, 2 = columns): the image rows `[n, in, ·, c]`
 * and the two phantom rows `[n, 2, ·, c]` (p = 0 and p = in + 1), or none for s = 1. Both are
 * strided depthwise correlations over `t`; the phantom one uses the stride s·(in + 1) so that it
 * reads only the two edge windows. Padding is explicit, so no padded copy of dy is made.
 */
function correlateAxis(
  t: tf.Tensor4D,
  axis: 1 | 2,
  inSize: number,
  a: AxisConvolution,
): [tf.Tensor4D, tf.Tensor4D | undefined] {
  if (a.stride === 1) return [t, undefined];
  const c = t.shape[3];
  const taps = a.kernel.length;
  const weights = new Float32Array(taps * c);
  for (let u = 0; u < taps; u++) weights.fill(a.kernel[u], u * c, (u + 1) * c);
  const filter = tf.tensor4d(weights, axis === 1 ? [taps, 1, c, 1] : [1, taps, c, 1]);
  const outSize = t.shape[axis];
  const s = a.stride;
  const geometry = (stride: number, before: number, after: number) => {
    const strides: [number, number] = axis === 1 ? [stride, 1] : [1, stride];
    const none: [number, number] = [0, 0];
    const pad: tf.backend_util.ExplicitPadding = axis === 1
      ? [[0, 0], [before, after], none, [0, 0]]
      : [[0, 0], none, [before, after], [0, 0]];
    return tf.depthwiseConv2d(t, filter, strides, pad);
  };
  // Image row r = p − 1 reads dy[s·r + tMin + u]: pad −tMin before; after, what the last window
  // needs beyond dy.
  const image = geometry(s, -a.tMin, s * (inSize - 1) + taps + a.tMin - outSize);
  // Phantom rows p = 0 and p = in + 1: windows at padded offsets 0 and s·(in + 1).
  const before = s - a.tMin;
  const phantom = a.phantoms
    ? geometry(s * (inSize + 1), before, s * (inSize + 1) + taps - before - outSize)
    : undefined;
  return [image, phantom];
}

/**
 * The phantom rows `[n, 2, ·, c]` placed onto image rows 0 and in − 1 of a zero tensor
 * (the forward read padding row 0 from row 0 and row in + 1 from row in − 1).
 */
function spreadPhantoms(phantom: tf.Tensor4D, axis: 1 | 2, inSize: number): tf.Tensor4D {
  if (inSize === 1) return tf.sum(phantom, axis, true);
  const [first, last] = tf.split(phantom, 2, axis);
  if (inSize === 2) return tf.concat([first, last], axis) as tf.Tensor4D;
  const shape: [number, number, number, number] = [...phantom.shape];
  shape[axis] = inSize - 2;
  return tf.concat([first, tf.zeros(shape), last], axis) as tf.Tensor4D;
}

/** Folds the phantom rows of one axis onto the image rows. */
function fold(
  image: tf.Tensor4D,
  phantom: tf.Tensor4D | undefined,
  axis: 1 | 2,
  inSize: number,
): tf.Tensor4D {
  return phantom === undefined ? image : tf.add(image, spreadPhantoms(phantom, axis, inSize));
}

/**
 * The fast path: rows, then columns, each a strided depthwise correlation (separable: two 1-D
 * passes cost 2·taps per output where one 2-D pass costs taps², and hit XNNPACK's fast tap
 * counts). The row pass runs on dy; everything after it is at most dy/s in size.
 */
function convolutionBackprop(
  dy: tf.Tensor4D,
  inH: number,
  inW: number,
  rows: AxisConvolution,
  cols: AxisConvolution,
): tf.Tensor4D {
  const [imageRows, phantomRows] = correlateAxis(dy, 1, inH, rows);
  const columns = (t: tf.Tensor4D) => {
    const [image, phantom] = correlateAxis(t, 2, inW, cols);
    return fold(image, phantom, 2, inW);
  };
  return fold(
    columns(imageRows),
    phantomRows === undefined ? undefined : columns(phantomRows),
    1,
    inH,
  );
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
