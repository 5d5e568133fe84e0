/**
 * PiPa++ (Chen, Zheng, Yang, arXiv 2407.17101): PiPa's pixel and patch contrast plus a temporal
 * contrast across frames, with the task-smart sampling and the semantic-aware memory
 * (`dsl/blocks/temporal_contrast.ts`, `docs/pipapp.md`). No PiPa++ code is public; every choice
 * the paper leaves open is an option with its reason on the block's field. This file holds the
 * method as patches:
 *
 * - {@linkcode pipappPatch}: PiPa's patch term turned into PiPa++'s (semantic-memory negatives,
 *   task-smart sampling), keeping the base's fields;
 * - {@linkcode pipappTemporal}: the temporal term at the CPU benchmark's scale;
 * - {@linkcode pipappTemporalPaper}, {@linkcode pipappPatchPaper}: every default, for replicas.
 *
 * `experiments/pipapp_hrda.ts` is image PiPa++ on HRDA; `experiments/video/pipapp.ts` is video
 * PiPa++ on DAFormer (both terms, one shared memory).
 *
 * @module
 */
import {
  type ExperimentPatch,
  type PatchContrastBlock,
  semanticPatchContrast,
  temporalContrast,
} from "../dsl/mod.ts";

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

/**
 * PiPa++'s patch term in place of a PiPa `patch`: the same fields (crops, start, negatives, β:
 * the base's values, 0.1 on DAFormer, 0.01 on HRDA) against the semantic memory with the
 * task-smart choice of negatives. The memory is scaled as the temporal term's (32 a class, 4 a
 * class per step, one line: 1/16 of 512 and 32, the pixel ratio of 128² to 512² crops), so the
 * two share it in a video experiment.
 */
export function pipappPatch(patch: PatchContrastBlock): ExperimentPatch {
  const { kind: _kind, bankSteps: _bankSteps, ...fields } = patch;
  return {
    losses: {
      patch: semanticPatchContrast({ ...fields, memoryCapacity: 32, memoryPerStep: 4 }),
    },
  };
}

/** PiPa++'s image patch term at paper scale: every default (PiPa's β 0.1, 512 a class). */
export const pipappPatchPaper: ExperimentPatch = {
  losses: { patch: semanticPatchContrast() },
};
