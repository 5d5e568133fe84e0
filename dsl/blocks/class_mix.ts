/**
 * ClassMix with its strong augmentation (DACS, Tranheden et al. 2021; DAFormer §3.4). Defaults
 * are the published values (`shared/reference/daformer_hrda_mic.md` §2.2, §2.3). Its checks:
 * some term must read the mixed batch, and source and target crops must be the same size.
 *
 * @module
 */
import { type Block, defineBlock, viewsRead } from "../block.ts";
import type { Issue } from "../issues.ts";
import { num, numbers, oneOf } from "../schema.ts";

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

/** A {@linkcode classMix} block. */
export type ClassMixBlock = Block<"classMix", ClassMixParams>;

declare module "../families.ts" {
  interface MixingBlocks {
    /** ClassMix. */
    classMix: ClassMixBlock;
  }
}

/** The view ClassMix makes: the mixed batch. */
const MIXED = "mixed";

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
  check: (_block, { experiment, path }) => {
    const issues: Issue[] = [];
    const { data } = experiment;
    if (!viewsRead(experiment).has(MIXED)) {
      issues.push({
        path,
        message: 'no loss term reads the mixed batch; add crossEntropy({ on: "mixed" }), or ' +
          "remove mixing with off",
      });
    }
    if (data.source.crop.join() !== data.target.crop.join()) {
      issues.push({
        path: "data.target.crop",
        message: `ClassMix pastes source pixels onto target crops, so both crops must be equal ` +
          `(source [${data.source.crop}], target [${data.target.crop}])`,
      });
    }
    return issues;
  },
});
