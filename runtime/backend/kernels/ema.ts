/**
 * `UdaEmaUpdate`: the mean-teacher update of one parameter as one kernel (one WGSL program on
 * webgpu), teacher′ = teacher·α + student·(1 − α), in the float32 operation order of the tfjs
 * chain `tf.add(tf.mul(teacher, α), tf.mul(student, 1 − α))` it replaces, with α and 1 − α
 * rounded to float32 as tfjs rounds a scalar operand: bit-identical to that chain on cpu and
 * wasm (see `adamw_elementwise.ts`). Registered by `registerFusedOptimizerKernels` in
 * `adamw.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { type ElementwiseKernel, runKernelGroup } from "./adamw_elementwise.ts";

/** The kernel name of the fused EMA update. */
export const UDA_EMA_UPDATE = "UdaEmaUpdate";

const f = Math.fround;

function emaConstants(attrs: Record<string, unknown>): Record<string, number> {
  const alpha = attrs.alpha;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new Error(`${UDA_EMA_UPDATE}: attribute 'alpha' must be a finite number, got ${alpha}`);
  }
  // 1 − α is formed in float64, then rounded, as `tf.mul(student, 1 - a)` did.
  return { alpha: f(alpha), oneMinusAlpha: f(1 - alpha) };
}

function emaLoop(
  [teacher, student]: readonly ArrayLike<number>[],
  [out]: Float32Array[],
  { alpha, oneMinusAlpha }: Record<string, number>,
): void {
  for (let i = 0; i < out.length; i++) {
    out[i] = f(f(teacher[i] * alpha) + f(student[i] * oneMinusAlpha));
  }
}

/** The `UdaEmaUpdate` definition (exported for registration and the tests). */
export const UDA_EMA_UPDATE_KERNEL: ElementwiseKernel = {
  name: UDA_EMA_UPDATE,
  inputs: ["teacher", "student"],
  outputs: 1,
  constants: emaConstants,
  loop: emaLoop,
  simd: (kernels, [teacher, student, out], count, c) =>
    kernels.emaUpdate(teacher, student, out, count, c.alpha, c.oneMinusAlpha),
  webgpu: [{
    output: 0,
    sources: ["teacher", "student"],
    variables: ["T", "S"],
    uniforms: ["alpha", "oneMinusAlpha"],
    body: "setOutputAtIndex(index, T[index] * uniforms.alpha + S[index] * uniforms.oneMinusAlpha);",
  }],
};

/** Runs `UdaEmaUpdate` on the active backend: a new tensor teacher·α + student·(1 − α). */
export function fusedEmaUpdate(teacher: tf.Tensor, student: tf.Tensor, alpha: number): tf.Tensor {
  // Kernels of `registerElementwiseKernel` return a list, so the engine returns one too.
  const out = tf.engine().runKernel(UDA_EMA_UPDATE, { teacher, student }, { alpha });
  return (out as tf.Tensor[])[0];
}

/**
 * `UdaEmaUpdate` of every pair in one dispatch (`UdaEmaUpdateGroup`): the new teacher tensors,
 * each exactly what {@linkcode fusedEmaUpdate} returns for its pair.
 */
export function fusedEmaUpdateGroup(
  pairs: readonly { teacher: tf.Tensor; student: tf.Tensor }[],
  alpha: number,
): tf.Tensor[] {
  return runKernelGroup(
    UDA_EMA_UPDATE_KERNEL,
    pairs.map((inputs) => ({ inputs, attrs: { alpha } })),
  ).map(([out]) => out);
}
