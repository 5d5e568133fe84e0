/**
 * Model blocks: the MiT encoder, the SegFormer and DAFormer decoders, and the segmentor that
 * joins them.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { block, int, num, oneOf, text } from "../schema.ts";

/** MiT variants: the published B0–B5 and two CPU-sized ones of ours with no published weights. */
export const MIT_VARIANTS = ["b0", "b1", "b2", "b3", "b4", "b5", "nano", "tiny"] as const;

/** Parameters of {@linkcode mit}. */
export interface MitParams {
  /** Which MiT: `b5` in DAFormer/HRDA/MIC/PiPa (SegFormer §3, Table 6). */
  variant: (typeof MIT_VARIANTS)[number];
  /** Stochastic-depth rate spread linearly over the blocks (0.1, SegFormer/mmseg config). */
  dropPathRate: number;
  /**
   * Safetensors file of encoder weights in PyTorch layout (the official ImageNet MiT weights or
   * our own pretraining run), loaded by name before training; "" = random initialisation.
   */
  pretrained: string;
}

/** The Mix Transformer encoder (SegFormer, Xie et al. 2021). */
export const mit = defineBlock<"mit", MitParams>({
  kind: "mit",
  family: "encoder",
  summary: "Mix Transformer encoder (SegFormer)",
  schema: {
    variant: oneOf(MIT_VARIANTS, "b5"),
    dropPathRate: num(0.1, { min: 0, max: 1 }),
    pretrained: text(""),
  },
});

/** Parameters of {@linkcode daformerHead}. */
export interface DaformerHeadParams {
  /** Embedding width of every branch (256, DAFormer §3.2 / `daformer_sepaspp_mitb5.py`). */
  channels: number;
  /** Dropout2d before the classifier (0.1, mmseg `dropout_ratio`). */
  dropout: number;
}

/** DAFormer's context-aware fusion decoder (Hoyer et al. 2022, §3.2): sep-ASPP 1/6/12/18. */
export const daformerHead = defineBlock<"daformerHead", DaformerHeadParams>({
  kind: "daformerHead",
  family: "decoder",
  summary: "DAFormer context-aware fusion decoder",
  schema: {
    channels: int(256, 1),
    dropout: num(0.1, { min: 0, max: 1 }),
  },
});

/** Parameters of {@linkcode segformerHead}. */
export interface SegformerHeadParams {
  /** Embedding width (SegFormer §5.1: 256 for B0/B1, 768 for B2–B5). */
  channels: number;
  /** Dropout before the classifier (0.1). */
  dropout: number;
}

/** SegFormer's all-MLP decoder (Xie et al. 2021, §3.2). */
export const segformerHead = defineBlock<"segformerHead", SegformerHeadParams>({
  kind: "segformerHead",
  family: "decoder",
  summary: "SegFormer all-MLP decoder",
  schema: {
    channels: int(768, 1),
    dropout: num(0.1, { min: 0, max: 1 }),
  },
});

/** Encoder blocks. */
export type EncoderBlock = ReturnType<typeof mit>;
/** Decoder blocks. */
export type DecoderBlock = ReturnType<typeof daformerHead> | ReturnType<typeof segformerHead>;

/** Parameters of {@linkcode segmentor}. */
export interface SegmentorParams {
  /** The encoder. */
  encoder: EncoderBlock;
  /** The decoder. */
  decoder: DecoderBlock;
  /** Output classes (19 Cityscapes train classes; SYNTHIA models also predict 19). */
  numClasses: number;
}

/** An encoder–decoder segmentation network (the student; the EMA teacher copies it). */
export const segmentor = defineBlock<"segmentor", SegmentorParams>({
  kind: "segmentor",
  family: "model",
  summary: "encoder–decoder segmentation network",
  schema: {
    encoder: block("encoder"),
    decoder: block("decoder"),
    numClasses: int(19, 1, 255),
  },
});

/** Model blocks. */
export type ModelBlock = Block<"segmentor", SegmentorParams>;
