/**
 * Loss-term blocks. An experiment's `losses` is a record of named terms; the total loss is the
 * sum of `weight × term`.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, oneOf } from "../schema.ts";

/** Which crop a supervised term reads. */
export const CE_INPUTS = ["source"] as const;

/** Parameters of {@linkcode crossEntropy}. */
export interface CrossEntropyParams {
  /** Weight of the term in the total loss (1). */
  weight: number;
  /** The labelled crop it reads: `source` (the student's pass on the source batch). */
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

/** Loss blocks. */
export type LossBlock = Block<"crossEntropy", CrossEntropyParams>;
