/**
 * Loss-term implementations: what each term reads (forward passes, labels) and how it computes
 * its value from them. The compiler asks every term for its needs and schedules each distinct
 * forward pass once per step, shared by all terms that read it.
 *
 * @module
 */
import type { tf } from "../tf.ts";
import type { LossBlock } from "../../dsl/mod.ts";
import type { SegmentorOutput } from "../nn/segmentor.ts";
import { crossEntropy } from "../losses/cross_entropy.ts";
import { CROSS_ENTROPY_KERNELS, type KernelUse } from "./kernels.ts";

/** A training-data role. */
export type Role = "source" | "target";

/** A forward pass one or more terms read. */
export interface PassRequest {
  /** Network name (`student`). */
  network: "student";
  /** The batch it runs on. */
  input: Role;
  /** Training mode (dropout, drop-path, BatchNorm batch statistics) or not. */
  training: boolean;
}

/** What a term reads. */
export interface TermNeeds {
  /** Forward passes. */
  passes: PassRequest[];
  /** Roles whose labels it reads (never `target`: UDA has no target labels). */
  labels: Role[];
}

/** What a term's `compute` may read during a step. */
export interface StepInputs {
  /** The output of a pass the term declared. */
  pass(request: PassRequest): SegmentorOutput;
  /** The labels of a role the term declared, `[N, H, W]` int32. */
  labels(role: Role): tf.Tensor3D;
}

/** One term kind's implementation. */
export interface TermImplementation {
  /** What it reads, from its block. */
  needs(block: LossBlock): TermNeeds;
  /** Its unweighted value for one step. */
  compute(block: LossBlock, inputs: StepInputs): tf.Scalar;
  /** Kernels it runs. */
  kernels: KernelUse;
}

/** The id of a pass, as `plan` prints it and metrics name it: `student@source`. */
export function passId(request: PassRequest): string {
  return `${request.network}@${request.input}${request.training ? "" : ":eval"}`;
}

/** Implementations by block kind. */
export const TERM_IMPLEMENTATIONS: Readonly<Record<LossBlock["kind"], TermImplementation>> = {
  crossEntropy: {
    needs: (block) => ({
      passes: [{ network: "student", input: block.on, training: true }],
      labels: [block.on],
    }),
    compute: (block, inputs) =>
      crossEntropy(
        inputs.pass({ network: "student", input: block.on, training: true }).logits,
        inputs.labels(block.on),
        { ignoreIndex: block.ignoreIndex },
      ),
    kernels: CROSS_ENTROPY_KERNELS,
  },
};
