/**
 * LayerNorm over the last axis as one kernel each way (PyTorch `nn.LayerNorm`: biased variance,
 * `eps` inside the square root), on cpu, wasm and webgpu:
 *
 * - `UdaLayerNorm` (x, gamma, beta; attr `eps`) → [y, stats] with y = (x − μ)·rstd·γ + β,
 *   rstd = 1/√(σ² + eps), and `stats` `[rows, 2]` holding (μ, rstd) per row for the backward;
 *   {@linkcode fusedLayerNorm} returns y only.
 * - `UdaLayerNormGrad` (dy, x, gamma, stats) → [dx, dγ, dβ] with x̂ = (x − μ)·rstd,
 *   g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
 *
 * They replace the composed formula's nine forward kernels and ~33 backward ones (~1260
 * dispatches per MiT-B0 training step).
 *
 * **Rounding.** The forward reproduces the composed formula's float32 roundings on each host
 * backend, including how that backend's `Mean` sums (wasm: sequentially in float32, then / C;
 * cpu: Σ f32(x/C) in float64) and its `Rsqrt` (wasm 1/f32(√v), cpu f32(1/√v)), so it is
 * bit-identical to the composed op there; the WebGPU shader follows tfjs's reduction order
 * (`layer_norm_webgpu.ts`). The backward accumulates in float64 and rounds once, so it differs
 * from the composed gradient by float32 rounding only (it is the same derivative).
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { type HostBody, type HostStyle, registerHostKernel } from "./fused_kernel.ts";
import { registerLayerNormWebGpu } from "./layer_norm_webgpu.ts";
import { registerGeluKernels } from "./gelu.ts";

/** The forward kernel's name. */
export const LAYER_NORM = "UdaLayerNorm";
/** The gradient kernel's name. */
export const LAYER_NORM_GRAD = "UdaLayerNormGrad";

const f32 = Math.fround;

/**
 * μ and rstd of the `n` values from `x[o]` on, into `stats[2r]`, `stats[2r + 1]` for r = o/n,
 * rounded as the composed formula on `style`: `Mean` as that backend's kernel sums, `x − μ`, its
 * square, `+ eps` and `Rsqrt` in float32.
 */
function rowStats(
  x: Float32Array,
  o: number,
  n: number,
  eps: number,
  style: HostStyle,
  stats: Float32Array,
): void {
  const r = 2 * (o / n);
  let sum = 0;
  let squares = 0;
  if (style === "wasm") {
    for (let j = 0; j < n; j++) sum = f32(sum + x[o + j]);
    const mean = f32(sum / n);
    for (let j = 0; j < n; j++) {
      const d = f32(x[o + j] - mean);
      squares = f32(squares + f32(d * d));
    }
    stats[r] = mean;
    stats[r + 1] = wasmRstd(squares, n, eps);
    return;
  }
  for (let j = 0; j < n; j++) sum += f32(x[o + j] / n);
  const mean = f32(sum);
  for (let j = 0; j < n; j++) {
    const d = f32(x[o + j] - mean);
    squares += f32(f32(d * d) / n);
  }
  stats[r] = mean;
  stats[r + 1] = f32(1 / Math.sqrt(f32(f32(squares) + eps)));
}

/**
 * {@linkcode rowStats} in the wasm style for the four rows from `x[o]` on, interleaved: each
 * row's float32 sum is a serial chain of rounded adds (latency-bound in JavaScript, which
 * rounds through float64), so four independent chains run in the time of about one. Each row
 * still adds in its own order, so the results are those of four single-row calls.
 */
function wasmStats4(x: Float32Array, o: number, n: number, eps: number, stats: Float32Array) {
  const o1 = o + n;
  const o2 = o1 + n;
  const o3 = o2 + n;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let j = 0; j < n; j++) {
    s0 = f32(s0 + x[o + j]);
    s1 = f32(s1 + x[o1 + j]);
    s2 = f32(s2 + x[o2 + j]);
    s3 = f32(s3 + x[o3 + j]);
  }
  const m0 = f32(s0 / n);
  const m1 = f32(s1 / n);
  const m2 = f32(s2 / n);
  const m3 = f32(s3 / n);
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let q3 = 0;
  for (let j = 0; j < n; j++) {
    const d0 = f32(x[o + j] - m0);
    const d1 = f32(x[o1 + j] - m1);
    const d2 = f32(x[o2 + j] - m2);
    const d3 = f32(x[o3 + j] - m3);
    q0 = f32(q0 + f32(d0 * d0));
    q1 = f32(q1 + f32(d1 * d1));
    q2 = f32(q2 + f32(d2 * d2));
    q3 = f32(q3 + f32(d3 * d3));
  }
  const r = 2 * (o / n);
  stats[r] = m0;
  stats[r + 1] = wasmRstd(q0, n, eps);
  stats[r + 2] = m1;
  stats[r + 3] = wasmRstd(q1, n, eps);
  stats[r + 4] = m2;
  stats[r + 5] = wasmRstd(q2, n, eps);
  stats[r + 6] = m3;
  stats[r + 7] = wasmRstd(q3, n, eps);
}

/** wasm's `Rsqrt` of `Mean` of the squares plus eps, from their float32 sum `q`. */
function wasmRstd(q: number, n: number, eps: number): number {
  return f32(1 / f32(Math.sqrt(f32(f32(q / n) + eps))));
}

/**
 * The last axis's length of `xShape`, checking that every parameter is a vector over it and
 * every gradient has x's shape.
 */
function channelsOf(
  kernel: string,
  xShape: number[],
  params: number[][],
  grads: number[][] = [],
): number {
  const n = xShape[xShape.length - 1];
  if (xShape.length === 0 || n === 0) throw new Error(`${kernel}: x must have a last axis`);
  const bad = params.some((s) => s.length !== 1 || s[0] !== n) ||
    grads.some((s) => !tf.util.arraysEqual(s, xShape));
  if (bad) {
    throw new Error(
      `${kernel}: for x [${xShape}] expected [${n}] parameters and x-shaped gradients, got ` +
        [...params, ...grads].map((s) => `[${s}]`).join(", "),
    );
  }
  return n;
}

/** The `[rows, 2]` shape of the statistics for x of `xShape`. */
export function statsShape(xShape: number[]): number[] {
  return [tf.util.sizeFromShape(xShape) / xShape[xShape.length - 1], 2];
}

function checkStats(kernel: string, xShape: number[], shape: number[]): void {
  if (!tf.util.arraysEqual(shape, statsShape(xShape))) {
    throw new Error(`${kernel}: stats must be [${statsShape(xShape)}], got [${shape}]`);
  }
}

const forwardBody: HostBody = ([x, gamma, beta], [y, stats], shapes, attrs, style) => {
  const n = channelsOf(LAYER_NORM, shapes[0], shapes.slice(1));
  const eps = f32(attrs.eps as number);
  let done = 0;
  if (style === "wasm") {
    for (; done + 4 * n <= x.length; done += 4 * n) wasmStats4(x, done, n, eps, stats);
  }
  for (let o = done; o < x.length; o += n) rowStats(x, o, n, eps, style, stats);
  for (let o = 0; o < x.length; o += n) {
    const mean = stats[2 * (o / n)];
    const rstd = stats[2 * (o / n) + 1];
    for (let j = 0; j < n; j++) {
      const normed = f32(f32(x[o + j] - mean) * rstd);
      y[o + j] = f32(f32(normed * gamma[j]) + beta[j]);
    }
  }
};

const gradBody: HostBody = ([dy, x, gamma, stats], [dx, dGamma, dBeta], shapes) => {
  const n = channelsOf(LAYER_NORM_GRAD, shapes[1], [shapes[2]], [shapes[0]]);
  checkStats(LAYER_NORM_GRAD, shapes[1], shapes[3]);
  const gammaSum = new Float64Array(n);
  const betaSum = new Float64Array(n);
  for (let o = 0; o < x.length; o += n) {
    const mean = stats[2 * (o / n)];
    const rstd = stats[2 * (o / n) + 1];
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < n; j++) {
      const xHat = (x[o + j] - mean) * rstd;
      const g = dy[o + j] * gamma[j];
      sumG += g;
      sumGX += g * xHat;
      gammaSum[j] += dy[o + j] * xHat;
      betaSum[j] += dy[o + j];
    }
    const meanG = sumG / n;
    const meanGX = sumGX / n;
    for (let j = 0; j < n; j++) {
      const xHat = (x[o + j] - mean) * rstd;
      dx[o + j] = rstd * (dy[o + j] * gamma[j] - meanG - xHat * meanGX);
    }
  }
  dGamma.set(gammaSum);
  dBeta.set(betaSum);
};

const layerNormGradient: tf.GradConfig = {
  kernelName: LAYER_NORM,
  inputsToSave: ["x", "gamma"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved) => {
    const [x, gamma, stats] = saved;
    const dy = (dys as tf.Tensor[])[0];
    const [dx, dGamma, dBeta] = tf.engine().runKernel(
      LAYER_NORM_GRAD,
      { dy, x, gamma, stats },
    ) as tf.Tensor[];
    return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
  },
};

/** Registers `UdaLayerNorm` and `UdaLayerNormGrad` on cpu, wasm and webgpu, and the gradient. */
export function registerLayerNormKernels(): void {
  registerHostKernel({
    name: LAYER_NORM,
    inputs: ["x", "gamma", "beta"],
    outputShapes: (shapes) => {
      channelsOf(LAYER_NORM, shapes[0], shapes.slice(1));
      return [shapes[0], statsShape(shapes[0])];
    },
    body: forwardBody,
  });
  registerHostKernel({
    name: LAYER_NORM_GRAD,
    inputs: ["dy", "x", "gamma", "stats"],
    outputShapes: (shapes) => {
      channelsOf(LAYER_NORM_GRAD, shapes[1], [shapes[2]], [shapes[0]]);
      return [shapes[1], shapes[2], shapes[2]];
    },
    body: gradBody,
  });
  registerLayerNormWebGpu(LAYER_NORM, LAYER_NORM_GRAD);
  tf.registerGradient(layerNormGradient);
}

/** Registers the fused LayerNorm and GELU kernels and their gradients on every backend we own. */
export function registerFusedNormKernels(): void {
  registerLayerNormKernels();
  registerGeluKernels();
}

/**
 * LayerNorm of `x` over its last axis with `gamma`, `beta` of shape `[C]`, as one
 * `UdaLayerNorm` kernel (differentiable in all three inputs).
 */
export function fusedLayerNorm<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): T {
  const n = x.shape[x.rank - 1];
  for (const [name, t] of [["x", x], ["gamma", gamma], ["beta", beta]] as const) {
    if (t.dtype !== "float32") throw new Error(`fusedLayerNorm: ${name} must be float32`);
  }
  if (gamma.rank !== 1 || gamma.size !== n || beta.rank !== 1 || beta.size !== n) {
    throw new Error(
      `fusedLayerNorm: gamma and beta must be [${n}] for x [${x.shape}], got ` +
        `[${gamma.shape}] and [${beta.shape}]`,
    );
  }
  const [y, stats] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta }, { eps }) as tf.Tensor[];
  // The gradient keeps its own reference to the statistics; nothing else reads them.
  stats.dispose();
  return y as T;
}
