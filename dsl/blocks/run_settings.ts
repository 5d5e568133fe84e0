/**
 * Run settings: how long to train and how to record it (the `run` section; the default when
 * left out).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, oneOf } from "../schema.ts";

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

declare module "../families.ts" {
  interface RunBlocks {
    /** Run settings (kind `run`). */
    run: Block<"run", RunParams>;
  }
}

/** How long to train and how to record it. */
export const runSettings = defineBlock<"run", RunParams>({
  kind: "run",
  family: "run",
  summary: "iterations, seed, backend, logging and checkpoints",
  familyDefault: true,
  schema: {
    iterations: int(40000, 1),
    seed: int(0),
    backend: oneOf(BACKENDS, "wasm"),
    logEvery: int(50, 1),
    checkpointEvery: int(4000, 1),
    keepCheckpoints: int(2, 1),
  },
});
