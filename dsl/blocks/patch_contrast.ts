/**
 * PiPa's patch-wise contrast (Chen et al., 2022): two overlapping crops of the current target
 * image, each pixel of one crop pulled toward the same image location in the other and pushed
 * away from remembered pixels of other pseudo-classes. Defaults are the paper's intent as the
 * specification reads it (`shared/reference/pipa_cluda.md` §2, §8.1): the **student**'s decoder
 * features (the released loss uses the EMA teacher's, so it cannot update the network, issues
 * chen742/PiPa#3, #14), pseudo-labels and confidences from the teacher's softmax on each crop.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, numbers, oneOf } from "../schema.ts";
import type { Issue } from "../issues.ts";
import type { Experiment } from "../experiment.ts";

/**
 * The network whose decoder features are contrasted: `student` (with gradient: the paper's
 * intent) or `teacher`, as the released code does, where only the projection learns (§2.3).
 */
export const PATCH_FEATURES = ["student", "teacher"] as const;

/** Parameters of {@linkcode patchContrast}. */
export interface PatchContrastParams {
  /** β, the term's weight: 0.1 on DAFormer, 0.01 on HRDA (`weight_unsup`, §2.4). */
  weight: number;
  /** τ of the similarities (0.1, `temp`). */
  temperature: number;
  /** Range of the random rescale of the target image before cropping (U[0.8, 2.0], §2.2). */
  scale: readonly number[];
  /**
   * Side of each square crop as a fraction of the target crop's shorter side, rounded down to a
   * multiple of 16. The reference takes 720 px from a 2048×1024 image rescaled by 0.8–2.0 (0.88 of
   * the smallest short side); 0.7 keeps every crop inside the smallest rescale.
   */
  cropFraction: number;
  /** Offsets between the two crops are multiples of this many pixels (8, `stride`). */
  offsetMultiple: number;
  /** Accepted IoU of the two crops, [min, max] ([0.1, 1.0], `iou_bound`). */
  iou: readonly number[];
  /** Draws of the second crop before giving up and taking the first twice (50). */
  attempts: number;
  /** Probability of each crop's horizontal flip (0.5). */
  flipProbability: number;
  /** Probability of colour jitter per crop (0.8). */
  jitterProbability: number;
  /** Jitter strengths: brightness, contrast, saturation, hue (0.4, 0.4, 0.4, 0.1). */
  jitterStrength: readonly number[];
  /** Probability of a Gaussian blur per crop (0.5). */
  blurProbability: number;
  /** The blur's kernel size (5) and σ range ([0.1, 2.0], torchvision's default). */
  blurKernel: number;
  /** σ range of the blur. */
  blurSigma: readonly number[];
  /** Probability of grayscale per crop (0.2). */
  grayscaleProbability: number;
  /** Width of the L2-normalised projection (128). */
  projectionDim: number;
  /** Negatives remembered per crop and step (1600, `selected_num`). */
  negativesPerCrop: number;
  /** Steps the memory bank keeps (3: `step_save` 2 plus the current one). */
  bankSteps: number;
  /** A position is pulled toward its partner only where the partner is this confident and more
   * confident than it (0.9, `pos_thresh_value`). */
  confidence: number;
  /** First iteration of the loss (10 000 of 60 000 at paper scale). */
  startIteration: number;
  /** Bank columns per similarity chunk, so memory stays bounded (8000). */
  chunk: number;
  /** See {@linkcode PATCH_FEATURES}. */
  features: (typeof PATCH_FEATURES)[number];
}

/** A {@linkcode patchContrast} block. */
export type PatchContrastBlock = Block<"patchContrast", PatchContrastParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** PiPa's patch-wise contrast. */
    patchContrast: PatchContrastBlock;
  }
}

/** The fields of {@linkcode patchContrast}, with PiPa's defaults (shared by its PiPa++ variant). */
export const PATCH_CONTRAST_SCHEMA = {
  weight: num(0.1, { min: 0 }),
  temperature: num(0.1, { min: 0, exclusiveMin: true }),
  scale: numbers([0.8, 2.0], { min: 0, length: 2 }),
  cropFraction: num(0.7, { min: 0, max: 1, exclusiveMin: true }),
  offsetMultiple: int(8, 1),
  iou: numbers([0.1, 1.0], { min: 0, length: 2 }),
  attempts: int(50, 1),
  flipProbability: num(0.5, { min: 0, max: 1 }),
  jitterProbability: num(0.8, { min: 0, max: 1 }),
  jitterStrength: numbers([0.4, 0.4, 0.4, 0.1], { min: 0, length: 4 }),
  blurProbability: num(0.5, { min: 0, max: 1 }),
  blurKernel: int(5, 1),
  blurSigma: numbers([0.1, 2.0], { min: 0, length: 2 }),
  grayscaleProbability: num(0.2, { min: 0, max: 1 }),
  projectionDim: int(128, 1),
  negativesPerCrop: int(1600, 1),
  bankSteps: int(3, 1),
  confidence: num(0.9, { min: 0, max: 1 }),
  startIteration: int(10000, 0),
  chunk: int(8000, 1),
  features: oneOf(PATCH_FEATURES, "student"),
};

/** The checks of {@linkcode patchContrast} (shared by its PiPa++ variant). */
export function checkPatchContrast(
  block: Omit<PatchContrastParams, "bankSteps">,
  { experiment, path }: { experiment: Experiment; path: string },
): Issue[] {
  const issues: Issue[] = [];
  if (experiment.teacher === undefined) {
    issues.push({
      path: `${path}.features`,
      message: `the crops' pseudo-labels and confidences come from the EMA teacher, but the ` +
        `experiment has no teacher; add teacher: emaTeacher()`,
    });
  }
  const [low, high] = block.scale;
  if (!(low <= high) || !(block.iou[0] <= block.iou[1]) || block.iou[1] > 1) {
    issues.push({
      path: `${path}.${low <= high ? "iou" : "scale"}`,
      message: `give [min, max] with min ≤ max${low <= high ? " and max ≤ 1" : ""}`,
    });
  }
  if (block.cropFraction > low) {
    issues.push({
      path: `${path}.cropFraction`,
      message: `a crop of ${block.cropFraction} of the image does not fit the smallest ` +
        `rescale (${low}); choose cropFraction ≤ scale[0]`,
    });
  }
  if (block.blurKernel % 2 === 0) {
    issues.push({ path: `${path}.blurKernel`, message: "the blur kernel size must be odd" });
  }
  return issues;
}

/**
 * PiPa's patch-wise contrast on the target image: two overlapping, independently flipped and
 * colour-augmented crops; decoder features pooled to stride 8 and projected (1×1 conv, ReLU, 1×1
 * conv, L2-normalised); the directional InfoNCE of each overlap position against its partner,
 * with negatives of other pseudo-classes from a FIFO bank of the last steps.
 */
export const patchContrast = defineBlock<"patchContrast", PatchContrastParams>({
  kind: "patchContrast",
  family: "loss",
  summary: "PiPa patch-wise contrast of two overlapping target crops",
  schema: PATCH_CONTRAST_SCHEMA,
  views: () => ["target"],
  check: checkPatchContrast,
});
