/**
 * The poly learning-rate schedule with linear warm-up, as mmcv's `PolyLrUpdaterHook`
 * (`shared/reference/daformer_hrda_mic.md` §1.4, `schedules/poly10warm.py`).
 *
 * @module
 */

/** Schedule parameters (published: power 1, min lr 0, warm-up 1500 iterations from ratio 1e-6). */
export interface PolySchedule {
  /** Total iterations T (40000 published). */
  maxIters: number;
  /** Exponent of the decay (1.0). */
  power: number;
  /** Floor of the decayed learning rate (0). */
  minLr: number;
  /** Warm-up iterations W (1500); 0 disables warm-up. */
  warmupIters: number;
  /** Learning-rate ratio at iteration 0 of the warm-up (1e-6). */
  warmupRatio: number;
}

/** The published schedule for `maxIters` iterations. */
export function polySchedule(
  maxIters = 40000,
  overrides: Partial<PolySchedule> = {},
): PolySchedule {
  return { maxIters, power: 1, minLr: 0, warmupIters: 1500, warmupRatio: 1e-6, ...overrides };
}

/**
 * The learning rate at iteration `t` (0-based) for base rate `base`:
 * regular(t) = (base − minLr)·(1 − t/T)^power + minLr, and for t < W the warm-up multiplies it,
 * lr(t) = regular(t)·(1 − (1 − t/W)·(1 − warmupRatio)) (mmcv applies warm-up on top of the poly value).
 */
export function learningRate(schedule: PolySchedule, base: number, t: number): number {
  const progress = Math.min(t, schedule.maxIters) / schedule.maxIters;
  const regular = (base - schedule.minLr) * (1 - progress) ** schedule.power + schedule.minLr;
  if (t >= schedule.warmupIters) return regular;
  const k = (1 - t / schedule.warmupIters) * (1 - schedule.warmupRatio);
  return regular * (1 - k);
}
