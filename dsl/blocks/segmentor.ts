/**
 * The encoder–decoder segmentation network: the student, which the EMA teacher copies.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { block, int } from "../schema.ts";
import type { DecoderBlock, EncoderBlock } from "../families.ts";

/** Parameters of {@linkcode segmentor}. */
export interface SegmentorParams {
  /** The encoder. */
  encoder: EncoderBlock;
  /** The decoder. */
  decoder: DecoderBlock;
  /** Output classes (19 Cityscapes train classes; SYNTHIA models also predict 19). */
  numClasses: number;
}

/** A {@linkcode segmentor} block. */
export type SegmentorBlock = Block<"segmentor", SegmentorParams>;

declare module "../families.ts" {
  interface ModelBlocks {
    /** Encoder plus decoder. */
    segmentor: SegmentorBlock;
  }
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
