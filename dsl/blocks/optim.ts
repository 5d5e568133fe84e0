/**
 * Optimisation blocks: AdamW with mmcv parameter groups and the poly schedule with warm-up
 * (`shared/reference/daformer_hrda_mic.md` §1.4; DAFormer `schedules/adamw.py`,
 * `schedules/poly10warm.py`).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { GroupMultipliers } from "../schema.ts";
import { int, num } from "../schema.ts";

/** Parameters of {@linkcode adamw}. */
export interface AdamWParams {
  /** Base learning rate (6e-5). */
  lr: number;
  /** First-moment decay β1 (0.9). */
  beta1: number;
  /** Second-moment decay β2 (0.999). */
  beta2: number;
  /** Decoupled weight decay (0.01). */
  weightDecay: number;
  /** Denominator ε (1e-8, PyTorch's default). */
  eps: number;
  /**
   * mmcv `paramwise_cfg.custom_keys`: the longest key contained in a parameter's name sets its
   * multipliers (`head` lr ×10, `pos_block` and `norm` no decay).
   */
  paramGroups: Readonly<Record<string, GroupMultipliers>>;
}

/** AdamW as PyTorch 1.7 (see `runtime/optim/adamw.ts`). */
export const adamw = defineBlock<"adamw", AdamWParams>({
  kind: "adamw",
  family: "optimizer",
  summary: "AdamW with parameter groups",
  schema: {
    lr: num(6e-5, { min: 0, exclusiveMin: true }),
    beta1: num(0.9, { min: 0, max: 1 }),
    beta2: num(0.999, { min: 0, max: 1 }),
    weightDecay: num(0.01, { min: 0 }),
    eps: num(1e-8, { min: 0, exclusiveMin: true }),
    paramGroups: {
      type: "rules",
      default: {
        head: { lrMult: 10, decayMult: 1 },
        pos_block: { lrMult: 1, decayMult: 0 },
        norm: { lrMult: 1, decayMult: 0 },
      },
    },
  },
});

/** Optimiser blocks. */
export type OptimizerBlock = Block<"adamw", AdamWParams>;

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

/** mmcv's poly schedule over `run.iterations`, with linear warm-up applied on top. */
export const poly = defineBlock<"poly", PolyParams>({
  kind: "poly",
  family: "schedule",
  summary: "poly learning-rate decay with linear warm-up",
  schema: {
    power: num(1, { min: 0 }),
    minLr: num(0, { min: 0 }),
    warmupIters: int(1500),
    warmupRatio: num(1e-6, { min: 0, max: 1, exclusiveMin: true }),
  },
});

/** Schedule blocks. */
export type ScheduleBlock = Block<"poly", PolyParams>;
