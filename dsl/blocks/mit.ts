/**
 * The Mix Transformer encoder (SegFormer, Xie et al. 2021).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { num, oneOf, text } from "../schema.ts";

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

/** A {@linkcode mit} block. */
export type MitBlock = Block<"mit", MitParams>;

declare module "../families.ts" {
  interface EncoderBlocks {
    /** Mix Transformer. */
    mit: MitBlock;
  }
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
