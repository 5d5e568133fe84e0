/**
 * MIC's masked image consistency (Hoyer et al., CVPR 2023): the student predicts the teacher's
 * pseudo-labels on a target crop with most of its blocks masked out, so it must use context.
 * Defaults are the released GTA→Cityscapes MIC(HRDA) configuration
 * (`shared/reference/daformer_hrda_mic.md` §1.3, §7): mode `separatetrgaug`, block 64, ratio 0.7,
 * λ = 1, the DACS teacher's pseudo-labels and weights reused.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { Issue } from "../issues.ts";
import { int, num, numbers, oneOf } from "../schema.ts";

/**
 * What is masked: `separatetrgaug` the target crop after its own colour jitter and blur (the
 * flagship), `separatetrg` the target crop as it is, `separatesrc` the source crop with its
 * ground truth (the reference's ablation modes).
 */
export const MIC_MODES = ["separatetrgaug", "separatetrg", "separatesrc"] as const;

/**
 * Which part of the masked loss λ scales: `all` of it (the paper's λ_m·L_m), or `fused` only, as
 * the released code does when λ ≠ 1 (it multiplies `masked.decode.loss_seg` and not an HRDA
 * model's detail loss `masked.decode.hr.loss_seg`).
 */
export const MIC_LAMBDA_SCOPES = ["all", "fused"] as const;

/** Parameters of {@linkcode maskedImageConsistency}. */
export interface MaskedImageConsistencyParams {
  /** λ_m, the weight of the masked loss (1, MIC §3.2 and §4.1; `mask_lambda`). */
  weight: number;
  /** What λ scales (see {@linkcode MIC_LAMBDA_SCOPES}). */
  lambdaScope: (typeof MIC_LAMBDA_SCOPES)[number];
  /** What is masked (see {@linkcode MIC_MODES}). */
  mode: (typeof MIC_MODES)[number];
  /**
   * Side b of a square mask block in pixels: 64 for 1024-px HRDA crops (MIC §4.1), 32 for 512-px
   * DAFormer crops (`mask_block_size`).
   */
  blockSize: number;
  /** Share r of the blocks removed: a block is kept when U(0, 1) > r (0.7, MIC §4.1). */
  maskRatio: number;
  /** Probability of colour jitter on the masked crop in `separatetrgaug` (0.8, as DACS, §2.3). */
  jitterProbability: number;
  /** Colour-jitter strength (0.2, §2.3). */
  jitterStrength: number;
  /** Probability of Gaussian blur in `separatetrgaug` (0.5, §2.3). */
  blurProbability: number;
  /** Range of the blur σ, drawn per image (U(0.15, 1.15), §2.3). */
  blurSigma: readonly number[];
}

/** A {@linkcode maskedImageConsistency} block. */
export type MaskedImageConsistencyBlock = Block<
  "maskedImageConsistency",
  MaskedImageConsistencyParams
>;

declare module "../families.ts" {
  interface LossBlocks {
    /** MIC's masked image consistency. */
    maskedImageConsistency: MaskedImageConsistencyBlock;
  }
}

/** The view the term trains on: the masked crop with its (pseudo-)labels. */
export const MASKED_VIEW = "masked";

/**
 * MIC (Hoyer et al., CVPR 2023): cross-entropy of the student on a block-masked crop against the
 * EMA teacher's pseudo-labels of the unmasked crop, weighted as DACS weighs them; on an HRDA model
 * the masked forward is the whole HRDA loss with its own detail box.
 */
export const maskedImageConsistency = defineBlock<
  "maskedImageConsistency",
  MaskedImageConsistencyParams
>({
  kind: "maskedImageConsistency",
  family: "loss",
  summary: "MIC masked image consistency on the teacher's pseudo-labels",
  schema: {
    weight: num(1, { min: 0 }),
    lambdaScope: oneOf(MIC_LAMBDA_SCOPES, "all"),
    mode: oneOf(MIC_MODES, "separatetrgaug"),
    blockSize: int(64, 1),
    maskRatio: num(0.7, { min: 0, max: 1 }),
    jitterProbability: num(0.8, { min: 0, max: 1 }),
    jitterStrength: num(0.2, { min: 0, max: 1 }),
    blurProbability: num(0.5, { min: 0, max: 1 }),
    blurSigma: numbers([0.15, 1.15], { min: 0, length: 2 }),
  },
  // The term's own view, which a teacher counts as a reader of its pseudo-labels; masking the
  // source reads ground truth only.
  views: (block) => block.mode === "separatesrc" ? ["source"] : [MASKED_VIEW],
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    if (block.mode !== "separatesrc" && experiment.teacher === undefined) {
      issues.push({
        path: `${path}.mode`,
        message: `"${block.mode}" trains on the teacher's pseudo-labels of the target crop, but ` +
          `the experiment has no teacher; add teacher: emaTeacher(), or mask the source ` +
          `("separatesrc")`,
      });
    }
    return issues;
  },
});
