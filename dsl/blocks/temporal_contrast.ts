/**
 * PiPa++'s temporal contrast (Chen, Zheng, Yang, arXiv 2407.17101): the same scene point in two
 * frames of a target sequence is a positive pair; other-class points and the class-wise
 * semantic-aware memory are the negatives; the task-smart rule keeps the hardest of each. No
 * PiPa++ code is public and its method section could not be read (`shared/reference/pipa_cluda.md`
 * §4), so each default below is a stated choice, with its reason on the field and in
 * `docs/pipapp.md`. The target dataset must give frame pairs (`synthCitySequence`).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { bool, int, num, oneOf } from "../schema.ts";
import type { Issue } from "../issues.ts";

/**
 * How a point of frame t finds itself in frame t−k: `flow` (the dataset's backward flow, exact on
 * SynthCity, precomputed `.flo` files on real data), or `sameLocation` (no motion model: the
 * pixel at the same place, the choice when a dataset has no flow).
 */
export const TEMPORAL_CORRESPONDENCE = ["flow", "sameLocation"] as const;

/**
 * The network that embeds frame t−k: `student` (with gradient, so both frames learn: the default,
 * as PiPa's pixel SupCon stops no gradient) or `teacher` (the EMA teacher's decoder features,
 * constants: one student pass fewer per step).
 */
export const TEMPORAL_PARTNER = ["student", "teacher"] as const;

/** Which negatives and positives enter the loss: PiPa++'s `taskSmart` rule or `all` of them. */
export const TEMPORAL_SAMPLING = ["taskSmart", "all"] as const;

/** Negatives without a hard selection: other-class rows, or every other location. */
export const TEMPORAL_NEGATIVES = ["otherClass", "otherLocation"] as const;

/** The hard negatives' quota: of all other classes together, or of each other class. */
export const NEGATIVE_QUOTAS = ["pooled", "perClass"] as const;

/** Per-anchor weight: the teacher's softmax confidence at the anchor, or 1. */
export const TEMPORAL_WEIGHTING = ["confidence", "none"] as const;

/** Parameters of {@linkcode temporalContrast}. */
export interface TemporalContrastParams {
  /**
   * The term's weight (0.1: PiPa's β for its patch contrast on DAFormer, the closest published
   * weight of a target-side contrast; PiPa++ names none).
   */
  weight: number;
  /** τ (0.1, PiPa's for both its contrasts; PiPa++ names no other). */
  temperature: number;
  /** See {@linkcode TEMPORAL_CORRESPONDENCE} (`flow`). */
  correspondence: (typeof TEMPORAL_CORRESPONDENCE)[number];
  /** See {@linkcode TEMPORAL_PARTNER} (`student`). */
  partner: (typeof TEMPORAL_PARTNER)[number];
  /** Points are compared on a grid of this stride (8: PiPa's patch grid, 2×2-pooled stride 4). */
  gridStride: number;
  /** Width of the L2-normalised projection (128, PiPa's patch projection). */
  projectionDim: number;
  /**
   * Anchors per step at most, drawn uniformly from the grid points with a valid correspondence
   * (1024: PiPa's pixel contrast keeps at most 1024 anchors, `max_samples`).
   */
  anchors: number;
  /** See {@linkcode TEMPORAL_SAMPLING} (`taskSmart`). */
  sampling: (typeof TEMPORAL_SAMPLING)[number];
  /** Fraction of each candidate set the task-smart rule keeps (0.1, "top/bottom 10 %"). */
  fraction: number;
  /** At least this many samples from a non-empty candidate set (1; 0 = the literal ⌊0.1·n⌋). */
  minimum: number;
  /** See {@linkcode NEGATIVE_QUOTAS} (`pooled`, the literal reading). */
  negativeQuota: (typeof NEGATIVE_QUOTAS)[number];
  /** See {@linkcode TEMPORAL_NEGATIVES} (`otherClass`, as PiPa's patch bank). */
  negatives: (typeof TEMPORAL_NEGATIVES)[number];
  /** Drop anchors whose two frames' pseudo-labels disagree (false: the flow defines the pair). */
  agreement: boolean;
  /** See {@linkcode TEMPORAL_WEIGHTING} (`confidence`, as DAFormer weighs its pseudo-labels). */
  weighting: (typeof TEMPORAL_WEIGHTING)[number];
  /**
   * Embeddings per class in the semantic-aware memory (512 ≈ PiPa's 9600-entry patch bank over 19
   * classes); 0: no memory, the negatives are this step's only.
   */
  memoryCapacity: number;
  /** Teacher confidence an embedding needs to enter the memory (0.968, DAFormer's threshold). */
  memoryThreshold: number;
  /**
   * At most this many embeddings of one class enter per step, the most confident (32, so one
   * frame's road does not flush the road queue: a queue spans ≥ 16 steps).
   */
  memoryPerStep: number;
  /** First iteration of the loss (0; the experiments align it with the patch contrast's). */
  startIteration: number;
  /** Anchor rows per chunk of the similarity matrices (256). */
  rowChunk: number;
}

/** A {@linkcode temporalContrast} block. */
export type TemporalContrastBlock = Block<"temporalContrast", TemporalContrastParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** PiPa++'s temporal contrast across frames. */
    temporalContrast: TemporalContrastBlock;
  }
}

/**
 * PiPa++'s temporal contrast on target frame pairs (t, t−k): student decoder features pooled to
 * stride 8 and projected (1×1, ReLU, 1×1, L2-normalised), the InfoNCE of each frame-t point
 * against its flow partner in frame t−k, negatives of other teacher pseudo-classes from the
 * partners and the class-wise semantic memory, hardest fraction kept by the task-smart rule; the
 * memory is filled from confident frame-t embeddings after each step and checkpointed.
 */
export const temporalContrast = defineBlock<"temporalContrast", TemporalContrastParams>({
  kind: "temporalContrast",
  family: "loss",
  summary: "PiPa++ temporal contrast across target frames, task-smart sampling, semantic memory",
  schema: {
    weight: num(0.1, { min: 0 }),
    temperature: num(0.1, { min: 0, exclusiveMin: true }),
    correspondence: oneOf(TEMPORAL_CORRESPONDENCE, "flow"),
    partner: oneOf(TEMPORAL_PARTNER, "student"),
    gridStride: int(8, 4),
    projectionDim: int(128, 1),
    anchors: int(1024, 1),
    sampling: oneOf(TEMPORAL_SAMPLING, "taskSmart"),
    fraction: num(0.1, { min: 0, max: 1, exclusiveMin: true }),
    minimum: int(1, 0),
    negativeQuota: oneOf(NEGATIVE_QUOTAS, "pooled"),
    negatives: oneOf(TEMPORAL_NEGATIVES, "otherClass"),
    agreement: bool(false),
    weighting: oneOf(TEMPORAL_WEIGHTING, "confidence"),
    memoryCapacity: int(512, 0),
    memoryThreshold: num(0.968, { min: 0, max: 1 }),
    memoryPerStep: int(32, 0),
    startIteration: int(0, 0),
    rowChunk: int(256, 1),
  },
  views: () => ["target"],
  check: (block, { experiment, path }) => {
    const issues: Issue[] = [];
    if (experiment.teacher === undefined) {
      issues.push({
        path: `${path}.partner`,
        message: `the frames' pseudo-labels come from the EMA teacher, but the experiment has ` +
          `no teacher; add teacher: emaTeacher()`,
      });
    }
    if (block.gridStride % 4 !== 0) {
      issues.push({
        path: `${path}.gridStride`,
        message: `the decoder features are at stride 4; give a multiple of 4 (8 pools them 2×2)`,
      });
    }
    return issues;
  },
});
