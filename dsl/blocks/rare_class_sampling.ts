/**
 * Rare Class Sampling of the source data (DAFormer §3.3), with the published defaults
 * (`shared/reference/daformer_hrda_mic.md` §1.4, §3).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { num } from "../schema.ts";

/** Parameters of {@linkcode rareClassSampling}. */
export interface RareClassSamplingParams {
  /** Temperature T of P(c) = softmax((1 − f_c)/T) (0.01, DAFormer Eq. 6). */
  temperature: number;
  /** An image is a candidate for class c when it holds more than this many c pixels (3000). */
  minPixels: number;
  /**
   * A crop is accepted when it holds more than `minPixels · minCropRatio` pixels of c, else it
   * is re-drawn, at most 10 times (0.5 in DAFormer, 2.0 in HRDA/MIC).
   */
  minCropRatio: number;
  /**
   * Multiplies both pixel thresholds, for images smaller than the published ones: 1 at GTA scale
   * (3000 px of a 1914×1052 label, 1500 px of a 512² crop); (128/512)² = 1/16 for 128² crops.
   */
  pixelScale: number;
}

/** A {@linkcode rareClassSampling} block. */
export type RareClassSamplingBlock = Block<"rareClassSampling", RareClassSamplingParams>;

declare module "../families.ts" {
  interface SamplerBlocks {
    /** Rare Class Sampling. */
    rareClassSampling: RareClassSamplingBlock;
  }
}

/**
 * Rare Class Sampling (DAFormer §3.3): a class is drawn with P(c) = softmax((1 − f_c)/T), then a
 * source image holding it, then crops until one shows enough of it.
 */
export const rareClassSampling = defineBlock<"rareClassSampling", RareClassSamplingParams>({
  kind: "rareClassSampling",
  family: "sampler",
  summary: "rare-class sampling of source images",
  schema: {
    temperature: num(0.01, { min: 0, exclusiveMin: true }),
    minPixels: num(3000, { min: 0 }),
    minCropRatio: num(0.5, { min: 0 }),
    pixelScale: num(1, { min: 0, exclusiveMin: true }),
  },
});
