/**
 * Periodic whole-image evaluation: the settings an experiment gets when it names none.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, oneOf } from "../schema.ts";

/**
 * mIoU protocols: 19 classes (GTA→CS), 16 (SYNTHIA→CS), 13 (16 without wall, fence, pole), and
 * the video benchmarks' 11 (SYNTHIA-Seq→Cityscapes-Seq) and 15 (VIPER→Cityscapes-Seq).
 */
export const PROTOCOLS = ["19", "16", "13", "11", "15"] as const;

/** Parameters of {@linkcode evaluation}. */
export interface EvaluationParams {
  /** Evaluate the student every this many iterations (and always at the end). */
  every: number;
  /** Which mIoU the report leads with. */
  protocol: (typeof PROTOCOLS)[number];
  /** Target images drawn as image | label | prediction in the report. */
  pictures: number;
  /** Images per inference batch. */
  batchSize: number;
}

declare module "../families.ts" {
  interface EvaluationBlocks {
    /** Periodic whole-image evaluation. */
    evaluation: Block<"evaluation", EvaluationParams>;
  }
}

/** Periodic whole-image evaluation on the validation sets (mmseg `mode='whole'`). */
export const evaluation = defineBlock<"evaluation", EvaluationParams>({
  kind: "evaluation",
  family: "evaluation",
  summary: "periodic whole-image evaluation",
  familyDefault: true,
  schema: {
    every: int(4000, 1),
    protocol: oneOf(PROTOCOLS, "19"),
    pictures: int(4, 0, 64),
    batchSize: int(4, 1),
  },
});
