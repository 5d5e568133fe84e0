/**
 * PiPa++ (Chen, Zheng, Yang, arXiv 2407.17101): PiPa's pixel and patch contrast plus a temporal
 * contrast across frames, with the task-smart sampling and the semantic-aware memory
 * (`dsl/blocks/temporal_contrast.ts`, `docs/pipapp.md`). No PiPa++ code is public; every choice
 * the paper leaves open is an option with its reason on the block's field. This file holds the
 * method as patches:
 *
 * - {@linkcode pipappTemporal}: the temporal term at the CPU benchmark's scale;
 * - {@linkcode pipappTemporalPaper}: every default, for paper-scale replicas.
 *
 * `experiments/video/pipapp.ts` applies PiPa and {@linkcode pipappTemporal} to DAFormer on the
 * video benchmark.
 *
 * @module
 */
import { type ExperimentPatch, temporalContrast } from "../dsl/mod.ts";

/**
 * The temporal term scaled to 128² crops (a 16² grid at stride 8, 1/16 of a 512² crop's points),
 * one line each:
 * - anchors 128 of 1024 (1/8, so each step still contrasts a quarter of its 512 grid points);
 * - memory 32 embeddings a class of 512 (1/16), 4 a class per step of 32 (a queue spans ≥ 8 steps);
 * - from iteration 100, as the patch contrast (`experiments/pipa.ts`): the teacher's
 *   pseudo-labels of both frames are noise before it.
 */
export const pipappTemporal: ExperimentPatch = {
  losses: {
    temporal: temporalContrast({
      anchors: 128,
      memoryCapacity: 32,
      memoryPerStep: 4,
      startIteration: 100,
    }),
  },
};

/** The temporal term at paper scale: every default (1024 anchors, 512 a class, from iteration 0). */
export const pipappTemporalPaper: ExperimentPatch = {
  losses: { temporal: temporalContrast() },
};
