/**
 * Finite-difference cases for every kernel a compiled program differentiates.
 *
 * Each case runs one kernel through tfjs (the gradient under test comes from the tfjs gradient
 * registry, ours included) and through an independent float64 JavaScript implementation of the
 * same forward (the finite-difference side). Written from the PyTorch/TensorFlow definitions,
 * never from the tfjs kernels, so a gradient that is wrong for the forward the networks use
 * (as tfjs's ResizeBilinear one was) cannot agree with it.
 *
 * @module
 */
import { tf } from "../../runtime/tf.ts";
import type { KernelUse } from "../../runtime/compile/kernels.ts";
import { RandomStream } from "../../runtime/random.ts";
import { fusedLayerNorm } from "../../runtime/backend/kernels/layer_norm.ts";
import { fusedGelu } from "../../runtime/backend/kernels/gelu.ts";
import { fusedLinear } from "../../runtime/backend/kernels/linear.ts";
import { gatherRows } from "../../runtime/losses/pixel_contrast.ts";

/** One finite-difference check: L = Σ_k ⟨v_k, op(inputs)_k⟩ with fixed random projections v. */
export interface FdCase {
  /** What the variant exercises, e.g. "3×3, stride 2, SAME". */
  name: string;
  /** Input shapes. */
  shapes: number[][];
  /** Input values, float32 so tfjs and the reference see the same numbers. */
  values: Float32Array[];
  /** Indices of the inputs to differentiate (default: all). */
  wrt?: number[];
  /** The tfjs computation: the kernel under test on the inputs. */
  forward: (inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** The same computation in float64, independent of tfjs; one array per output. */
  reference: (inputs: Float64Array[]) => Float64Array[];
}

// ---------------------------------------------------------------------------------------------
// float64 reference implementations (row-major, shapes as tfjs)

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

function unravel(index: number, shape: readonly number[]): number[] {
  const coords = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    coords[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return coords;
}

function map(x: Float64Array, f: (v: number) => number): Float64Array {
  return x.map(f);
}

/** NumPy broadcasting of a binary function. */
function broadcast(
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
  f: (x: number, y: number) => number,
): Float64Array {
  const rank = Math.max(aShape.length, bShape.length);
  const pa = [...new Array(rank - aShape.length).fill(1), ...aShape];
  const pb = [...new Array(rank - bShape.length).fill(1), ...bShape];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const sa = stridesOf(pa);
  const sb = stridesOf(pb);
  const y = new Float64Array(sizeOf(out));
  for (let k = 0; k < y.length; k++) {
    const c = unravel(k, out);
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += (pa[d] === 1 ? 0 : c[d]) * sa[d];
      ib += (pb[d] === 1 ? 0 : c[d]) * sb[d];
    }
    y[k] = f(a[ia], b[ib]);
  }
  return y;
}

/** Sum, mean or max over `axes` (keepDims or not: same values). */
function reduce(
  x: Float64Array,
  shape: number[],
  axes: number[],
  op: "sum" | "mean" | "max",
): Float64Array {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(outShape);
  const y = new Float64Array(sizeOf(outShape)).fill(op === "max" ? -Infinity : 0);
  for (let k = 0; k < x.length; k++) {
    const c = unravel(k, shape);
    let o = 0;
    for (let d = 0; d < shape.length; d++) o += (axes.includes(d) ? 0 : c[d]) * outStrides[d];
    y[o] = op === "max" ? Math.max(y[o], x[k]) : y[o] + x[k];
  }
  if (op === "mean") {
    const count = axes.reduce((n, a) => n * shape[a], 1);
    for (let o = 0; o < y.length; o++) y[o] /= count;
  }
  return y;
}

function transpose(x: Float64Array, shape: number[], perm: number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]);
  const s = stridesOf(shape);
  const y = new Float64Array(x.length);
  for (let k = 0; k < y.length; k++) {
    const c = unravel(k, outShape);
    let i = 0;
    for (let d = 0; d < perm.length; d++) i += c[d] * s[perm[d]];
    y[k] = x[i];
  }
  return y;
}

/** Pieces of `x` along `axis` with the given sizes (split / unstack / concat's inverse). */
function pieces(x: Float64Array, shape: number[], axis: number, sizes: number[]): Float64Array[] {
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  let offset = 0;
  return sizes.map((n) => {
    const y = new Float64Array(outer * n * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n * inner; j++) {
        y[o * n * inner + j] = x[(o * shape[axis] + offset) * inner + j];
      }
    }
    offset += n;
    return y;
  });
}

function concat(xs: Float64Array[], shapes: number[][], axis: number): Float64Array {
  const outer = sizeOf(shapes[0].slice(0, axis));
  const inner = sizeOf(shapes[0].slice(axis + 1));
  const total = shapes.reduce((n, s) => n + s[axis], 0);
  const y = new Float64Array(outer * total * inner);
  let offset = 0;
  xs.forEach((x, k) => {
    const n = shapes[k][axis];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n * inner; j++) {
        y[(o * total + offset) * inner + j] = x[o * n * inner + j];
      }
    }
    offset += n;
  });
  return y;
}

function pad(x: Float64Array, shape: number[], paddings: [number, number][], value: number) {
  const outShape = shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const s = stridesOf(outShape);
  const y = new Float64Array(sizeOf(outShape)).fill(value);
  for (let k = 0; k < x.length; k++) {
    const c = unravel(k, shape);
    y[c.reduce((o, v, d) => o + (v + paddings[d][0]) * s[d], 0)] = x[k];
  }
  return y;
}

/** The block of `x` starting at `begin` with extent `size`, row-major. */
function slice64(x: Float64Array, shape: number[], begin: number[], size: number[]) {
  const s = stridesOf(shape);
  const y = new Float64Array(sizeOf(size));
  for (let k = 0; k < y.length; k++) {
    const c = unravel(k, size);
    y[k] = x[c.reduce((o, v, d) => o + (v + begin[d]) * s[d], 0)];
  }
  return y;
}

/** `x·W + b` over the last axis: x `[rows·C]`, W `[C, O]`, b `[O]` (optional), row-major. */
function linear64(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | undefined,
  c: number,
  o: number,
): Float64Array {
  const rows = x.length / c;
  const y = new Float64Array(rows * o);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < o; j++) {
      let sum = b === undefined ? 0 : b[j];
      for (let k = 0; k < c; k++) sum += x[r * c + k] * w[k * o + j];
      y[r * o + j] = sum;
    }
  }
  return y;
}

/** Batched matrix product `[B, m, k] · [B, k, n]`, operands optionally stored transposed. */
function matMul(
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
): Float64Array {
  const [batch, ar, ac] = aShape.length === 3 ? aShape : [1, ...aShape];
  const [, br, bc] = bShape.length === 3 ? bShape : [1, ...bShape];
  const m = transposeA ? ac : ar;
  const k = transposeA ? ar : ac;
  const n = transposeB ? br : bc;
  const y = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++) {
          const av = transposeA ? a[t * ar * ac + l * ac + i] : a[t * ar * ac + i * ac + l];
          const bv = transposeB ? b[t * br * bc + j * bc + l] : b[t * br * bc + l * bc + j];
          sum += av * bv;
        }
        y[(t * m + i) * n + j] = sum;
      }
    }
  }
  return y;
}

function softmax(x: Float64Array, shape: number[]): Float64Array {
  const n = shape[shape.length - 1];
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[r * n + j]);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += y[r * n + j] = Math.exp(x[r * n + j] - max);
    for (let j = 0; j < n; j++) y[r * n + j] /= sum;
  }
  return y;
}

/** erf by its Maclaurin series (|x| ≤ 3: terms peak near 2e2, so ~1e-14 absolute error). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= -x * x / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** LayerNorm over the last axis (biased variance, eps inside the root), then γ·x̂ + β. */
function layerNorm64(
  x: Float64Array,
  shape: number[],
  gamma: Float64Array,
  beta: Float64Array,
  eps: number,
): Float64Array {
  const n = shape[shape.length - 1];
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += n) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[o + j] / n;
    let variance = 0;
    for (let j = 0; j < n; j++) variance += (x[o + j] - mean) ** 2 / n;
    const rstd = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < n; j++) y[o + j] = (x[o + j] - mean) * rstd * gamma[j] + beta[j];
  }
  return y;
}

/** Exact GELU, x·Φ(x) = ½x·(1 + erf(x/√2)), by the series erf (accurate for |x| ≤ 3√2). */
function gelu64(x: number): number {
  return 0.5 * x * (1 + erf(x * Math.SQRT1_2));
}

/** Convolution geometry: strides, dilations and zero padding [top, bottom, left, right]. */
interface Conv {
  stride: [number, number];
  dilation: [number, number];
  pad: [number, number, number, number];
}

/** TensorFlow's SAME padding: out = ⌈in/s⌉, total = (out − 1)·s + (k − 1)·d + 1 − in, top = ⌊total/2⌋. */
function samePadding(inSize: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(inSize / s);
  const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - inSize);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function convOutSize(
  inSize: number,
  k: number,
  s: number,
  d: number,
  before: number,
  after: number,
) {
  return Math.floor((inSize + before + after - (k - 1) * d - 1) / s) + 1;
}

/**
 * y[n,y,x,o] = Σ_{i,j,c} x[n, y·s − p + i·d, x·s − p + j·d, c] · W[i,j,c,o] (zero outside), or
 * depthwise: output channel c·M + m reads input channel c only, with W[i,j,c,m].
 */
function convolution(
  x: Float64Array,
  xShape: number[],
  w: Float64Array,
  wShape: number[],
  g: Conv,
  depthwise: boolean,
): Float64Array {
  const [n, h, wd, c] = xShape;
  const [kh, kw, , m] = wShape;
  const oh = convOutSize(h, kh, g.stride[0], g.dilation[0], g.pad[0], g.pad[1]);
  const ow = convOutSize(wd, kw, g.stride[1], g.dilation[1], g.pad[2], g.pad[3]);
  const oc = depthwise ? c * m : m;
  const y = new Float64Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        for (let o = 0; o < oc; o++) {
          let sum = 0;
          for (let i = 0; i < kh; i++) {
            const row = r * g.stride[0] - g.pad[0] + i * g.dilation[0];
            if (row < 0 || row >= h) continue;
            for (let j = 0; j < kw; j++) {
              const col = q * g.stride[1] - g.pad[2] + j * g.dilation[1];
              if (col < 0 || col >= wd) continue;
              const base = ((b * h + row) * wd + col) * c;
              if (depthwise) {
                const ci = Math.floor(o / m);
                sum += x[base + ci] * w[((i * kw + j) * c + ci) * m + (o % m)];
              } else {
                for (let ci = 0; ci < c; ci++) {
                  sum += x[base + ci] * w[((i * kw + j) * c + ci) * m + o];
                }
              }
            }
          }
          y[((b * oh + r) * ow + q) * oc + o] = sum;
        }
      }
    }
  }
  return y;
}

/** How bilinear resizing maps output to source coordinates. */
export type ResizeMode = "halfPixel" | "alignCorners" | "asymmetric";

/**
 * Source taps along one axis, from PyTorch's `upsample_bilinear2d`:
 * align_corners=False: s = max(0, (o + ½)·in/out − ½); align_corners=True: s = o·(in − 1)/(out − 1);
 * TF's legacy asymmetric mapping: s = o·in/out. Then i0 = ⌊s⌋, i1 = min(i0 + 1, in − 1), λ = s − i0.
 */
function resizeTaps(o: number, inSize: number, outSize: number, mode: ResizeMode) {
  let s: number;
  if (mode === "halfPixel") s = Math.max(0, (o + 0.5) * (inSize / outSize) - 0.5);
  else if (mode === "alignCorners") s = outSize > 1 ? o * (inSize - 1) / (outSize - 1) : 0;
  else s = o * (inSize / outSize);
  const i0 = Math.floor(s);
  return [i0, Math.min(i0 + 1, inSize - 1), s - i0];
}

/** Bilinear resize of NHWC `x` to `[outH, outW]` in float64 (PyTorch's formulas). */
export function resize64(
  x: Float64Array,
  shape: readonly number[],
  size: readonly [number, number],
  mode: ResizeMode,
): Float64Array {
  const [n, h, w, ch] = shape;
  const [oh, ow] = size;
  const y = new Float64Array(n * oh * ow * ch);
  const at = (b: number, r: number, q: number, d: number) => x[((b * h + r) * w + q) * ch + d];
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const [r0, r1, lr] = resizeTaps(r, h, oh, mode);
      for (let q = 0; q < ow; q++) {
        const [q0, q1, lq] = resizeTaps(q, w, ow, mode);
        for (let d = 0; d < ch; d++) {
          const top = (1 - lq) * at(b, r0, q0, d) + lq * at(b, r0, q1, d);
          const bottom = (1 - lq) * at(b, r1, q0, d) + lq * at(b, r1, q1, d);
          y[((b * oh + r) * ow + q) * ch + d] = (1 - lr) * top + lr * bottom;
        }
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Inputs

const X = [2, 3, 5, 4];

/** Values drawn for one case; the seed depends on the kernel name only, so runs repeat. */
class Draw {
  #rng: RandomStream;
  constructor(label: string) {
    let seed = 0;
    for (const ch of label) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
    this.#rng = new RandomStream(seed);
  }
  /** Standard normal values. */
  normal(shape: number[], scale = 1): Float32Array {
    return this.#rng.normalArray(sizeOf(shape), 0, scale);
  }
  /** Uniform values in [low, high). */
  uniform(shape: number[], low: number, high: number): Float32Array {
    return this.#rng.uniformArray(sizeOf(shape), low, high);
  }
  /** Magnitudes in [0.2, 1.5] with random signs: no kink (Relu at 0) within the FD step. */
  awayFromZero(shape: number[]): Float32Array {
    const v = this.uniform(shape, 0.2, 1.5);
    for (let i = 0; i < v.length; i++) if (this.#rng.next() < 0.5) v[i] = -v[i];
    return v;
  }
  /** A permutation of 0.1·k plus small noise: every pair differs by ≥ 0.05 (no ties for Max). */
  distinct(shape: number[]): Float32Array {
    const n = sizeOf(shape);
    const order = this.#rng.shuffle([...Array(n).keys()]);
    return Float32Array.from(order, (k) => 0.1 * (k - n / 2) + this.#rng.uniform(-0.02, 0.02));
  }
}

function unary(
  kernel: string,
  op: (x: tf.Tensor) => tf.Tensor,
  f: (v: number) => number,
  values: (d: Draw) => Float32Array,
): () => FdCase[] {
  return () => [{
    name: `${X.join("×")}`,
    shapes: [X],
    values: [values(new Draw(kernel))],
    forward: ([x]) => op(x),
    reference: ([x]) => [map(x, f)],
  }];
}

function binary(
  kernel: string,
  op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  f: (a: number, b: number) => number,
  values: (d: Draw, shape: number[], second: boolean) => Float32Array,
): () => FdCase[] {
  // Same shapes, and broadcasting as the networks do it (bias rows, per-channel scales).
  const pairs: [number[], number[]][] = [[X, X], [X, [1, 3, 1, 4]], [[4], X]];
  return () => {
    const d = new Draw(kernel);
    return pairs.map(([a, b]) => ({
      name: `${a.join("×")} ∘ ${b.join("×")}`,
      shapes: [a, b],
      values: [values(d, a, false), values(d, b, true)],
      forward: ([x, y]) => op(x, y),
      reference: ([x, y]) => [broadcast(x, a, y, b, f)],
    }));
  };
}

function convCase(
  d: Draw,
  name: string,
  xShape: number[],
  wShape: number[],
  stride: [number, number],
  dilation: [number, number],
  padding: "same" | "valid" | [number, number, number, number],
  depthwise: boolean,
): FdCase {
  const pad: [number, number, number, number] = padding === "valid"
    ? [0, 0, 0, 0]
    : padding === "same"
    ? [
      ...samePadding(xShape[1], wShape[0], stride[0], dilation[0]),
      ...samePadding(xShape[2], wShape[1], stride[1], dilation[1]),
    ]
    : padding;
  const tfPad = typeof padding === "string"
    ? padding
    : [[0, 0], [padding[0], padding[1]], [padding[2], padding[3]], [
      0,
      0,
    ]] as tf.backend_util.ExplicitPadding;
  return {
    name,
    shapes: [xShape, wShape],
    values: [d.normal(xShape), d.normal(wShape, 0.5)],
    forward: ([x, w]) =>
      depthwise
        ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, tfPad, "NHWC", dilation)
        : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, tfPad, "NHWC", dilation),
    reference: (
      [x, w],
    ) => [convolution(x, xShape, w, wShape, { stride, dilation, pad }, depthwise)],
  };
}

function resizeCase(
  d: Draw,
  xShape: number[],
  size: [number, number],
  mode: ResizeMode,
): FdCase {
  return {
    name: `${xShape.join("×")} → ${size.join("×")}, ${mode}`,
    shapes: [xShape],
    values: [d.normal(xShape)],
    forward: ([x]) =>
      tf.image.resizeBilinear(
        x as tf.Tensor4D,
        size,
        mode === "alignCorners",
        mode === "halfPixel",
      ),
    reference: ([x]) => [resize64(x, xShape, size, mode)],
  };
}

// ---------------------------------------------------------------------------------------------
// The table

/**
 * One entry per kernel that needs a gradient: small, non-square cases whose tfjs gradient must
 * equal float64 central differences of an independent forward. Add an entry when a program
 * differentiates a new kernel or UDA-Lab registers a new gradient.
 */
export const FD_CASES: Record<string, () => FdCase[]> = {
  Add: binary("Add", tf.add, (a, b) => a + b, (d, s) => d.normal(s)),
  Sub: binary("Sub", tf.sub, (a, b) => a - b, (d, s) => d.normal(s)),
  Multiply: binary("Multiply", tf.mul, (a, b) => a * b, (d, s) => d.normal(s)),
  RealDiv: binary(
    "RealDiv",
    tf.div,
    (a, b) => a / b,
    (d, s, second) => (second ? d.uniform(s, 0.5, 2) : d.normal(s)),
  ),
  // Positive bases: tfjs differentiates the exponent through log(base).
  Pow: binary(
    "Pow",
    tf.pow,
    (a, b) => a ** b,
    (d, s, second) => (second ? d.uniform(s, 0.5, 3) : d.uniform(s, 0.5, 1.5)),
  ),
  Neg: unary("Neg", tf.neg, (v) => -v, (d) => d.normal(X)),
  Exp: unary("Exp", tf.exp, Math.exp, (d) => d.normal(X)),
  Log: unary("Log", tf.log, Math.log, (d) => d.uniform(X, 0.2, 3)),
  Sqrt: unary("Sqrt", tf.sqrt, Math.sqrt, (d) => d.uniform(X, 0.2, 3)),
  Rsqrt: unary("Rsqrt", tf.rsqrt, (v) => 1 / Math.sqrt(v), (d) => d.uniform(X, 0.2, 3)),
  Square: unary("Square", tf.square, (v) => v * v, (d) => d.normal(X)),
  Erf: unary("Erf", tf.erf, erf, (d) => d.uniform(X, -2.5, 2.5)),
  Relu: unary("Relu", tf.relu, (v) => Math.max(0, v), (d) => d.awayFromZero(X)),
  // HRDA's scale attention.
  Sigmoid: unary("Sigmoid", tf.sigmoid, (v) => 1 / (1 + Math.exp(-v)), (d) => d.normal(X)),
  // PiPa's anchors: rows of the embeddings by index, a repeated index among them, through the
  // custom gradient of `gatherRows` (`runtime/losses/pixel_contrast.ts`).
  GatherV2: () => {
    const shape = [7, 3];
    const rows = [4, 0, 4, 6, 2];
    return [{
      name: "rows 4, 0, 4, 6, 2 of 7×3",
      shapes: [shape, [rows.length]],
      values: [new Draw("GatherV2").normal(shape), Float32Array.from(rows)],
      wrt: [0],
      forward: ([x, i]) => gatherRows(x as tf.Tensor2D, i as tf.Tensor1D),
      reference: (
        [x],
      ) => [Float64Array.from(rows.flatMap((r) => [0, 1, 2].map((c) => x[r * 3 + c])))],
    }];
  },
  // PiPa's patch contrast pools stride-4 decoder features to its stride-8 grid.
  AvgPool: () => {
    const shape = [2, 4, 6, 3];
    return [{
      name: "2×2 stride 2 of 2×4×6×3",
      shapes: [shape],
      values: [new Draw("AvgPool").normal(shape)],
      forward: ([x]) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"),
      reference: ([x]) => {
        const out = new Float64Array(2 * 2 * 3 * 3);
        const at = (b: number, y: number, col: number, c: number) =>
          x[((b * 4 + y) * 6 + col) * 3 + c];
        for (let b = 0; b < 2; b++) {
          for (let i = 0; i < 2; i++) {
            for (let j = 0; j < 3; j++) {
              for (let c = 0; c < 3; c++) {
                out[((b * 2 + i) * 3 + j) * 3 + c] = (at(b, 2 * i, 2 * j, c) +
                  at(b, 2 * i, 2 * j + 1, c) + at(b, 2 * i + 1, 2 * j, c) +
                  at(b, 2 * i + 1, 2 * j + 1, c)) / 4;
              }
            }
          }
        }
        return [out];
      },
    }];
  },
  // HRDA's detail crop and its labels' box: an off-centre, non-square block.
  Slice: () => [{
    name: "rows 1–2, columns 2–4 of 2×3×5×4",
    shapes: [X],
    values: [new Draw("Slice").normal(X)],
    forward: ([x]) => tf.slice(x, [0, 1, 2, 0], [-1, 2, 3, -1]),
    reference: ([x]) => [slice64(x, X, [0, 1, 2, 0], [2, 2, 3, 4])],
  }],
  Identity: unary("Identity", tf.clone, (v) => v, (d) => d.normal(X)),
  Cast: unary("Cast", (x) => tf.cast(x, "float32"), (v) => v, (d) => d.normal(X)),
  Reshape: () => [{
    name: "2×3×5×4 → 6×20",
    shapes: [X],
    values: [new Draw("Reshape").normal(X)],
    forward: ([x]) => tf.reshape(x, [6, 20]),
    reference: ([x]) => [x.slice()],
  }],
  Sum: () => {
    const d = new Draw("Sum");
    return ([[3], [1, 2], [0, 1, 2, 3]] as number[][]).map((axes) => ({
      name: `axes ${axes}`,
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.sum(x, axes),
      reference: ([x]) => [reduce(x, X, axes, "sum")],
    }));
  },
  Mean: () => {
    const d = new Draw("Mean");
    return ([[3], [1, 2], [0, 1, 2, 3]] as number[][]).map((axes) => ({
      name: `axes ${axes}, keepDims`,
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.mean(x, axes, true),
      reference: ([x]) => [reduce(x, X, axes, "mean")],
    }));
  },
  Max: () => {
    const d = new Draw("Max");
    return ([[3], [1]] as number[][]).map((axes) => ({
      name: `axes ${axes}`,
      shapes: [X],
      values: [d.distinct(X)],
      forward: ([x]) => tf.max(x, axes),
      reference: ([x]) => [reduce(x, X, axes, "max")],
    }));
  },
  Softmax: () => [{
    name: "last axis",
    shapes: [X],
    values: [new Draw("Softmax").normal(X, 2)],
    forward: ([x]) => tf.softmax(x, -1),
    reference: ([x]) => [softmax(x, X)],
  }],
  BatchMatMul: () => {
    const d = new Draw("BatchMatMul");
    // Linear layers (rank 2), attention QKᵀ (transposeB) and AV (rank 3), and transposeA.
    const cases: [number[], number[], boolean, boolean][] = [
      [[6, 5], [5, 3], false, false],
      [[2, 3, 5], [2, 4, 5], false, true],
      [[2, 3, 4], [2, 4, 5], false, false],
      [[2, 5, 3], [2, 5, 4], true, false],
      [[2, 5, 3], [2, 4, 5], true, true],
    ];
    return cases.map(([a, b, ta, tb]) => ({
      name: `${a.join("×")} · ${b.join("×")}${ta ? ", transposeA" : ""}${tb ? ", transposeB" : ""}`,
      shapes: [a, b],
      values: [d.normal(a), d.normal(b)],
      forward: ([x, y]) => tf.matMul(x, y, ta, tb),
      reference: ([x, y]) => [matMul(x, a, y, b, ta, tb)],
    }));
  },
  Transpose: () => {
    const d = new Draw("Transpose");
    return ([[0, 3, 1, 2], [0, 2, 1, 3], [3, 2, 1, 0]] as number[][]).map((perm) => ({
      name: `perm ${perm}`,
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.transpose(x, perm),
      reference: ([x]) => [transpose(x, X, perm)],
    }));
  },
  Concat: () => {
    const d = new Draw("Concat");
    const shapes = [[2, 3, 5, 2], [2, 3, 5, 4], [2, 3, 5, 1]];
    const rows = [[2, 1, 5, 4], [2, 3, 5, 4]];
    return [
      {
        name: "channels (the decoders' fusion)",
        shapes,
        values: shapes.map((s) => d.normal(s)),
        forward: (xs) => tf.concat(xs, 3),
        reference: (xs) => [concat(xs, shapes, 3)],
      },
      {
        name: "rows",
        shapes: rows,
        values: rows.map((s) => d.normal(s)),
        forward: (xs) => tf.concat(xs, 1),
        reference: (xs) => [concat(xs, rows, 1)],
      },
    ];
  },
  SplitV: () => {
    const d = new Draw("SplitV");
    return [{
      name: "sizes 1, 3, 1 along axis 2",
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.split(x, [1, 3, 1], 2),
      reference: ([x]) => pieces(x, X, 2, [1, 3, 1]),
    }, {
      name: "2 equal parts along the channels",
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.split(x, 2, 3),
      reference: ([x]) => pieces(x, X, 3, [2, 2]),
    }];
  },
  Unpack: () => {
    const d = new Draw("Unpack");
    const kv = [2, 2, 3, 5];
    return [{
      name: "axis 0 (the MiT's k, v)",
      shapes: [kv],
      values: [d.normal(kv)],
      forward: ([x]) => tf.unstack(x, 0),
      reference: ([x]) => pieces(x, kv, 0, [1, 1]),
    }, {
      name: "axis 2",
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.unstack(x, 2),
      reference: ([x]) => pieces(x, X, 2, [1, 1, 1, 1, 1]),
    }];
  },
  PadV2: () => {
    const d = new Draw("PadV2");
    const paddings: [number, number][] = [[0, 0], [1, 2], [0, 3], [0, 0]];
    return [0, 0.5].map((value) => ({
      name: `rows 1/2, columns 0/3, value ${value}`,
      shapes: [X],
      values: [d.normal(X)],
      forward: ([x]) => tf.pad(x, paddings, value),
      reference: ([x]) => [pad(x, X, paddings, value)],
    }));
  },
  Conv2D: () => {
    const d = new Draw("Conv2D");
    return [
      // MiT overlap patch embeddings: 7×7/s4 pad 3 and 3×3/s2 pad 1.
      convCase(d, "7×7, stride 4, pad 3", [1, 9, 11, 3], [7, 7, 3, 2], [4, 4], [1, 1], [
        3,
        3,
        3,
        3,
      ], false),
      convCase(d, "3×3, stride 2, pad 1", [2, 5, 7, 3], [3, 3, 3, 4], [2, 2], [1, 1], [
        1,
        1,
        1,
        1,
      ], false),
      // Efficient self-attention's spatial reduction (k = s = R), the heads' 1×1, a SAME conv.
      convCase(d, "2×2, stride 2", [1, 4, 6, 3], [2, 2, 3, 2], [2, 2], [1, 1], "valid", false),
      convCase(d, "1×1", [2, 3, 5, 4], [1, 1, 4, 3], [1, 1], [1, 1], "valid", false),
      convCase(d, "3×3, stride 2, SAME", [1, 6, 7, 2], [3, 3, 2, 3], [2, 2], [1, 1], "same", false),
      // Dilated (DeepLab-style), uneven padding.
      convCase(d, "3×3, dilation 2, pad 2/1/0/2", [1, 7, 8, 2], [3, 3, 2, 2], [1, 1], [2, 2], [
        2,
        1,
        0,
        2,
      ], false),
      // DAFormer's 3×3 bottleneck (stride 1); a strided conv with more pixels than filter rows
      // (the two input-gradient formulations of the wasm kernel besides the ones above).
      convCase(d, "3×3, pad 1", [1, 5, 6, 2], [3, 3, 2, 3], [1, 1], [1, 1], [1, 1, 1, 1], false),
      convCase(d, "3×3, stride 2, pad 1, 1 channel", [2, 9, 8, 1], [3, 3, 1, 2], [2, 2], [1, 1], [
        1,
        1,
        1,
        1,
      ], false),
    ];
  },
  DepthwiseConv2dNative: () => {
    const d = new Draw("DepthwiseConv2dNative");
    return [
      // Mix-FFN 3×3 pad 1; DAFormer ASPP dilated depthwise (padding = dilation); stride 2.
      convCase(d, "3×3, pad 1", [2, 5, 7, 3], [3, 3, 3, 1], [1, 1], [1, 1], [1, 1, 1, 1], true),
      convCase(d, "3×3, dilation 6, pad 6", [1, 7, 9, 2], [3, 3, 2, 1], [1, 1], [6, 6], [
        6,
        6,
        6,
        6,
      ], true),
      convCase(
        d,
        "3×3, stride 2, SAME, multiplier 2",
        [1, 7, 6, 2],
        [3, 3, 2, 2],
        [2, 2],
        [
          1,
          1,
        ],
        "same",
        true,
      ),
      convCase(
        d,
        "3×3, dilation 2, pad 1/2/2/0, multiplier 2",
        [1, 6, 7, 2],
        [3, 3, 2, 2],
        [
          1,
          1,
        ],
        [2, 2],
        [1, 2, 2, 0],
        true,
      ),
    ];
  },
  // The fused MiT LayerNorm (eps 1e-6 in blocks, 1e-5 elsewhere) and GELU (tails to ±4).
  UdaLayerNorm: () => {
    const d = new Draw("UdaLayerNorm");
    const cases: [number[], number][] = [[[2, 3, 5], 1e-6], [[3, 7], 1e-5], [[1, 2, 3, 4], 1e-5]];
    return cases.map(([shape, eps]) => {
      const n = shape[shape.length - 1];
      return {
        name: `${shape.join("×")}, eps ${eps}`,
        shapes: [shape, [n], [n]],
        values: [d.normal(shape), d.uniform([n], 0.5, 1.5), d.normal([n], 0.5)],
        forward: ([x, g, b]) => fusedLayerNorm(x, g, b, eps),
        reference: ([x, g, b]) => [layerNorm64(x, shape, g, b, eps)],
      };
    });
  },
  UdaGelu: () => {
    const d = new Draw("UdaGelu");
    return [[2, 3, 5], [3, 7]].map((shape) => ({
      name: shape.join("×"),
      shapes: [shape],
      values: [d.uniform(shape, -4, 4)],
      forward: ([x]) => fusedGelu(x),
      reference: ([x]) => [map(x, gelu64)],
    }));
  },
  // The fused linear layer: rank 3 with bias (as MiT's token linears), rank 2 without.
  UdaLinear: () => {
    const d = new Draw("UdaLinear");
    const cases: [number[], number, boolean][] = [[[2, 3, 5], 4, true], [[3, 7], 2, false]];
    return cases.map(([shape, o, hasBias]) => {
      const c = shape[shape.length - 1];
      const shapes = hasBias ? [shape, [c, o], [o]] : [shape, [c, o]];
      return {
        name: `${shape.join("×")} · ${c}×${o}${hasBias ? " + bias" : ", no bias"}`,
        shapes,
        values: shapes.map((s) => d.normal(s)),
        forward: ([x, w, b]) => fusedLinear(x, w, b),
        reference: ([x, w, b]) => [linear64(x, w, b, c, o)],
      };
    });
  },
  ResizeBilinear: () => {
    const d = new Draw("ResizeBilinear");
    return [
      resizeCase(d, [2, 2, 3, 2], [8, 12], "halfPixel"),
      resizeCase(d, [1, 3, 4, 2], [6, 8], "halfPixel"),
      resizeCase(d, [1, 5, 7, 1], [2, 3], "halfPixel"),
      resizeCase(d, [1, 3, 4, 1], [5, 7], "alignCorners"),
    ];
  },
};

// ---------------------------------------------------------------------------------------------
// Which kernels need a case

/** Whether a value has the shape of a {@linkcode KernelUse}. */
export function isKernelUse(value: unknown): value is KernelUse {
  const v = value as KernelUse | null;
  return typeof v === "object" && v !== null && Array.isArray(v.differentiated) &&
    Array.isArray(v.backward) &&
    [...v.differentiated, ...v.backward].every((k) => typeof k === "string");
}

/** Every KernelUse among a module's exports (so a list added to kernels.ts is picked up). */
export function kernelUsesOf(module: Record<string, unknown>): KernelUse[] {
  return Object.values(module).filter(isKernelUse);
}

/** The sorted union of the kernels the uses differentiate: each needs an FD case. */
export function differentiatedKernels(uses: readonly KernelUse[]): string[] {
  return [...new Set(uses.flatMap((u) => u.differentiated))].sort();
}

/** The kernels of `required` that {@linkcode FD_CASES} lacks. */
export function missingCases(required: readonly string[]): string[] {
  return required.filter((k) => !(k in FD_CASES));
}
