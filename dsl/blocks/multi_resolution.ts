/**
 * HRDA's multi-resolution training and inference (Hoyer et al., ECCV 2022): the segmentor sees a
 * downscaled context crop and a full-resolution detail crop and fuses them with a learned scale
 * attention. Defaults are the released GTA→Cityscapes configuration
 * (`shared/reference/daformer_hrda_mic.md` §1.4 "HRDA", §6); the reference's ablation flags are
 * named fields here (`fixedatt` → `attention: "fixed"`, `singleatt` → `"single"`, `nooverlap` →
 * `pseudoLabelWindows: "tiled"`, `sc<x>` → `contextScale`).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { Issue } from "../issues.ts";
import { bool, int, num, oneOf, pair } from "../schema.ts";
import type { PipelineParams } from "./dataset_fields.ts";

/** How the scale attention is made. */
export const ATTENTION_KINDS = ["classwise", "single", "fixed"] as const;

/** How the teacher's detail windows tile the target crop. */
export const PSEUDO_LABEL_WINDOWS = ["overlapping", "tiled"] as const;

/** Parameters of {@linkcode multiResolution}. */
export interface MultiResolutionParams {
  /**
   * Scale of the context crop relative to the training crop: 0.5 (HRDA §3.2; `scales=[1, 0.5]`),
   * so a 1024² crop is seen as a 512² context.
   */
  contextScale: number;
  /**
   * Side of the detail crop as a fraction of the training crop's, cut at full resolution: 0.5,
   * 512² of the 1024² crop (HRDA §3.2, `hr_crop_size=(512, 512)`).
   */
  detailCropRatio: number;
  /**
   * Detail-crop offsets are multiples of this: 8 = output stride 4 × 1/contextScale, so the box
   * falls on whole cells of the context logits (`crop_coord_divisible`, §6.1).
   */
  cropDivisible: number;
  /** λ_d, the weight of the detail crop's own cross-entropy (0.1, HRDA §3.4; `hr_loss_weight`). */
  detailLossWeight: number;
  /** λ_l, the weight of the context logits' own cross-entropy (0, `lr_loss_weight`). */
  contextLossWeight: number;
  /**
   * `classwise`: a learned attention per class (`attention_classwise=True`, the flagship);
   * `single`: one learned attention for all classes (`singleatt`); `fixed`: the constant
   * `fixedAttention` everywhere, no attention head (`fixedatt`).
   */
  attention: (typeof ATTENTION_KINDS)[number];
  /** The attention used when `attention` is `fixed` (0.5 in the reference's `fixedatt`). */
  fixedAttention: number;
  /**
   * In training, the attention is zero outside the detail box, where no detail prediction exists
   * (HRDA §3.3; the reference always masks). False trains the attention unmasked.
   */
  maskAttention: boolean;
  /**
   * False fuses as HRDA: `up(a)·hr + up((1 − a)·lr)`, the context weighted at its own grid
   * (§6.2). True fuses as CLUDA's released head: `up(a)·hr + (1 − up(a))·up(lr)`, weighted after
   * upsampling (`pipa_cluda.md` §5.7; numerically slightly different at the box edges).
   */
  fuseAfterUpsampling: boolean;
  /**
   * The teacher's detail windows over the target crop: `overlapping` at a stride of half a
   * window, averaged where they overlap (`hr_slide_overlapping=True`, §6.3); `tiled` side by side
   * (`nooverlap`).
   */
  pseudoLabelWindows: (typeof PSEUDO_LABEL_WINDOWS)[number];
  /**
   * Evaluation: windows of this `[height, width]` slide over the test image, each predicted as
   * the teacher predicts a crop; `[0, 0]` = the training crop (1024², `test_cfg.crop_size`, §6.4).
   */
  testWindow: readonly [number, number];
  /** Stride `[y, x]` of the evaluation windows; `[0, 0]` = half a window (`test_cfg.stride` 512). */
  testStride: readonly [number, number];
}

/** A {@linkcode multiResolution} block. */
export type MultiResolutionBlock = Block<"multiResolution", MultiResolutionParams>;

declare module "../families.ts" {
  interface ResolutionBlocks {
    /** HRDA's context and detail crops with learned scale attention. */
    multiResolution: MultiResolutionBlock;
  }
}

/** The evaluation window: `testWindow`, or the training crop where it is `[0, 0]`. */
export function testWindowOf(
  block: Pick<MultiResolutionParams, "testWindow">,
  crop: readonly number[],
): [number, number] {
  const [h, w] = block.testWindow;
  return h === 0 && w === 0 ? [crop[0], crop[1]] : [h, w];
}

/** The evaluation stride: `testStride`, or half the window where it is `[0, 0]`. */
export function testStrideOf(
  block: Pick<MultiResolutionParams, "testWindow" | "testStride">,
  crop: readonly number[],
): [number, number] {
  const [y, x] = block.testStride;
  const window = testWindowOf(block, crop);
  return y === 0 && x === 0 ? [window[0] / 2, window[1] / 2] : [y, x];
}

/** The encoder's output stride: every crop an encoder sees must be a multiple of it. */
const ENCODER_STRIDE = 32;

/** The detail crop `[height, width]` of a training crop. */
export function detailCropOf(
  block: Pick<MultiResolutionParams, "detailCropRatio">,
  crop: readonly number[],
): [number, number] {
  return [crop[0] * block.detailCropRatio, crop[1] * block.detailCropRatio];
}

function crops(block: MultiResolutionBlock, path: string, crop: readonly number[], at: string) {
  const issues: Issue[] = [];
  const detail = detailCropOf(block, crop);
  if (detail.some((d) => !Number.isInteger(d) || d % ENCODER_STRIDE !== 0)) {
    issues.push({
      path: `${path}.detailCropRatio`,
      message: `the detail crop is ${at}'s crop [${crop}] × ${block.detailCropRatio} = ` +
        `[${detail}], which must be whole multiples of the encoder's stride ${ENCODER_STRIDE}`,
    });
  } else if (detail.some((d) => d % block.cropDivisible !== 0)) {
    issues.push({
      path: `${path}.detailCropRatio`,
      message: `the detail crop [${detail}] must be a multiple of cropDivisible ` +
        `${block.cropDivisible}, so that its box falls on whole cells of the context logits`,
    });
  }
  const context = crop.map((c) => c * block.contextScale);
  if (context.some((c) => !Number.isInteger(c) || c % ENCODER_STRIDE !== 0)) {
    issues.push({
      path: `${path}.contextScale`,
      message: `the context crop is ${at}'s crop [${crop}] × ${block.contextScale} = ` +
        `[${context}], which must be whole multiples of the encoder's stride ${ENCODER_STRIDE}; ` +
        `choose a crop or context scale for which it is`,
    });
  }
  return issues;
}

/**
 * HRDA (Hoyer et al., ECCV 2022): each training crop is seen twice by the same encoder and head,
 * downscaled as a context crop and, inside a random detail box, at full resolution; a scale
 * attention head on the context features fuses the two predictions. The teacher's pseudo-labels
 * and evaluation slide overlapping full-resolution windows over the image.
 */
export const multiResolution = defineBlock<"multiResolution", MultiResolutionParams>({
  kind: "multiResolution",
  family: "resolution",
  summary: "HRDA multi-resolution training and inference with scale attention",
  schema: {
    contextScale: num(0.5, { min: 0, max: 1, exclusiveMin: true }),
    detailCropRatio: num(0.5, { min: 0, max: 1, exclusiveMin: true }),
    cropDivisible: int(8, 1),
    detailLossWeight: num(0.1, { min: 0, max: 1 }),
    contextLossWeight: num(0, { min: 0, max: 1 }),
    attention: oneOf(ATTENTION_KINDS, "classwise"),
    fixedAttention: num(0.5, { min: 0, max: 1 }),
    maskAttention: bool(true),
    fuseAfterUpsampling: bool(false),
    pseudoLabelWindows: oneOf(PSEUDO_LABEL_WINDOWS, "overlapping"),
    testWindow: pair([0, 0], 0),
    testStride: pair([0, 0], 0),
  },
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    const source = experiment.data.source as unknown as PipelineParams;
    const target = experiment.data.target as unknown as PipelineParams;
    issues.push(...crops(block, path, source.crop, "data.source"));
    if (target.crop.join() !== source.crop.join()) {
      issues.push(...crops(block, path, target.crop, "data.target"));
    }
    // Output stride 4 of the context: a box cell is 4 / contextScale pixels of the full crop.
    const cell = 4 / block.contextScale;
    if (block.cropDivisible % cell !== 0) {
      issues.push({
        path: `${path}.cropDivisible`,
        message: `detail-box offsets must be multiples of the context logits' cell, ` +
          `4 / contextScale = ${cell} pixels; set cropDivisible to a multiple of it ` +
          `(the reference: 8 for a context scale of 0.5)`,
      });
    }
    if (block.detailLossWeight + block.contextLossWeight >= 1) {
      issues.push({
        path: `${path}.detailLossWeight`,
        message: `the fused prediction's weight 1 − λ_d − λ_l would be ≤ 0 ` +
          `(λ_d ${block.detailLossWeight}, λ_l ${block.contextLossWeight})`,
      });
    }
    const window = testWindowOf(block, source.crop);
    if (window.some((w) => (w * block.contextScale) % ENCODER_STRIDE !== 0)) {
      issues.push({
        path: `${path}.testWindow`,
        message: `an evaluation window [${window}] × ${block.contextScale} must be a multiple ` +
          `of the encoder's stride ${ENCODER_STRIDE}; give a window that is`,
      });
    }
    if (testStrideOf(block, source.crop).some((s) => !Number.isInteger(s) || s < 1)) {
      issues.push({
        path: `${path}.testStride`,
        message: `the evaluation stride must be whole pixels ≥ 1 (half the window by default)`,
      });
    }
    return issues;
  },
});
