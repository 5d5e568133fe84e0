/**
 * WebGPU programs of the fused LayerNorm (`layer_norm.ts` states the maths).
 *
 * Each row is one workgroup. Its sums follow tfjs's own `Mean` (`reduce_webgpu.ts`): thread t
 * adds elements t, t + T, … sequentially, then a halving tree over the T partial sums (T = 64,
 * or 256 for rows of ≥ 4096), then division by the length. So μ and σ² are the composed
 * formula's, and the forward rounds as it does, up to the shader compiler's freedom to fuse a
 * multiply and an add.
 *
 * The forward runs two programs: the row statistics `[rows, 2]` (μ, rstd), then y, one thread
 * per element. The backward runs three: dx (one workgroup per row) and dγ and dβ (one workgroup
 * per column, summing over rows).
 *
 * @module
 */
import { tf } from "../../tf.ts";
import {
  elementwiseProgram,
  GROUP_INDEX_WGSL,
  groupProgram,
  type WebGpuBackend,
} from "./fused_kernel.ts";

/** Threads per row, as tfjs's reduction chooses them for a row of `n` values. */
function threadsFor(n: number): number {
  return n >= 4096 ? 256 : 64;
}

/**
 * WGSL summing `value` (a `var` each thread holds) over the workgroup into `let total`, in
 * tfjs's tree order; every thread sees `total`. `length` is the number of values summed
 * (threads beyond it hold zeros and are left out of the tree, as tfjs does).
 */
function workgroupSum(value: string, total: string, length: string, threads: number): string {
  return `
  partial[localId.x] = ${value};
  workgroupBarrier();
  var size_${total} = min(u32(${length}), ${threads}u);
  for (var half_${total} = size_${total} / 2u; size_${total} > 1u;
       half_${total} = size_${total} / 2u) {
    let interval = (size_${total} + 1u) / 2u;
    if (localId.x < half_${total}) {
      ${value} = ${value} + partial[localId.x + interval];
      partial[localId.x] = ${value};
    }
    size_${total} = interval;
    workgroupBarrier();
  }
  let ${total} = partial[0];
  workgroupBarrier();`;
}

/** WGSL computing `mean` and `rstd` of row `row` (all threads; zeros for an invalid row). */
function rowStatsWgsl(threads: number): string {
  return `
  var sum = 0.0;
  if (valid) {
    for (var k = lid; k < n; k = k + ${threads}) { sum = sum + x[base + k]; }
  }
  ${workgroupSum("sum", "total", "n", threads)}
  let mean = total / f32(n);
  var squares = 0.0;
  if (valid) {
    for (var k = lid; k < n; k = k + ${threads}) {
      let d = x[base + k] - mean;
      squares = squares + d * d;
    }
  }
  ${workgroupSum("squares", "totalSquares", "n", threads)}
  let rstd = inverseSqrt(totalSquares / f32(n) + uniforms.eps);`;
}

/** The shared declarations of a row program: its partial sums, row index and bounds. */
function rowPrologue(threads: number, body: string): string {
  return `
var<workgroup> partial : array<f32, ${threads}>;
${GROUP_INDEX_WGSL}
fn main(index : i32) {
  let row = groupIndex();
  let valid = row < uniforms.rows;
  let n = uniforms.cols;
  let lid = i32(localId.x);
  let base = row * n;
  ${body}
}`;
}

const ROW_UNIFORMS = "rows : i32, cols : i32, eps : f32,";

function rowUniforms(rows: number, n: number, eps: number) {
  return [
    { type: "int32" as const, data: [rows] },
    { type: "int32" as const, data: [n] },
    { type: "float32" as const, data: [eps] },
  ];
}

type Inputs = Record<string, tf.TensorInfo>;
type Args = { inputs: Inputs; backend: unknown; attrs: Record<string, unknown> };

function geometry(x: tf.TensorInfo): [number, number] {
  const n = x.shape[x.shape.length - 1];
  return [tf.util.sizeFromShape(x.shape) / n, n];
}

function statsProgram(rows: number, n: number) {
  const t = threadsFor(n);
  return groupProgram(
    "uda_layer_norm_stats",
    [rows, 2],
    ["x"],
    rows,
    t,
    ROW_UNIFORMS,
    rowPrologue(
      t,
      `${rowStatsWgsl(t)}
  if (valid && lid == 0) {
    setOutputAtIndex(row * 2, mean);
    setOutputAtIndex(row * 2 + 1, rstd);
  }`,
    ),
  );
}

function forward({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const gpu = backend as WebGpuBackend;
  const { x, gamma, beta } = inputs;
  const [rows, n] = geometry(x);
  const uniforms = rowUniforms(rows, n, attrs.eps as number);
  const stats = gpu.runWebGPUProgram(statsProgram(rows, n), [x], "float32", uniforms);
  const program = elementwiseProgram(
    "uda_layer_norm",
    x.shape,
    ["x", "gamma", "beta", "stats"],
    `
fn main(index : i32) {
  if (index < uniforms.size) {
    let row = index / uniforms.cols;
    let k = index - row * uniforms.cols;
    let normed = (x[index] - stats[row * 2]) * stats[row * 2 + 1];
    setOutputAtIndex(index, normed * gamma[k] + beta[k]);
  }
}`,
  );
  program.uniforms = ROW_UNIFORMS;
  const y = gpu.runWebGPUProgram(program, [x, gamma, beta, stats], "float32", uniforms);
  return [y, stats];
}

function dxProgram(shape: number[], rows: number, n: number) {
  const t = threadsFor(n);
  return groupProgram(
    "uda_layer_norm_dx",
    shape,
    ["dy", "x", "gamma", "stats"],
    rows,
    t,
    ROW_UNIFORMS,
    rowPrologue(
      t,
      `let mean = select(0.0, stats[row * 2], valid);
  let rstd = select(0.0, stats[row * 2 + 1], valid);
  var sumG = 0.0;
  var sumGX = 0.0;
  if (valid) {
    for (var k = lid; k < n; k = k + ${t}) {
      let g = dy[base + k] * gamma[k];
      sumG = sumG + g;
      sumGX = sumGX + g * (x[base + k] - mean) * rstd;
    }
  }
  ${workgroupSum("sumG", "totalG", "n", t)}
  ${workgroupSum("sumGX", "totalGX", "n", t)}
  let meanG = totalG / f32(n);
  let meanGX = totalGX / f32(n);
  if (valid) {
    for (var k = lid; k < n; k = k + ${t}) {
      let xHat = (x[base + k] - mean) * rstd;
      setOutputAtIndex(base + k, rstd * (dy[base + k] * gamma[k] - meanG - xHat * meanGX));
    }
  }`,
    ),
  );
}

/** dγ (`withXHat`) or dβ: one workgroup per column c sums dy·x̂ (or dy) over the rows. */
function columnProgram(n: number, withXHat: boolean) {
  const t = 64;
  const term = withXHat
    ? "dy[r * n + c] * (x[r * n + c] - stats[r * 2]) * stats[r * 2 + 1]"
    : "dy[r * n + c]";
  return groupProgram(
    withXHat ? "uda_layer_norm_dgamma" : "uda_layer_norm_dbeta",
    [n],
    withXHat ? ["dy", "x", "stats"] : ["dy"],
    n,
    t,
    ROW_UNIFORMS,
    `
var<workgroup> partial : array<f32, ${t}>;
${GROUP_INDEX_WGSL}
fn main(index : i32) {
  let c = groupIndex();
  let n = uniforms.cols;
  var sum = 0.0;
  if (c < n) {
    for (var r = i32(localId.x); r < uniforms.rows; r = r + ${t}) { sum = sum + ${term}; }
  }
  ${workgroupSum("sum", "total", "uniforms.rows", t)}
  if (c < n && localId.x == 0u) { setOutputAtIndex(c, total); }
}`,
  );
}

function backward({ inputs, backend }: Args): tf.TensorInfo[] {
  const gpu = backend as WebGpuBackend;
  const { dy, x, gamma, stats } = inputs;
  const [rows, n] = geometry(x);
  // The backward reads the saved rstd, not eps.
  const uniforms = rowUniforms(rows, n, 0);
  const dx = gpu.runWebGPUProgram(
    dxProgram(x.shape, rows, n),
    [dy, x, gamma, stats],
    "float32",
    uniforms,
  );
  const dGamma = gpu.runWebGPUProgram(
    columnProgram(n, true),
    [dy, x, stats],
    "float32",
    uniforms,
  );
  const dBeta = gpu.runWebGPUProgram(columnProgram(n, false), [dy], "float32", uniforms);
  return [dx, dGamma, dBeta];
}

/** Registers the WebGPU forward and backward kernels under the given names. */
export function registerLayerNormWebGpu(forwardName: string, backwardName: string): void {
  const kernels: [string, unknown][] = [[forwardName, forward], [backwardName, backward]];
  for (const [name, kernelFunc] of kernels) {
    if (tf.getKernel(name, "webgpu") !== undefined) tf.unregisterKernel(name, "webgpu");
    tf.registerKernel({
      kernelName: name,
      backendName: "webgpu",
      kernelFunc: kernelFunc as tf.KernelFunc,
    });
  }
}
