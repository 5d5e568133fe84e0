/**
 * Building blocks of the networks, as functions over a {@linkcode ParamStore}.
 *
 * Every layer reads its parameters by mmseg name and follows PyTorch's semantics (the reference
 * code is PyTorch/mmseg); tensors are NHWC. Convolutions are plain `conv2d` plus a bias add rather
 * than tfjs's fused ops, because fused-op gradients exist only for linear/relu activations.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";
import { fusedLayerNorm, LAYER_NORM } from "../backend/kernels/layer_norm.ts";
import { fusedGelu, GELU } from "../backend/kernels/gelu.ts";
import { fusedLinear, LINEAR } from "../backend/kernels/linear.ts";

/** Whether a forward pass trains (batch statistics, dropout, drop-path) or evaluates. */
export interface ForwardMode {
  /** Training behaviour: BatchNorm batch statistics, dropout and drop-path active. */
  training: boolean;
  /** Source of dropout and drop-path masks; required when `training` is true. */
  rng?: RandomStream;
  /**
   * BatchNorm on batch statistics (updating the running ones) even when `training` is false:
   * DAFormer's teacher predicts with dropout and drop-path off but BatchNorm in train mode
   * (`shared/reference/daformer_hrda_mic.md` §2.1 step 5).
   */
  batchStatistics?: boolean;
  /**
   * Where BatchNorm's running-statistics updates go instead of being applied at once: a step
   * split over two processes records them and replays them in one-process order
   * (`runtime/train/lanes.ts`), so both leave the same buffers.
   */
  deferRunningStats?: (update: RunningStatsUpdate) => void;
  /**
   * How a multi-resolution model places its detail box in training: at random (HRDA, the
   * default) or on the overlapping window where its context prediction's entropy is highest
   * (CLUDA's mixed image, `shared/reference/pipa_cluda.md` §5.6). Set by a module's pass setting.
   */
  detailBox?: "random" | "maxEntropy";
}

/** One BatchNorm running-statistics update: the buffers and the batch's statistics. */
export interface RunningStatsUpdate {
  /** The `running_mean` buffer. */
  runningMean: tf.Variable;
  /** The `running_var` buffer. */
  runningVar: tf.Variable;
  /** The batch mean per channel (the caller owns it). */
  mean: tf.Tensor;
  /** The batch's biased variance per channel (the caller owns it). */
  variance: tf.Tensor;
  /** Values per channel in the batch (for Bessel's correction). */
  count: number;
}

/** Padding of a convolution: symmetric `[top/bottom, left/right]` amounts in pixels. */
export type Padding2D = readonly [number, number];

function explicitPad(pad: Padding2D): [[number, number], [number, number], [number, number], [
  number,
  number,
]] {
  return [[0, 0], [pad[0], pad[0]], [pad[1], pad[1]], [0, 0]];
}

/**
 * A linear layer over the last axis (`nn.Linear`): `x @ W + b`, with `W` stored `[in, out]`, on
 * inputs of any rank ≥ 2: one fused `UdaLinear` kernel where the active backend has it (cpu,
 * wasm, webgpu; bit-identical to {@linkcode composedLinear} there), else the composed ops.
 */
export function linear(params: ParamStore, name: string, x: tf.Tensor): tf.Tensor {
  const weight = params.get(`${name}.weight`);
  const bias = params.has(`${name}.bias`) ? params.get(`${name}.bias`) : undefined;
  if (tf.getKernel(LINEAR, tf.getBackend()) !== undefined) return fusedLinear(x, weight, bias);
  return composedLinear(x, weight, bias);
}

/**
 * A linear layer as tfjs ops (reshape to a matrix, product, bias add, reshape back): the
 * fallback for backends without the fused kernel (tfjs-node) and the reference it is tested
 * against.
 */
export function composedLinear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const flat = x.reshape([-1, shape[shape.length - 1]]);
  let y = tf.matMul(flat, weight);
  if (bias !== undefined) y = tf.add(y, bias);
  return y.reshape([...shape.slice(0, -1), weight.shape[1] as number]);
}

/** Options of {@linkcode conv2d}. */
export interface ConvOptions {
  /** Stride in both directions. */
  stride?: number;
  /** Zero padding `[rows, columns]` on each side (PyTorch `padding`). */
  padding?: Padding2D;
  /** Dilation in both directions. */
  dilation?: number;
}

/** Shared body of the dense and depthwise convolutions: padding, the op, the optional bias. */
function convolve(
  op: typeof tf.conv2d | typeof tf.depthwiseConv2d,
  params: ParamStore,
  name: string,
  x: tf.Tensor4D,
  options: ConvOptions,
): tf.Tensor4D {
  const { stride = 1, padding = [0, 0], dilation = 1 } = options;
  const weight = params.get(`${name}.weight`) as tf.Tensor4D;
  const pad = padding[0] === 0 && padding[1] === 0 ? "valid" : explicitPad(padding);
  let y = op(x, weight, stride, pad, "NHWC", dilation);
  if (params.has(`${name}.bias`)) y = tf.add(y, params.get(`${name}.bias`));
  return y;
}

/** A 2-D convolution (`nn.Conv2d`, groups 1) with `W` stored `[kh, kw, in, out]`. */
export function conv2d(
  params: ParamStore,
  name: string,
  x: tf.Tensor4D,
  options: ConvOptions = {},
): tf.Tensor4D {
  return convolve(tf.conv2d, params, name, x, options);
}

/** A depthwise convolution (`nn.Conv2d` with groups = channels), `W` stored `[kh, kw, C, 1]`. */
export function depthwiseConv2d(
  params: ParamStore,
  name: string,
  x: tf.Tensor4D,
  options: ConvOptions = {},
): tf.Tensor4D {
  return convolve(tf.depthwiseConv2d, params, name, x, options);
}

/**
 * LayerNorm over the last axis (`nn.LayerNorm`) with biased variance, as PyTorch: one fused
 * `UdaLayerNorm` kernel where the active backend has it (cpu, wasm, webgpu; bit-identical to
 * {@linkcode composedLayerNorm} there), else the composed formula.
 */
export function layerNorm(params: ParamStore, name: string, x: tf.Tensor, eps: number): tf.Tensor {
  const gamma = params.get(`${name}.weight`);
  const beta = params.get(`${name}.bias`);
  if (tf.getKernel(LAYER_NORM, tf.getBackend()) !== undefined) {
    return fusedLayerNorm(x, gamma, beta, eps);
  }
  return composedLayerNorm(x, gamma, beta, eps);
}

/**
 * LayerNorm as nine tfjs ops: the fallback for backends without the fused kernel (tfjs-node)
 * and the reference the fused kernel is tested against.
 */
export function composedLayerNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, gamma), beta);
}

/** BatchNorm momentum and epsilon of PyTorch's `nn.BatchNorm2d` defaults (mmcv keeps them). */
export const BATCH_NORM_MOMENTUM = 0.1;
/** PyTorch `nn.BatchNorm2d` epsilon. */
export const BATCH_NORM_EPS = 1e-5;

/**
 * BatchNorm over N, H, W (`nn.BatchNorm2d`).
 *
 * Training normalises with the batch's biased variance and moves the running statistics by
 * momentum 0.1 towards the batch mean and the *unbiased* variance, as PyTorch does; the update is
 * a side effect on the buffers (outside any gradient). Evaluation uses the running statistics.
 */
export function batchNorm(
  params: ParamStore,
  name: string,
  x: tf.Tensor4D,
  mode: ForwardMode,
): tf.Tensor4D {
  const gamma = params.get(`${name}.weight`);
  const beta = params.get(`${name}.bias`);
  const runningMean = params.get(`${name}.running_mean`);
  const runningVar = params.get(`${name}.running_var`);
  if (!mode.training && !mode.batchStatistics) {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(runningVar, BATCH_NORM_EPS)));
    return tf.add(tf.mul(tf.sub(x, runningMean), scale), beta);
  }
  const mean = tf.mean(x, [0, 1, 2]);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), [0, 1, 2]);
  const count = x.size / x.shape[3];
  if (mode.deferRunningStats === undefined) {
    applyRunningStats({ runningMean, runningVar, mean, variance, count });
  } else {
    mode.deferRunningStats({
      runningMean,
      runningVar,
      mean: tf.keep(tf.clone(mean)),
      variance: tf.keep(tf.clone(variance)),
      count,
    });
  }
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, BATCH_NORM_EPS)));
  return tf.add(tf.mul(normed, gamma), beta);
}

/** Moves the running statistics towards the batch's, as PyTorch's `nn.BatchNorm2d` does. */
export function applyRunningStats(
  { runningMean, runningVar, mean, variance, count }: RunningStatsUpdate,
): void {
  // The buffers feed nothing that is differentiated, so these ops add no gradient paths.
  const m = BATCH_NORM_MOMENTUM;
  const bessel = count > 1 ? count / (count - 1) : 1;
  const [newMean, newVar] = tf.tidy(() => [
    tf.add(tf.mul(runningMean, 1 - m), tf.mul(mean, m)),
    tf.add(tf.mul(runningVar, 1 - m), tf.mul(variance, m * bessel)),
  ]);
  runningMean.assign(newMean);
  runningVar.assign(newVar);
  tf.dispose([newMean, newVar]);
}

/**
 * Exact GELU, `0.5·x·(1 + erf(x/√2))` (PyTorch `nn.GELU` default, used by MiT's Mix-FFN): one
 * fused `UdaGelu` kernel where the active backend has it, else {@linkcode composedGelu}.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.getKernel(GELU, tf.getBackend()) !== undefined ? fusedGelu(x) : composedGelu(x);
}

/**
 * GELU as five tfjs ops (with tfjs's `Erf`): the fallback for backends without the fused kernel
 * and the reference the fused kernel is tested against.
 */
export function composedGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Element-wise dropout (`nn.Dropout`): zero with probability `rate`, scale survivors by 1/(1−rate). */
export function dropout(x: tf.Tensor, rate: number, mode: ForwardMode): tf.Tensor {
  if (!mode.training || rate === 0) return x;
  const rng = requireRng(mode, "dropout");
  const keep = 1 - rate;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor(mask, x.shape));
}

/** Channel dropout (`nn.Dropout2d`): whole feature maps per sample, as the DAFormer classifier. */
export function dropout2d(x: tf.Tensor4D, rate: number, mode: ForwardMode): tf.Tensor4D {
  if (!mode.training || rate === 0) return x;
  const rng = requireRng(mode, "dropout2d");
  const [n, , , c] = x.shape;
  const keep = 1 - rate;
  const mask = new Float32Array(n * c);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor4d(mask, [n, 1, 1, c]));
}

/**
 * Stochastic depth (timm `DropPath`): drops a residual branch per sample with probability
 * `rate`, scaling kept samples by 1/(1−rate). `x` has the batch on axis 0.
 */
export function dropPath(x: tf.Tensor, rate: number, mode: ForwardMode): tf.Tensor {
  if (!mode.training || rate === 0) return x;
  const rng = requireRng(mode, "dropPath");
  const keep = 1 - rate;
  const n = x.shape[0];
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor(mask, [n, ...new Array(x.rank - 1).fill(1)]));
}

function requireRng(mode: ForwardMode, layer: string): RandomStream {
  if (mode.rng === undefined) {
    throw new Error(`${layer}: a training-mode forward pass needs mode.rng for its random masks`);
  }
  return mode.rng;
}

/** Bilinear resize with `align_corners=False` (half-pixel centres), as `F.interpolate` in mmseg. */
export function resizeBilinear(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return x;
  return tf.image.resizeBilinear(x, [height, width], false, true);
}
