/**
 * HRDA's scale-attention head (`shared/reference/daformer_hrda_mic.md` §6.2): a DAFormer head on
 * the context features whose sep-ASPP fusion is replaced by a 1×1 ConvModule (the reference's
 * `fusion_cfg=dict(type='conv', kernel_size=1)`, a SegFormer-style MLP head), with its own
 * dropout (0.1) and a classifier of one output per class (`attention_classwise=True`) or one for
 * all; the attention is the sigmoid of its output. Parameter names follow the reference's state
 * dict: `<prefix>.embed_layers.{i}.proj`, `<prefix>.fuse_layer.{conv,bn}`, `<prefix>.conv_seg`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";
import type { ForwardMode } from "./layers.ts";
import { type HeadConfig, headPrefix, initMlpHead, mlpHead, type MlpHeadNames } from "./heads.ts";

function names(config: HeadConfig): MlpHeadNames {
  const prefix = headPrefix(config);
  return {
    embed: (i) => `${prefix}.embed_layers.${i}.proj`,
    fuse: `${prefix}.fuse_layer`,
    classifier: `${prefix}.conv_seg`,
  };
}

/** Adds the scale-attention head's parameters (`config.numClasses` = its outputs). */
export function initScaleAttention(
  params: ParamStore,
  rng: RandomStream,
  config: HeadConfig,
): void {
  initMlpHead(params, rng, config, names(config));
}

/** The scale attention `a = sigmoid(head(features))` at stride 4 of the context, NHWC. */
export function scaleAttention(
  params: ParamStore,
  config: HeadConfig,
  features: tf.Tensor4D[],
  mode: ForwardMode,
): tf.Tensor4D {
  return tf.sigmoid(mlpHead(params, config, features, mode, names(config)).logits);
}
