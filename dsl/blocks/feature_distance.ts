/**
 * Thing-class feature distance to a frozen pretrained encoder (DAFormer §3.5), with its checks
 * that the frozen encoder is named somewhere and that its classes exist in the model.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { Issue } from "../issues.ts";
import { num, numbers, text } from "../schema.ts";

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

/** A {@linkcode featureDistance} block. */
export type FeatureDistanceBlock = Block<"featureDistance", FeatureDistanceParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** Thing-class feature distance. */
    featureDistance: FeatureDistanceBlock;
  }
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
  // The source crop: its labels choose the cells, the student's pass on it is compared.
  views: () => ["source"],
  check: (block, { experiment: { model }, path }) => {
    const issues: Issue[] = [];
    if (block.encoder === "" && model.encoder.pretrained === "") {
      issues.push({
        path: `${path}.encoder`,
        message: "the frozen encoder defaults to model.encoder.pretrained, which is empty; " +
          "name a weights file or experiment here or there",
      });
    }
    const bad = block.classes.filter((c) => !Number.isInteger(c) || c >= model.numClasses);
    if (bad.length > 0) {
      issues.push({
        path: `${path}.classes`,
        message: `[${bad}] are not class ids of this ${model.numClasses}-class model`,
      });
    }
    return issues;
  },
});
