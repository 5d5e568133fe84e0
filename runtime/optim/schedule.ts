/**
 * The poly learning-rate schedule with linear warm-up, as mmcv's `PolyLrUpdaterHook`
 * (`mmcv/runner/hooks/lr_updater.py`, v1.3.7; DAFormer `schedules/poly10warm.py`;
 * `shared/reference/daformer_hrda_mic.md` §1.4).
 *
 * mmcv sets the rate before every iteration t (0-based) for every parameter group from that
 * group's own initial rate, so call {@linkcode learningRate} with the group's base (6e-4 for
 * `decode_head`, 6e-5 elsewhere). With `minLr` 0 (published) that equals scaling the base
 * group's scheduled rate by the group's multiplier; with `minLr` > 0 it does not.
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

/** The published schedule for `maxIters` iterations (`poly10warm.py`: power 1, warm-up 1500). */
export function polySchedule(
  maxIters = 40000,
  overrides: Partial<PolySchedule> = {},
): PolySchedule {
  const schedule = {
    maxIters,
    power: 1,
    minLr: 0,
    warmupIters: 1500,
    warmupRatio: 1e-6,
    ...overrides,
  };
  validateSchedule(schedule);
  return schedule;
}

/** Throws a one-paragraph error naming the field when a schedule is out of range. */
export function validateSchedule(schedule: PolySchedule): void {
  const problems: string[] = [];
  const { maxIters, power, minLr, warmupIters, warmupRatio } = schedule;
  if (!(Number.isInteger(maxIters) && maxIters > 0)) {
    problems.push(`maxIters must be a positive integer, got ${maxIters}`);
  }
  if (!(Number.isFinite(power) && power >= 0)) problems.push(`power must be ≥ 0, got ${power}`);
  if (!(Number.isFinite(minLr) && minLr >= 0)) problems.push(`minLr must be ≥ 0, got ${minLr}`);
  if (!(Number.isInteger(warmupIters) && warmupIters >= 0)) {
    problems.push(`warmupIters must be an integer ≥ 0, got ${warmupIters}`);
  }
  if (!(warmupRatio > 0 && warmupRatio <= 1)) {
    problems.push(`warmupRatio must lie in (0, 1], got ${warmupRatio}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `poly schedule: ${problems.join("; ")}. The published values are maxIters 40000, ` +
        `power 1, minLr 0, warmupIters 1500, warmupRatio 1e-6 (DAFormer schedules/poly10warm.py).`,
    );
  }
}

/**
 * The learning rate at iteration `t` (0-based) for a group whose initial rate is `base`:
 * regular(t) = (base − minLr)·(1 − t/T)^power + minLr, and for t < W the warm-up multiplies it,
 * lr(t) = regular(t)·(1 − (1 − t/W)·(1 − warmupRatio)) (mmcv applies warm-up on top of the poly
 * value). Iterations past T hold at minLr (mmcv never runs them).
 */
export function learningRate(schedule: PolySchedule, base: number, t: number): number {
  if (!(Number.isInteger(t) && t >= 0)) {
    throw new RangeError(`learningRate: the iteration must be an integer ≥ 0, got ${t}`);
  }
  const progress = Math.min(t, schedule.maxIters) / schedule.maxIters;
  const regular = (base - schedule.minLr) * (1 - progress) ** schedule.power + schedule.minLr;
  if (t >= schedule.warmupIters) return regular;
  const k = (1 - t / schedule.warmupIters) * (1 - schedule.warmupRatio);
  return regular * (1 - k);
}
