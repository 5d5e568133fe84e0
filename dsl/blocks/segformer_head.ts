/**
 * SegFormer's all-MLP decoder (Xie et al. 2021, §3.2).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num } from "../schema.ts";

/** Parameters of {@linkcode segformerHead}. */
export interface SegformerHeadParams {
  /** Embedding width (SegFormer §5.1: 256 for B0/B1, 768 for B2–B5). */
  channels: number;
  /** Dropout before the classifier (0.1). */
  dropout: number;
}

/** A {@linkcode segformerHead} block. */
export type SegformerHeadBlock = Block<"segformerHead", SegformerHeadParams>;

declare module "../families.ts" {
  interface DecoderBlocks {
    /** SegFormer's decoder. */
    segformerHead: SegformerHeadBlock;
  }
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
