/**
 * Loss-term implementations: what each term reads (forward passes, supervision, frozen
 * features) and how it computes its value from them. The compiler asks every term for its needs
 * and schedules each distinct forward pass once per step, shared by all terms that read it.
 *
 * @module
 */
import type { tf } from "../tf.ts";
import type { LossBlock } from "../../dsl/mod.ts";
import type { SegmentorOutput } from "../nn/segmentor.ts";
import { crossEntropy } from "../losses/cross_entropy.ts";
import { featureDistance, featureDistanceMask } from "../losses/feature_distance.ts";
import { CROSS_ENTROPY_KERNELS, FEATURE_DISTANCE_KERNELS, type KernelUse } from "./kernels.ts";

/** A training-data role: the batches the loaders deliver. */
export type Role = "source" | "target";

/**
 * A batch a forward pass can run on: a data role, or `mixed`, the ClassMix batch built each step
 * from both.
 */
export type Batch = Role | "mixed";

/** The networks of a program. */
export type NetworkName = "student" | "teacher" | "frozen";

/** A forward pass one or more terms (or the teacher's pseudo-labelling) read. */
export interface PassRequest {
  /** Which network runs. */
  network: NetworkName;
  /** The batch it runs on. */
  input: Batch;
  /** Training mode (dropout, drop-path, BatchNorm batch statistics) or not. */
  training: boolean;
}

/** What a term reads. */
export interface TermNeeds {
  /** Student forward passes. */
  passes: PassRequest[];
  /**
   * Batches whose supervision it reads: ground truth for `source`, the teacher's pseudo-labels
   * for `target`, mixed labels for `mixed` (never target ground truth: UDA has none).
   */
  supervision: Batch[];
  /** True when it reads the frozen encoder's features of the source batch. */
  frozenFeatures: boolean;
}

/** Labels and per-pixel weights of a batch. */
export interface Supervision {
  /** Class ids `[N, H, W]` int32 (255 = ignore). */
  label: tf.Tensor3D;
  /** Per-pixel loss weights `[N, H, W]`, or undefined for weight 1 everywhere. */
  weight?: tf.Tensor3D;
}

/** What a term's `compute` may read during a step. */
export interface StepInputs {
  /** The output of a student pass the term declared. */
  pass(request: PassRequest): SegmentorOutput;
  /** The supervision of a batch the term declared. */
  supervision(batch: Batch): Supervision;
  /** The frozen encoder's stage outputs on the source batch (constants). */
  frozenFeatures(): tf.Tensor4D[];
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

const studentOn = (input: Batch): PassRequest => ({ network: "student", input, training: true });

/** Implementations by block kind. */
export const TERM_IMPLEMENTATIONS: Readonly<Record<LossBlock["kind"], TermImplementation>> = {
  crossEntropy: {
    needs: (block) => {
      const on = (block as Extract<LossBlock, { kind: "crossEntropy" }>).on;
      return { passes: [studentOn(on)], supervision: [on], frozenFeatures: false };
    },
    compute: (block, inputs) => {
      const { on, ignoreIndex } = block as Extract<LossBlock, { kind: "crossEntropy" }>;
      const { label, weight } = inputs.supervision(on);
      return crossEntropy(inputs.pass(studentOn(on)).logits, label, { ignoreIndex, weight });
    },
    kernels: CROSS_ENTROPY_KERNELS,
  },
  featureDistance: {
    // DAFormer §3.5 / reference §4: the student's last stage on the source crop (the pass the
    // source cross-entropy already runs) against the frozen encoder's, on thing-class cells.
    needs: () => ({
      passes: [studentOn("source")],
      supervision: ["source"],
      frozenFeatures: true,
    }),
    compute: (block, inputs) => {
      const { classes, majority } = block as Extract<LossBlock, { kind: "featureDistance" }>;
      const student = inputs.pass(studentOn("source")).features[3];
      const frozen = inputs.frozenFeatures()[3];
      const mask = featureDistanceMask(
        inputs.supervision("source").label,
        [student.shape[1], student.shape[2]],
        { classes, majority },
      );
      return featureDistance(student, frozen, mask);
    },
    kernels: FEATURE_DISTANCE_KERNELS,
  },
};
