/**
 * `UdaAdamW`: one parameter's whole AdamW update as one kernel (one dispatch on cpu and wasm,
 * three WGSL programs on webgpu; see `adamw_elementwise.ts`), in place of the 19 tfjs ops per
 * parameter it replaces (2586 of the 6207 dispatches of a MiT-B0 train step).
 *
 * Inputs `param`, `grad`, `m`, `v`; outputs [param′, m′, v′]:
 *
 * ```
 * m′ = β1·m + (1−β1)·g
 * v′ = β2·v + (1−β2)·g·g
 * p′ = p·decayFactor − (m′ / (√v′/sqrtCorrection2 + ε))·stepSize
 * ```
 *
 * in exactly the float32 operation order of the tfjs chain `AdamW.apply` used before, with every
 * attribute rounded to float32 first, as tfjs rounds a JavaScript scalar operand. On cpu and wasm
 * the result is therefore bit-identical to that chain; `p·1` is exact, so `decayFactor` 1 (no
 * weight decay) equals skipping the product. On webgpu the WGSL compiler may contract a product
 * and a sum into a fused multiply-add and WGSL's `/` and `sqrt` need not be correctly rounded,
 * so results there may differ by a few ulp (`tests/optim/fused_adamw_test.ts` states the bound).
 *
 * @module
 */
import { tf } from "../../tf.ts";
import {
  type ElementwiseKernel,
  registerElementwiseKernel,
  runKernelGroup,
} from "./adamw_elementwise.ts";
import { UDA_EMA_UPDATE, UDA_EMA_UPDATE_KERNEL } from "./ema.ts";

/** The kernel name of the fused AdamW update. */
export const UDA_ADAMW = "UdaAdamW";

/** The attributes of one `UdaAdamW` call (float64; the kernel rounds them to float32). */
export interface AdamWKernelAttrs {
  /** First-moment decay β1. */
  beta1: number;
  /** Second-moment decay β2. */
  beta2: number;
  /** Added to the bias-corrected root of v. */
  eps: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** √(1 − β2ᵗ). */
  sqrtCorrection2: number;
  /** 1 − lr·weightDecay, or 1 when the parameter has no weight decay. */
  decayFactor: number;
}

const ATTRS = ["beta1", "beta2", "eps", "stepSize", "sqrtCorrection2", "decayFactor"] as const;

const f = Math.fround;

function adamwConstants(attrs: Record<string, unknown>): Record<string, number> {
  for (const key of ATTRS) {
    if (typeof attrs[key] !== "number" || !Number.isFinite(attrs[key])) {
      throw new Error(
        `${UDA_ADAMW}: attribute '${key}' must be a finite number, got ${attrs[key]}`,
      );
    }
  }
  const a = attrs as unknown as AdamWKernelAttrs;
  // `1 − β` is formed in float64 and then rounded, as `tf.mul(x, 1 - beta)` did.
  return {
    beta1: f(a.beta1),
    oneMinusBeta1: f(1 - a.beta1),
    beta2: f(a.beta2),
    oneMinusBeta2: f(1 - a.beta2),
    eps: f(a.eps),
    stepSize: f(a.stepSize),
    sqrtCorrection2: f(a.sqrtCorrection2),
    decayFactor: f(a.decayFactor),
  };
}

function adamwLoop(
  [p, g, m, v]: readonly ArrayLike<number>[],
  [outP, outM, outV]: Float32Array[],
  c: Record<string, number>,
): void {
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, stepSize, sqrtCorrection2 } = c;
  const decayFactor = c.decayFactor;
  for (let i = 0; i < outP.length; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * beta1) + f(gi * oneMinusBeta1));
    const vi = f(f(v[i] * beta2) + f(f(gi * gi) * oneMinusBeta2));
    const denom = f(f(f(Math.sqrt(vi)) / sqrtCorrection2) + eps);
    outM[i] = mi;
    outV[i] = vi;
    outP[i] = f(f(p[i] * decayFactor) - f(f(mi / denom) * stepSize));
  }
}

/** The `UdaAdamW` definition (exported for the tests, which run it on every backend). */
export const UDA_ADAMW_KERNEL: ElementwiseKernel = {
  name: UDA_ADAMW,
  inputs: ["param", "grad", "m", "v"],
  outputs: 3,
  constants: adamwConstants,
  loop: adamwLoop,
  simd: (kernels, [p, g, m, v, outP, outM, outV], count, c) =>
    kernels.adamwUpdate(
      p,
      g,
      m,
      v,
      outP,
      outM,
      outV,
      count,
      c.beta1,
      c.oneMinusBeta1,
      c.beta2,
      c.oneMinusBeta2,
      c.eps,
      c.stepSize,
      c.sqrtCorrection2,
      c.decayFactor,
    ),
  webgpu: [
    {
      output: 1,
      sources: ["m", "grad"],
      variables: ["M", "G"],
      uniforms: ["beta1", "oneMinusBeta1"],
      body:
        "setOutputAtIndex(index, M[index] * uniforms.beta1 + G[index] * uniforms.oneMinusBeta1);",
    },
    {
      output: 2,
      sources: ["v", "grad"],
      variables: ["V", "G"],
      uniforms: ["beta2", "oneMinusBeta2"],
      body: `let g = G[index];
          setOutputAtIndex(index, V[index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2);`,
    },
    {
      output: 0,
      // The new moments, written by the two programs above.
      sources: ["param", "out1", "out2"],
      variables: ["P", "M", "V"],
      uniforms: ["sqrtCorrection2", "eps", "decayFactor", "stepSize"],
      body: `let denom = sqrt(V[index]) / uniforms.sqrtCorrection2 + uniforms.eps;
          setOutputAtIndex(index,
            P[index] * uniforms.decayFactor - (M[index] / denom) * uniforms.stepSize);`,
    },
  ],
};

/**
 * Runs `UdaAdamW` on the active backend: returns [param′, m′, v′] as new tensors (the caller
 * assigns or disposes them). Not differentiable.
 */
export function fusedAdamW(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamWKernelAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = tf.engine().runKernel(
    UDA_ADAMW,
    { param, grad, m, v },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}

/** One AdamW update's tensors and attributes, for {@linkcode fusedAdamWGroup}. */
export interface AdamWCall {
  param: tf.Tensor;
  grad: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  attrs: AdamWKernelAttrs;
}

/**
 * Runs `UdaAdamW` for every entry in one dispatch (`UdaAdamWGroup`) and returns each entry's
 * [param′, m′, v′], exactly as separate {@linkcode fusedAdamW} calls would.
 */
export function fusedAdamWGroup(calls: readonly AdamWCall[]): [tf.Tensor, tf.Tensor, tf.Tensor][] {
  const outs = runKernelGroup(
    UDA_ADAMW_KERNEL,
    calls.map(({ param, grad, m, v, attrs }) => ({
      inputs: { param, grad, m, v },
      attrs: attrs as unknown as Record<string, unknown>,
    })),
  );
  return outs.map(([p, m, v]) => [p, m, v]);
}

/** The fused optimiser kernels {@linkcode registerFusedOptimizerKernels} registers. */
export const FUSED_OPTIMIZER_KERNELS: readonly string[] = [
  UDA_ADAMW,
  `${UDA_ADAMW}Group`,
  UDA_EMA_UPDATE,
  `${UDA_EMA_UPDATE}Group`,
];

/** Registers `UdaAdamW` and `UdaEmaUpdate` on cpu, tensorflow, wasm and webgpu (idempotent). */
export function registerFusedOptimizerKernels(): void {
  registerElementwiseKernel(UDA_ADAMW_KERNEL);
  registerElementwiseKernel(UDA_EMA_UPDATE_KERNEL);
}
