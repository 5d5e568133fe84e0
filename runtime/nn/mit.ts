/**
 * Mix Transformer (MiT), the SegFormer encoder, exactly as mmseg's `mix_transformer.py`
 * (`shared/reference/daformer_hrda_mic.md` §5.1), plus small variants of ours for CPU-scale work.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";
import { addConv, addDepthwiseConv, addLayerNorm, addLinear } from "./init.ts";
import {
  conv2d,
  depthwiseConv2d,
  dropPath,
  type ForwardMode,
  gelu,
  layerNorm,
  linear,
} from "./layers.ts";

/** The shape of one MiT variant. */
export interface MitConfig {
  /** Variant name, e.g. `mit_b0`. */
  name: string;
  /** Embedding width per stage. */
  dims: readonly [number, number, number, number];
  /** Transformer blocks per stage. */
  depths: readonly [number, number, number, number];
  /** Attention heads per stage. */
  heads: readonly [number, number, number, number];
  /** Spatial-reduction ratio of keys/values per stage. */
  srRatios: readonly [number, number, number, number];
  /** Hidden width of the Mix-FFN relative to the stage width. */
  mlpRatio: number;
  /** True for the published variants, false for ours. */
  published: boolean;
}

const SR = [8, 4, 2, 1] as const;
const HEADS = [1, 2, 5, 8] as const;
const WIDE = [64, 128, 320, 512] as const;

/**
 * The published variants (§5.1 table) and two small ones of ours for CPU-scale experiments:
 * `mit_nano` and `mit_tiny` keep MiT's structure (overlapping patch embedding, spatial-reduction
 * attention, Mix-FFN) with fewer channels and blocks; they have no published weights.
 */
export const MIT_CONFIGS: Readonly<Record<string, MitConfig>> = Object.freeze({
  mit_b0: {
    name: "mit_b0",
    dims: [32, 64, 160, 256],
    depths: [2, 2, 2, 2],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_b1: {
    name: "mit_b1",
    dims: WIDE,
    depths: [2, 2, 2, 2],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_b2: {
    name: "mit_b2",
    dims: WIDE,
    depths: [3, 4, 6, 3],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_b3: {
    name: "mit_b3",
    dims: WIDE,
    depths: [3, 4, 18, 3],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_b4: {
    name: "mit_b4",
    dims: WIDE,
    depths: [3, 8, 27, 3],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_b5: {
    name: "mit_b5",
    dims: WIDE,
    depths: [3, 6, 40, 3],
    heads: HEADS,
    srRatios: SR,
    mlpRatio: 4,
    published: true,
  },
  mit_nano: {
    name: "mit_nano",
    dims: [16, 32, 64, 128],
    depths: [1, 1, 1, 1],
    heads: [1, 1, 2, 4],
    srRatios: SR,
    mlpRatio: 4,
    published: false,
  },
  mit_tiny: {
    name: "mit_tiny",
    dims: [32, 64, 128, 160],
    depths: [1, 1, 2, 1],
    heads: [1, 2, 4, 5],
    srRatios: SR,
    mlpRatio: 4,
    published: false,
  },
});

// LayerNorm epsilons (mmseg mix_transformer.py): blocks and stage outputs use
// partial(nn.LayerNorm, eps=1e-6); the patch embedding and the attention's reduction norm use
// PyTorch's default 1e-5.
const BLOCK_NORM_EPS = 1e-6;
const DEFAULT_NORM_EPS = 1e-5;

/** Patch-embedding kernel, stride and padding per stage (7×7/4/3, then 3×3/2/1). */
const PATCH_EMBED = [
  { kernel: 7, stride: 4, padding: 3 },
  { kernel: 3, stride: 2, padding: 1 },
  { kernel: 3, stride: 2, padding: 1 },
  { kernel: 3, stride: 2, padding: 1 },
] as const;

/** Stochastic-depth rate of every block: linear from 0 to `rate` over all blocks (timm). */
export function dropPathRates(config: MitConfig, rate: number): number[][] {
  const total = config.depths.reduce((a, b) => a + b, 0);
  const rates = Array.from(
    { length: total },
    (_, i) => (total === 1 ? 0 : (rate * i) / (total - 1)),
  );
  let k = 0;
  return config.depths.map((d) => rates.slice(k, k += d));
}

/** Adds every MiT parameter under `prefix` (mmseg: `backbone`). */
export function initMit(
  params: ParamStore,
  rng: RandomStream,
  config: MitConfig,
  prefix = "backbone",
): void {
  let inChannels = 3;
  for (let s = 0; s < 4; s++) {
    const dim = config.dims[s];
    const pe = `${prefix}.patch_embed${s + 1}`;
    addConv(params, rng.fork(`${pe}.proj`), `${pe}.proj`, PATCH_EMBED[s].kernel, inChannels, dim, {
      bias: true,
    });
    addLayerNorm(params, `${pe}.norm`, dim);
    const hidden = dim * config.mlpRatio;
    for (let b = 0; b < config.depths[s]; b++) {
      const p = `${prefix}.block${s + 1}.${b}`;
      const r = rng.fork(p);
      addLayerNorm(params, `${p}.norm1`, dim);
      addLinear(params, r.fork("q"), `${p}.attn.q`, dim, dim);
      addLinear(params, r.fork("kv"), `${p}.attn.kv`, dim, 2 * dim);
      addLinear(params, r.fork("proj"), `${p}.attn.proj`, dim, dim);
      if (config.srRatios[s] > 1) {
        addConv(params, r.fork("sr"), `${p}.attn.sr`, config.srRatios[s], dim, dim, { bias: true });
        addLayerNorm(params, `${p}.attn.norm`, dim);
      }
      addLayerNorm(params, `${p}.norm2`, dim);
      addLinear(params, r.fork("fc1"), `${p}.mlp.fc1`, dim, hidden);
      addDepthwiseConv(params, r.fork("dwconv"), `${p}.mlp.dwconv.dwconv`, 3, hidden, true);
      addLinear(params, r.fork("fc2"), `${p}.mlp.fc2`, hidden, dim);
    }
    addLayerNorm(params, `${prefix}.norm${s + 1}`, dim);
    inChannels = dim;
  }
}

/** Efficient self-attention with spatial reduction on `[B, H, W, C]` tokens. */
function attention(
  params: ParamStore,
  p: string,
  x: tf.Tensor4D,
  heads: number,
  srRatio: number,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const d = c / heads;
  const n = h * w;
  const q = linear(params, `${p}.q`, x).reshape([b, n, heads, d]).transpose([0, 2, 1, 3]);
  let source: tf.Tensor = x;
  if (srRatio > 1) {
    const reduced = conv2d(params, `${p}.sr`, x, { stride: srRatio });
    source = layerNorm(params, `${p}.norm`, reduced, DEFAULT_NORM_EPS);
  }
  const m = source.shape[1]! * source.shape[2]!;
  // kv = Linear(C, 2C) reshaped (B, M, 2, heads, d): the first C outputs are keys, the next values.
  const kv = linear(params, `${p}.kv`, source).reshape([b, m, 2, heads, d]).transpose([
    2,
    0,
    3,
    1,
    4,
  ]);
  const [k, v] = tf.unstack(kv, 0);
  const scores = tf.mul(tf.matMul(q, k, false, true), d ** -0.5);
  const out = tf.matMul(tf.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([b, h, w, c]);
  return linear(params, `${p}.proj`, out) as tf.Tensor4D;
}

/** Mix-FFN: Linear → depthwise 3×3 (pad 1) → exact GELU → Linear. */
function mixFfn(params: ParamStore, p: string, x: tf.Tensor4D): tf.Tensor4D {
  const hidden = linear(params, `${p}.fc1`, x) as tf.Tensor4D;
  const mixed = depthwiseConv2d(params, `${p}.dwconv.dwconv`, hidden, { padding: [1, 1] });
  return linear(params, `${p}.fc2`, gelu(mixed)) as tf.Tensor4D;
}

/**
 * The encoder's forward pass on NHWC images; returns the four stage outputs at strides
 * 4/8/16/32 (NHWC, after each stage's LayerNorm).
 */
export function mitForward(
  params: ParamStore,
  config: MitConfig,
  image: tf.Tensor4D,
  mode: ForwardMode,
  dropPathRate: number,
  prefix = "backbone",
): tf.Tensor4D[] {
  const rates = dropPathRates(config, dropPathRate);
  const outputs: tf.Tensor4D[] = [];
  let x = image;
  for (let s = 0; s < 4; s++) {
    const pe = `${prefix}.patch_embed${s + 1}`;
    const { stride, padding } = PATCH_EMBED[s];
    x = conv2d(params, `${pe}.proj`, x, { stride, padding: [padding, padding] });
    x = layerNorm(params, `${pe}.norm`, x, DEFAULT_NORM_EPS) as tf.Tensor4D;
    for (let b = 0; b < config.depths[s]; b++) {
      const p = `${prefix}.block${s + 1}.${b}`;
      const attn = attention(
        params,
        `${p}.attn`,
        layerNorm(params, `${p}.norm1`, x, BLOCK_NORM_EPS) as tf.Tensor4D,
        config.heads[s],
        config.srRatios[s],
      );
      x = tf.add(x, dropPath(attn, rates[s][b], mode)) as tf.Tensor4D;
      const ffn = mixFfn(
        params,
        `${p}.mlp`,
        layerNorm(params, `${p}.norm2`, x, BLOCK_NORM_EPS) as tf.Tensor4D,
      );
      x = tf.add(x, dropPath(ffn, rates[s][b], mode)) as tf.Tensor4D;
    }
    x = layerNorm(params, `${prefix}.norm${s + 1}`, x, BLOCK_NORM_EPS) as tf.Tensor4D;
    outputs.push(x);
  }
  return outputs;
}

/** Spatial size after a convolution with the given kernel, stride and padding (PyTorch floor). */
export function convOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Stage output sizes `[h, w]` for an input of `height × width`. */
export function mitStageSizes(height: number, width: number): [number, number][] {
  const sizes: [number, number][] = [];
  let h = height;
  let w = width;
  for (const { kernel, stride, padding } of PATCH_EMBED) {
    h = convOutputSize(h, kernel, stride, padding);
    w = convOutputSize(w, kernel, stride, padding);
    sizes.push([h, w]);
  }
  return sizes;
}

/**
 * Multiply-accumulate count ×2 of one image's encoder forward: convolutions, linears and the two
 * attention matmuls (elementwise ops and norms excluded, as FLOP counts in papers do).
 */
export function mitFlops(config: MitConfig, height: number, width: number): number {
  const sizes = mitStageSizes(height, width);
  let flops = 0;
  let inChannels = 3;
  for (let s = 0; s < 4; s++) {
    const [h, w] = sizes[s];
    const n = h * w;
    const c = config.dims[s];
    const k = PATCH_EMBED[s].kernel;
    flops += 2 * n * k * k * inChannels * c;
    const r = config.srRatios[s];
    const m = r > 1 ? Math.floor(h / r) * Math.floor(w / r) : n;
    const hidden = c * config.mlpRatio;
    const perBlock = 2 * n * c * c + // q
      (r > 1 ? 2 * m * r * r * c * c : 0) + // spatial-reduction conv
      2 * m * c * 2 * c + // kv
      2 * n * m * c * 2 + // q·kᵀ and attention·v
      2 * n * c * c + // proj
      2 * n * c * hidden * 2 + // fc1, fc2
      2 * n * 9 * hidden; // depthwise 3×3
    flops += config.depths[s] * perBlock;
    inChannels = c;
  }
  return flops;
}
