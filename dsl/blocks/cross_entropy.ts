/**
 * Pixel-wise cross-entropy: on the labelled source, or on the teacher's pseudo-labels (the
 * target crop or the mixed batch), which is why it checks that the experiment has a teacher and,
 * for the mixed batch, mixing.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { Issue } from "../issues.ts";
import { int, num, oneOf } from "../schema.ts";

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

/** A {@linkcode crossEntropy} block. */
export type CrossEntropyBlock = Block<"crossEntropy", CrossEntropyParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** Pixel-wise cross-entropy. */
    crossEntropy: CrossEntropyBlock;
  }
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
  views: (block) => [block.on],
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    if (block.on === "source") return issues;
    if (experiment.teacher === undefined) {
      issues.push({
        path: `${path}.on`,
        message: `"${block.on}" trains on the teacher's pseudo-labels, but the experiment has ` +
          `no teacher; add teacher: emaTeacher()`,
      });
    }
    if (block.on === "mixed" && experiment.mixing === undefined) {
      issues.push({
        path: `${path}.on`,
        message: `"mixed" reads the mixed batch, but the experiment has no mixing; add ` +
          `mixing: classMix(), or train on "target"`,
      });
    }
    return issues;
  },
});
