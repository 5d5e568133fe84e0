/**
 * DAFormer's context-aware fusion decoder (Hoyer et al. 2022, §3.2).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num } from "../schema.ts";

/** Parameters of {@linkcode daformerHead}. */
export interface DaformerHeadParams {
  /** Embedding width of every branch (256, DAFormer §3.2 / `daformer_sepaspp_mitb5.py`). */
  channels: number;
  /**
   * Width of each encoder level's Linear embedding before the sep-ASPP fusion (mmseg
   * `decoder_params.embed_dims`); 0 = `channels`, as DAFormer, HRDA and PiPa have it (256 both).
   * CLUDA's released base model raises it to 512 (`pipa_cluda.md` §5.2, its "C = 512").
   */
  embedDims: number;
  /** Dropout2d before the classifier (0.1, mmseg `dropout_ratio`). */
  dropout: number;
}

/** A {@linkcode daformerHead} block. */
export type DaformerHeadBlock = Block<"daformerHead", DaformerHeadParams>;

declare module "../families.ts" {
  interface DecoderBlocks {
    /** DAFormer's decoder. */
    daformerHead: DaformerHeadBlock;
  }
}

/** DAFormer's context-aware fusion decoder (Hoyer et al. 2022, §3.2): sep-ASPP 1/6/12/18. */
export const daformerHead = defineBlock<"daformerHead", DaformerHeadParams>({
  kind: "daformerHead",
  family: "decoder",
  summary: "DAFormer context-aware fusion decoder",
  schema: {
    channels: int(256, 1),
    embedDims: int(0, 0),
    dropout: num(0.1, { min: 0, max: 1 }),
  },
});
