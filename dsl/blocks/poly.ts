/**
 * mmcv's poly learning-rate schedule with linear warm-up (DAFormer `schedules/poly10warm.py`):
 * the schedule an experiment gets when it names none.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num } from "../schema.ts";

/** Parameters of {@linkcode poly}. */
export interface PolyParams {
  /** Exponent of the decay (1.0). */
  power: number;
  /** Floor of the decayed rate (0). */
  minLr: number;
  /** Linear warm-up iterations (1500). */
  warmupIters: number;
  /** Rate ratio at the first warm-up iteration (1e-6). */
  warmupRatio: number;
}

/** A {@linkcode poly} block. */
export type PolyBlock = Block<"poly", PolyParams>;

declare module "../families.ts" {
  interface ScheduleBlocks {
    /** Poly decay with warm-up. */
    poly: PolyBlock;
  }
}

/** mmcv's poly schedule over `run.iterations`, with linear warm-up applied on top. */
export const poly = defineBlock<"poly", PolyParams>({
  kind: "poly",
  family: "schedule",
  summary: "poly learning-rate decay with linear warm-up",
  familyDefault: true,
  schema: {
    power: num(1, { min: 0 }),
    minLr: num(0, { min: 0 }),
    warmupIters: int(1500),
    warmupRatio: num(1e-6, { min: 0, max: 1, exclusiveMin: true }),
  },
});
