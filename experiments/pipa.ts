/**
 * PiPa (Chen et al., ACM MM 2022): DAFormer's self-training plus a pixel-wise contrast on the
 * labelled source crop and a patch-wise contrast of two overlapping target crops
 * (`shared/reference/pipa_cluda.md` §1–§3). This file holds the method as patches:
 *
 * - {@linkcode pipa}: the two losses at the CPU benchmark's scale;
 * - {@linkcode pipaSchedule}: the released configuration's other changes, which are not the
 *   method (§3.3): 1.5× the iterations and RCS temperature 0.1. A user reported 70.57 mIoU for
 *   PiPa's schedule with both contrasts removed, against DAFormer's 68.3 (issue chen742/PiPa#9),
 *   so results keep the two apart.
 *
 * `pipa_daformer.ts` and `pipa_hrda.ts` apply {@linkcode pipa} to DAFormer and to HRDA.
 *
 * @module
 */
import { type ExperimentPatch, patchContrast, pixelContrast } from "../dsl/mod.ts";

/** PiPa's losses, scaled to the benchmark's 128² crops and 600 iterations. */
export const pipa: ExperimentPatch = {
  losses: {
    // 1/25 of the released anchor counts: a 128² crop has 1/16 of a 512² crop's pixels.
    pixel: pixelContrast({ minPixels: 4, maxViews: 4, maxSamples: 41 }),
    // From 1/6 of the run (10 000 of 60 000); ~10 % of each crop's positions remembered (1600
    // of 16 200 at paper scale; 20 of 2·10² here).
    patch: patchContrast({ startIteration: 100, negativesPerCrop: 20 }),
  },
};

/** The released PiPa configuration's schedule and sampling changes (§3.3), without the method. */
export const pipaSchedule: ExperimentPatch = {
  run: { iterations: 900 },
  data: { sampling: { temperature: 0.1 } },
};

/** PiPa's losses at paper scale: every default is the released value (β 0.1 as on DAFormer). */
export const pipaPaper: ExperimentPatch = {
  losses: { pixel: pixelContrast(), patch: patchContrast() },
};

/**
 * The released PiPa-DAFormer configuration's schedule and data at paper scale (§3.3): 60 000
 * iterations, 640² crops, Cityscapes resized to 1280×640, RCS temperature 0.1.
 */
export const pipaPaperDaformerSchedule: ExperimentPatch = {
  data: {
    source: { crop: [640, 640] },
    target: { scale: [1280, 640], crop: [640, 640] },
    targetVal: { scale: [1280, 640] },
    sampling: { temperature: 0.1 },
  },
  run: { iterations: 60000 },
};

/** The released PiPa-HRDA configuration's schedule (§3.3): 60 000 iterations, evaluation every 5000. */
export const pipaPaperHrdaSchedule: ExperimentPatch = {
  evaluation: { every: 5000 },
  run: { iterations: 60000 },
};
