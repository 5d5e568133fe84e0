/**
 * Parameter initialisers, drawing from an explicit {@linkcode RandomStream} so the same seed gives
 * the same weights on every backend.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";

/** Normal samples truncated to [−2σ, 2σ] by resampling (timm `trunc_normal_`, a = −2σ, b = 2σ). */
export function truncatedNormal(rng: RandomStream, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z: number;
    do z = rng.normal(); while (z < -2 || z > 2);
    out[i] = z * std;
  }
  return out;
}

/**
 * A Linear layer's weight `[in, out]` (trunc-normal std 0.02, MiT `_init_weights`) and zero bias.
 */
export function addLinear(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  inFeatures: number,
  outFeatures: number,
  bias = true,
): void {
  const w = truncatedNormal(rng, inFeatures * outFeatures, 0.02);
  params.add(`${name}.weight`, tf.tensor2d(w, [inFeatures, outFeatures]), "linear");
  if (bias) params.add(`${name}.bias`, tf.zeros([outFeatures]), "plain");
}

/** Options of {@linkcode addConv}. */
export interface ConvInit {
  /** Whether the convolution has a bias (mmcv `bias='auto'`: none when a norm follows). */
  bias: boolean;
  /** Standard deviation; defaults to √(2 / fan_out), fan_out = k·k·out/groups (MiT, mmcv Kaiming fan_out). */
  std?: number;
}

/** A dense convolution's weight `[k, k, in, out]` from normal(0, std) and zero bias. */
export function addConv(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
  init: ConvInit,
): void {
  const std = init.std ?? Math.sqrt(2 / (kernel * kernel * outChannels));
  const w = rng.normalArray(kernel * kernel * inChannels * outChannels, 0, std);
  params.add(`${name}.weight`, tf.tensor4d(w, [kernel, kernel, inChannels, outChannels]), "conv");
  if (init.bias) params.add(`${name}.bias`, tf.zeros([outChannels]), "plain");
}

/** A depthwise convolution's weight `[k, k, C, 1]` (fan_out = k·k·C/C = k·k) and optional bias. */
export function addDepthwiseConv(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  kernel: number,
  channels: number,
  bias: boolean,
): void {
  const std = Math.sqrt(2 / (kernel * kernel));
  const w = rng.normalArray(kernel * kernel * channels, 0, std);
  params.add(`${name}.weight`, tf.tensor4d(w, [kernel, kernel, channels, 1]), "depthwise");
  if (bias) params.add(`${name}.bias`, tf.zeros([channels]), "plain");
}

/** A LayerNorm's weight (1) and bias (0). */
export function addLayerNorm(params: ParamStore, name: string, channels: number): void {
  params.add(`${name}.weight`, tf.ones([channels]), "plain");
  params.add(`${name}.bias`, tf.zeros([channels]), "plain");
}

/** A BatchNorm's γ = 1, β = 0 and running statistics (mean 0, variance 1) as buffers. */
export function addBatchNorm(params: ParamStore, name: string, channels: number): void {
  params.add(`${name}.weight`, tf.ones([channels]), "plain");
  params.add(`${name}.bias`, tf.zeros([channels]), "plain");
  params.add(`${name}.running_mean`, tf.zeros([channels]), "plain", false);
  params.add(`${name}.running_var`, tf.ones([channels]), "plain", false);
}
