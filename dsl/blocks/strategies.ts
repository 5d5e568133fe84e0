/**
 * Self-training strategy blocks: the mean teacher that makes pseudo-labels, ClassMix with its
 * strong augmentation, and rare-class sampling of the source data. Defaults are the published
 * values (`shared/reference/daformer_hrda_mic.md` §1.4, §2, §3); where the released code differs
 * from the paper, the field that chooses is named and defaults to the paper's intent.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { num, numbers, oneOf } from "../schema.ts";

/** How the pseudo-label confidence weight is pooled. */
export const CONFIDENCE_SCOPES = ["image", "batch"] as const;

/** Parameters of {@linkcode emaTeacher}. */
export interface EmaTeacherParams {
  /** EMA decay α; the schedule is α_t = min(1 − 1/(t+1), α) (0.999, DAFormer §3.4 / DACS). */
  alpha: number;
  /** Confidence threshold τ of the pseudo-label weight q (0.968, DAFormer Eq. 9). */
  threshold: number;
  /**
   * `image`: q is the fraction of confident pixels of each target image (the paper's formula);
   * `batch`: one q over the whole batch (the released `dacs.py`, §2.1 step 5).
   */
  confidence: (typeof CONFIDENCE_SCOPES)[number];
  /**
   * Pixels of each target crop whose weight is set to 0, as fractions of the crop
   * `[top, bottom, left, right]`: DAFormer's released code zeroes the top 15 and bottom 120 rows
   * of a 512 crop (§2.4; the paper does not mention it), so `[15/512, 120/512, 0, 0]`;
   * `[0, 0, 0, 0]` turns it off.
   */
  margins: readonly number[];
}

/**
 * The mean teacher (DAFormer §3.4 after DACS/Mean Teacher): an EMA of the student's weights
 * predicts pseudo-labels for the target crop with dropout and drop-path off and BatchNorm on
 * batch statistics; each pseudo-label is weighted by the share of confident pixels q.
 */
export const emaTeacher = defineBlock<"emaTeacher", EmaTeacherParams>({
  kind: "emaTeacher",
  family: "teacher",
  summary: "EMA teacher with confidence-weighted pseudo-labels",
  schema: {
    alpha: num(0.999, { min: 0, max: 1 }),
    threshold: num(0.968, { min: 0, max: 1, exclusiveMin: true }),
    confidence: oneOf(CONFIDENCE_SCOPES, "image"),
    margins: numbers([15 / 512, 120 / 512, 0, 0], { min: 0, max: 0.5, length: 4 }),
  },
});

/** Teacher blocks. */
export type TeacherBlock = Block<"emaTeacher", EmaTeacherParams>;

/** Which classes ClassMix picks from. */
export const CLASS_POOLS = ["image", "batch"] as const;

/** Parameters of {@linkcode classMix}. */
export interface ClassMixParams {
  /**
   * `image`: half of the classes of each source image (the DACS paper); `batch`: half of the
   * classes of the whole source batch, the ignore label 255 included (released
   * `get_class_masks`, §2.2).
   */
  classPool: (typeof CLASS_POOLS)[number];
  /** Probability of colour jitter on the mixed batch (0.8: the code skips it when U < 0.2). */
  jitterProbability: number;
  /** Colour-jitter strength for brightness, contrast, saturation and hue (0.2, §2.3). */
  jitterStrength: number;
  /** Probability of Gaussian blur on the mixed batch (0.5, §2.3). */
  blurProbability: number;
  /** Range of the blur σ, drawn per image (U(0.15, 1.15), §2.3). */
  blurSigma: readonly number[];
}

/**
 * ClassMix (DACS, Tranheden et al. 2021; DAFormer §3.4): the pixels of half of the source
 * classes are pasted onto the target crop; labels are the source labels there and the teacher's
 * pseudo-labels elsewhere; then colour jitter (kornia 0.5.8) and Gaussian blur.
 */
export const classMix = defineBlock<"classMix", ClassMixParams>({
  kind: "classMix",
  family: "mixing",
  summary: "ClassMix of source onto target with strong augmentation",
  schema: {
    classPool: oneOf(CLASS_POOLS, "image"),
    jitterProbability: num(0.8, { min: 0, max: 1 }),
    jitterStrength: num(0.2, { min: 0, max: 1 }),
    blurProbability: num(0.5, { min: 0, max: 1 }),
    blurSigma: numbers([0.15, 1.15], { min: 0, length: 2 }),
  },
});

/** Mixing blocks. */
export type MixingBlock = Block<"classMix", ClassMixParams>;

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

/** Sampler blocks. */
export type SamplerBlock = Block<"rareClassSampling", RareClassSamplingParams>;
