/**
 * Loss-term blocks. An experiment's `losses` is a record of named terms; the total loss is the
 * sum of `weight × term`.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, numbers, oneOf, text } from "../schema.ts";

/**
 * Which batch a cross-entropy term reads: `source` (ground truth), `mixed` (the ClassMix batch:
 * source labels where pasted, the teacher's pseudo-labels elsewhere, confidence-weighted) or
 * `target` (the target crop with the teacher's pseudo-labels and weights, no mixing).
 */
export const CE_INPUTS = ["source", "mixed", "target"] as const;

/** Parameters of {@linkcode crossEntropy}. */
export interface CrossEntropyParams {
  /** Weight of the term in the total loss (1). */
  weight: number;
  /** The batch it reads (see {@linkcode CE_INPUTS}); `mixed` and `target` need a teacher. */
  on: (typeof CE_INPUTS)[number];
  /** Label value that contributes no loss (mmseg `ignore_index` 255). */
  ignoreIndex: number;
}

/**
 * Pixel-wise cross-entropy, mean over all pixels with ignored ones counting 0 (mmseg, see
 * `runtime/losses/cross_entropy.ts`).
 */
export const crossEntropy = defineBlock<"crossEntropy", CrossEntropyParams>({
  kind: "crossEntropy",
  family: "loss",
  summary: "pixel-wise cross-entropy on labelled data",
  schema: {
    weight: num(1, { min: 0 }),
    on: oneOf(CE_INPUTS, "source"),
    ignoreIndex: int(255, 0, 255),
  },
});

/** The thing classes of Cityscapes' 19 (traffic light … bicycle), DAFormer's FD classes. */
export const THING_CLASS_IDS: readonly number[] = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18];

/** Parameters of {@linkcode featureDistance}. */
export interface FeatureDistanceParams {
  /** λ_FD (0.005, DAFormer §3.5 / `imnet_feature_dist_lambda`). */
  weight: number;
  /** Classes whose cells count (`imnet_feature_dist_classes`: the thing classes). */
  classes: readonly number[];
  /** A cell counts when one class covers at least this share of it (0.75). */
  majority: number;
  /**
   * Safetensors file of the frozen encoder (PyTorch layout), or an experiment file whose
   * finished run provides it (`experiments/pretrain.ts`); "" = the student's
   * `model.encoder.pretrained`, as DAFormer uses its ImageNet initialisation.
   */
  encoder: string;
}

/**
 * Thing-class feature distance (DAFormer §3.5): the L2 distance between the student's last
 * encoder stage and a frozen pretrained encoder's on the source crop, averaged over the cells
 * whose majority label is a thing class.
 */
export const featureDistance = defineBlock<"featureDistance", FeatureDistanceParams>({
  kind: "featureDistance",
  family: "loss",
  summary: "feature distance to a frozen pretrained encoder on thing classes",
  schema: {
    weight: num(0.005, { min: 0 }),
    classes: numbers(THING_CLASS_IDS, { min: 0, max: 254 }),
    majority: num(0.75, { min: 0, max: 1, exclusiveMin: true }),
    encoder: text(""),
  },
});

/** Loss blocks. */
export type LossBlock =
  | Block<"crossEntropy", CrossEntropyParams>
  | Block<"featureDistance", FeatureDistanceParams>;
