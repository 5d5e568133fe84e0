/**
 * PiPa++'s patch contrast (Chen, Zheng, Yang, arXiv 2407.17101): PiPa's patch-wise contrast
 * (`patch_contrast.ts`, every field and default the same) whose negatives come from the
 * class-wise **semantic-aware memory** instead of PiPa's FIFO bank, chosen by the **task-smart**
 * rule (the highest-similarity fraction of the other-class negatives; the positive stays the
 * partner, as the directional form has one). The memory is shared with a `temporalContrast` of
 * the same experiment, which must then declare it with the same capacity, threshold and
 * per-step limit. A kind of its own, so PiPa's `patchContrast` (and its runs' hashes) stay as
 * they are and `deno task diff` shows PiPa++'s change as this kind and its fields.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, oneOf } from "../schema.ts";
import {
  checkPatchContrast,
  PATCH_CONTRAST_SCHEMA,
  type PatchContrastParams,
} from "./patch_contrast.ts";

/** Which negatives enter the loss: the `taskSmart` fraction, or `all` other-class ones. */
export const PATCH_SAMPLING = ["taskSmart", "all"] as const;

/** Parameters of {@linkcode semanticPatchContrast}. */
export interface SemanticPatchContrastParams extends Omit<PatchContrastParams, "bankSteps"> {
  /** See {@linkcode PATCH_SAMPLING} (`taskSmart`). */
  sampling: (typeof PATCH_SAMPLING)[number];
  /** Fraction of the negatives the task-smart rule keeps (0.1, the "top 10 %"). */
  fraction: number;
  /** At least this many negatives per anchor from a non-empty set (1). */
  minimum: number;
  /** Embeddings per class in the memory (512 ≈ PiPa's 9600-entry bank spread over 19 classes). */
  memoryCapacity: number;
  /** Teacher confidence an embedding needs to enter (0.968, DAFormer's pseudo-label threshold). */
  memoryThreshold: number;
  /** At most this many embeddings of a class enter per step, the most confident (32). */
  memoryPerStep: number;
}

/** A {@linkcode semanticPatchContrast} block. */
export type SemanticPatchContrastBlock = Block<
  "semanticPatchContrast",
  SemanticPatchContrastParams
>;

declare module "../families.ts" {
  interface LossBlocks {
    /** PiPa++'s patch contrast against the semantic memory. */
    semanticPatchContrast: SemanticPatchContrastBlock;
  }
}

const { bankSteps: _bankSteps, ...shared } = PATCH_CONTRAST_SCHEMA;

/**
 * PiPa's patch contrast with PiPa++'s semantic-aware memory as the negatives' source and the
 * task-smart choice of the hardest of them.
 */
export const semanticPatchContrast = defineBlock<
  "semanticPatchContrast",
  SemanticPatchContrastParams
>({
  kind: "semanticPatchContrast",
  family: "loss",
  summary: "PiPa++ patch contrast: semantic-memory negatives, task-smart sampling",
  schema: {
    ...shared,
    sampling: oneOf(PATCH_SAMPLING, "taskSmart"),
    fraction: num(0.1, { min: 0, max: 1, exclusiveMin: true }),
    minimum: int(1, 0),
    memoryCapacity: int(512, 1),
    memoryThreshold: num(0.968, { min: 0, max: 1 }),
    memoryPerStep: int(32, 0),
  },
  views: () => ["target"],
  check: checkPatchContrast,
});
