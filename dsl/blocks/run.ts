/**
 * Evaluation and run-settings blocks.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, oneOf } from "../schema.ts";

/** mIoU protocols: 19 classes (GTA→CS), 16 (SYNTHIA→CS), 13 (16 without wall, fence, pole). */
export const PROTOCOLS = ["19", "16", "13"] as const;

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

/** Periodic whole-image evaluation on the validation sets (mmseg `mode='whole'`). */
export const evaluation = defineBlock<"evaluation", EvaluationParams>({
  kind: "evaluation",
  family: "evaluation",
  summary: "periodic whole-image evaluation",
  schema: {
    every: int(4000, 1),
    protocol: oneOf(PROTOCOLS, "19"),
    pictures: int(4, 0, 64),
    batchSize: int(4, 1),
  },
});

/** Evaluation blocks. */
export type EvaluationBlock = Block<"evaluation", EvaluationParams>;

/** Backends an experiment can name. */
export const BACKENDS = ["wasm", "webgpu", "tensorflow", "cpu"] as const;

/** Parameters of {@linkcode runSettings}. */
export interface RunParams {
  /** Training iterations (40,000 published, §1.4). */
  iterations: number;
  /** Seed of every random stream (initialisation, data, augmentation, dropout). */
  seed: number;
  /** TensorFlow.js backend (`--backend` overrides it). */
  backend: (typeof BACKENDS)[number];
  /** Log losses every this many iterations (mmcv `log_config.interval` 50). */
  logEvery: number;
  /** Write a checkpoint every this many iterations (and at the end and on SIGINT/SIGTERM). */
  checkpointEvery: number;
  /** Checkpoints kept (older ones are deleted; the final one is always kept). */
  keepCheckpoints: number;
}

/** How long to train and how to record it. */
export const runSettings = defineBlock<"run", RunParams>({
  kind: "run",
  family: "run",
  summary: "iterations, seed, backend, logging and checkpoints",
  schema: {
    iterations: int(40000, 1),
    seed: int(0),
    backend: oneOf(BACKENDS, "wasm"),
    logEvery: int(50, 1),
    checkpointEvery: int(4000, 1),
    keepCheckpoints: int(2, 1),
  },
});

/** Run blocks. */
export type RunBlock = Block<"run", RunParams>;
