/**
 * Decode heads: the SegFormer all-MLP head and the DAFormer head with sep-ASPP context fusion
 * (`shared/reference/daformer_hrda_mic.md` §5.1b and §5.2).
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";
import { addBatchNorm, addConv, addDepthwiseConv, addLinear } from "./init.ts";
import {
  batchNorm,
  conv2d,
  depthwiseConv2d,
  dropout2d,
  type ForwardMode,
  linear,
  resizeBilinear,
} from "./layers.ts";

/** Options shared by both heads. */
export interface HeadConfig {
  /** Encoder output widths, stage 1..4. */
  inChannels: readonly number[];
  /** Decoder embedding width (`channels` / `embed_dims`). */
  channels: number;
  /**
   * The DAFormer head's per-level embedding width before the fusion (mmseg
   * `decoder_params.embed_dims`); `channels` where absent.
   */
  embedDims?: number;
  /** Number of output classes. */
  numClasses: number;
  /** Dropout before the classifier (mmseg `dropout_ratio`, 0.1 in both heads). */
  dropout: number;
  /**
   * Parameter-name prefix: `decode_head` (mmseg's `EncoderDecoder`); HRDA's head wraps the
   * DAFormer head as `decode_head.head` beside its `decode_head.scale_attention` (§6.2).
   */
  prefix?: string;
}

/** What a decode head returns. */
export interface HeadOutputs {
  /** The fused decoder embedding before dropout and the classifier, stride 4, NHWC. */
  embedding: tf.Tensor4D;
  /** Class scores at stride 4, NHWC. */
  logits: tf.Tensor4D;
}

/** The width of each level's embedding in the DAFormer head: `embedDims`, else `channels`. */
export function levelWidth(config: HeadConfig): number {
  return config.embedDims ?? config.channels;
}

/** DAFormer's ASPP dilations (config `daformer_sepaspp_mitb5.py`: dilations (1, 6, 12, 18)). */
export const DAFORMER_DILATIONS = [1, 6, 12, 18] as const;

/** The head's parameter-name prefix. */
export function headPrefix(config: HeadConfig): string {
  return config.prefix ?? "decode_head";
}

/** ConvModule = conv (no bias) + BatchNorm + ReLU, mmcv's default order. */
export function convModule(
  params: ParamStore,
  name: string,
  x: tf.Tensor4D,
  mode: ForwardMode,
  options: { padding?: [number, number]; dilation?: number } = {},
): tf.Tensor4D {
  const y = conv2d(params, `${name}.conv`, x, options);
  return tf.relu(batchNorm(params, `${name}.bn`, y, mode));
}

/** Adds a ConvModule's parameters (mmcv's initialisation). */
export function addConvModule(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
): void {
  // mmcv ConvModule init: Kaiming normal (fan_out, relu), no bias before a norm (bias='auto').
  addConv(params, rng.fork(name), `${name}.conv`, kernel, inChannels, outChannels, { bias: false });
  addBatchNorm(params, `${name}.bn`, outChannels);
}

/** Adds the 1×1 classifier `conv_seg` (mmseg's initialisation). */
export function addClassifier(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  config: HeadConfig,
): void {
  // mmseg BaseDecodeHead.init_weights: conv_seg normal(0, 0.01), bias 0.
  addConv(params, rng.fork(name), name, 1, config.channels, config.numClasses, {
    bias: true,
    std: 0.01,
  });
}

/** Projects each level's tokens with a Linear and resizes all to level 0 (stride 4). */
export function embedLevels(
  params: ParamStore,
  names: (i: number) => string,
  features: tf.Tensor4D[],
): tf.Tensor4D[] {
  const [h, w] = [features[0].shape[1], features[0].shape[2]];
  return features.map((f, i) => resizeBilinear(linear(params, names(i), f) as tf.Tensor4D, h, w));
}

/** Parameter names of an all-MLP head: per-level embeddings, the 1×1 fusion, the classifier. */
export interface MlpHeadNames {
  /** Level `i`'s Linear embedding. */
  embed(i: number): string;
  /** The 1×1 ConvModule fusing the concatenated levels. */
  fuse: string;
  /** The 1×1 classifier. */
  classifier: string;
}

/** Adds an all-MLP head's parameters (SegFormer's; HRDA's scale attention uses the same). */
export function initMlpHead(
  params: ParamStore,
  rng: RandomStream,
  config: HeadConfig,
  names: MlpHeadNames,
): void {
  config.inChannels.forEach((c, i) =>
    addLinear(params, rng.fork(`c${i}`), names.embed(i), c, config.channels)
  );
  addConvModule(params, rng, names.fuse, 1, 4 * config.channels, config.channels);
  addClassifier(params, rng, names.classifier, config);
}

/**
 * The all-MLP head's 1×1 fusion of the concatenated, resized levels, computed level by level
 * before the resize: `Σ_i resize(e_i · W_i)`, W_i being the fusion filter's block of input
 * channels for level i (in concat order). A 1×1 convolution mixes channels and a bilinear resize
 * mixes pixels, both linearly, so they commute and the sum equals the convolution of the concat
 * exactly in real arithmetic; in float32 only the order of the sums differs. Levels 1–3 have
 * 4×, 16× and 64× fewer pixels than level 0, so the fusion costs 0.36 instead of 1.07 GFLOP for a
 * MiT-B0 batch of 2 at 128² (it was the step's largest layer), and no concat or split runs.
 */
export function fuseLevels(
  params: ParamStore,
  names: MlpHeadNames,
  features: tf.Tensor4D[],
  channels: number,
): tf.Tensor4D {
  const [h, w] = [features[0].shape[1], features[0].shape[2]];
  const filter = params.get(`${names.fuse}.conv.weight`) as tf.Tensor4D;
  let fused: tf.Tensor4D | undefined;
  features.forEach((f, i) => {
    const embedded = linear(params, names.embed(i), f) as tf.Tensor4D;
    const block = tf.slice(filter, [0, 0, i * channels, 0], [1, 1, channels, filter.shape[3]]);
    const part = resizeBilinear(tf.conv2d(embedded, block, 1, "valid"), h, w);
    fused = fused === undefined ? part : tf.add(fused, part);
  });
  if (params.has(`${names.fuse}.conv.bias`)) {
    fused = tf.add(fused!, params.get(`${names.fuse}.conv.bias`));
  }
  return fused!;
}

/**
 * An all-MLP head: per-level Linear → resize to stride 4 → concat in level order 0..3 → 1×1 conv
 * + BN + ReLU → dropout → classifier, with the 1×1 conv taken before the resize
 * ({@linkcode fuseLevels}). Returns the fused embedding and the logits at stride 4.
 */
export function mlpHead(
  params: ParamStore,
  config: HeadConfig,
  features: tf.Tensor4D[],
  mode: ForwardMode,
  names: MlpHeadNames,
): HeadOutputs {
  const fused = fuseLevels(params, names, features, config.channels);
  const embedding = tf.relu(batchNorm(params, `${names.fuse}.bn`, fused, mode));
  const logits = conv2d(params, names.classifier, dropout2d(embedding, config.dropout, mode));
  return { embedding, logits };
}

function segformerNames(config: HeadConfig): MlpHeadNames {
  const prefix = headPrefix(config);
  return {
    embed: (i) => `${prefix}.linear_c.${i}.proj`,
    fuse: `${prefix}.linear_fuse`,
    classifier: `${prefix}.linear_pred`,
  };
}

/** Adds the SegFormer head's parameters (`linear_c.{i}.proj`, `linear_fuse`, `linear_pred`). */
export function initSegformerHead(params: ParamStore, rng: RandomStream, config: HeadConfig): void {
  initMlpHead(params, rng, config, segformerNames(config));
}

/**
 * SegFormer head: per-level Linear → resize to stride 4 → concat in level order 0..3 (the
 * DAFormer repository's copy; NVlabs concatenates 3..0) → 1×1 conv + BN + ReLU → dropout →
 * classifier. Returns the fused embedding and the logits, both at stride 4.
 */
export function segformerHead(
  params: ParamStore,
  config: HeadConfig,
  features: tf.Tensor4D[],
  mode: ForwardMode,
): HeadOutputs {
  return mlpHead(params, config, features, mode, segformerNames(config));
}

/** Adds the DAFormer head's parameters (embeddings, sep-ASPP fusion, bottleneck, classifier). */
export function initDaformerHead(params: ParamStore, rng: RandomStream, config: HeadConfig): void {
  const prefix = headPrefix(config);
  const c = config.channels;
  const e = levelWidth(config);
  const fusedIn = 4 * e;
  config.inChannels.forEach((ci, i) =>
    addLinear(params, rng.fork(`e${i}`), `${prefix}.embed_layers.${i}.proj`, ci, e)
  );
  const aspp = `${prefix}.fuse_layer.aspp_modules`;
  DAFORMER_DILATIONS.forEach((d, i) => {
    if (d === 1) {
      addConvModule(params, rng, `${aspp}.${i}`, 1, fusedIn, c);
    } else {
      // mmcv DepthwiseSeparableConvModule: depthwise conv + BN + ReLU, then pointwise + BN + ReLU.
      addDepthwiseConv(
        params,
        rng.fork(`${aspp}.${i}.dw`),
        `${aspp}.${i}.depthwise_conv.conv`,
        3,
        fusedIn,
        false,
      );
      addBatchNorm(params, `${aspp}.${i}.depthwise_conv.bn`, fusedIn);
      addConvModule(params, rng, `${aspp}.${i}.pointwise_conv`, 1, fusedIn, c);
    }
  });
  addConvModule(
    params,
    rng,
    `${prefix}.fuse_layer.bottleneck`,
    3,
    DAFORMER_DILATIONS.length * c,
    c,
  );
  addClassifier(params, rng, `${prefix}.conv_seg`, config);
}

/**
 * DAFormer head: per-level Linear embedding → resize to stride 4 → concat → sep-ASPP (1×1 branch
 * and depthwise-separable 3×3 branches with dilations 6/12/18) → concat → 3×3 bottleneck →
 * Dropout2d → classifier. Returns the bottleneck's embedding and the logits, at stride 4.
 */
export function daformerHead(
  params: ParamStore,
  config: HeadConfig,
  features: tf.Tensor4D[],
  mode: ForwardMode,
): HeadOutputs {
  const prefix = headPrefix(config);
  const levels = embedLevels(params, (i) => `${prefix}.embed_layers.${i}.proj`, features);
  const x = tf.concat(levels, 3) as tf.Tensor4D;
  const aspp = `${prefix}.fuse_layer.aspp_modules`;
  const branches = DAFORMER_DILATIONS.map((d, i) => {
    if (d === 1) return convModule(params, `${aspp}.${i}`, x, mode);
    const dw = depthwiseConv2d(params, `${aspp}.${i}.depthwise_conv.conv`, x, {
      padding: [d, d],
      dilation: d,
    });
    const dwAct = tf.relu(batchNorm(params, `${aspp}.${i}.depthwise_conv.bn`, dw, mode));
    return convModule(params, `${aspp}.${i}.pointwise_conv`, dwAct, mode);
  });
  const embedding = convModule(
    params,
    `${prefix}.fuse_layer.bottleneck`,
    tf.concat(branches, 3),
    mode,
    { padding: [1, 1] },
  );
  const logits = conv2d(params, `${prefix}.conv_seg`, dropout2d(embedding, config.dropout, mode));
  return { embedding, logits };
}

/** FLOPs (2 × multiply-adds) of one image's head forward at stage-1 size `h × w`. */
export function headFlops(
  kind: "segformer" | "daformer",
  config: HeadConfig,
  stageSizes: [number, number][],
): number {
  const c = config.channels;
  const e = kind === "daformer" ? levelWidth(config) : c;
  const [h, w] = stageSizes[0];
  const n = h * w;
  let flops = config.inChannels.reduce(
    (sum, ci, i) => sum + 2 * stageSizes[i][0] * stageSizes[i][1] * ci * e,
    0,
  );
  if (kind === "segformer") {
    // The fusion runs on each level before its resize (`fuseLevels`).
    flops += stageSizes.reduce((sum, [hi, wi]) => sum + 2 * hi * wi * c * c, 0);
  } else {
    const fusedIn = 4 * e;
    flops += 2 * n * fusedIn * c; // 1×1 branch
    flops += 3 * (2 * n * 9 * fusedIn + 2 * n * fusedIn * c); // depthwise + pointwise branches
    flops += 2 * n * 9 * 4 * c * c; // 3×3 bottleneck
  }
  return flops + 2 * n * c * config.numClasses;
}
