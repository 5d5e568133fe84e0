/**
 * AdamW with mmcv parameter groups (`shared/reference/daformer_hrda_mic.md` §1.4; DAFormer
 * `schedules/adamw.py`): the optimiser an experiment gets when it names none.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import type { GroupMultipliers } from "../schema.ts";
import { num } from "../schema.ts";

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

/** An {@linkcode adamw} block. */
export type AdamWBlock = Block<"adamw", AdamWParams>;

declare module "../families.ts" {
  interface OptimizerBlocks {
    /** AdamW. */
    adamw: AdamWBlock;
  }
}

/** AdamW as PyTorch 1.7 (see `runtime/optim/adamw.ts`). */
export const adamw = defineBlock<"adamw", AdamWParams>({
  kind: "adamw",
  family: "optimizer",
  summary: "AdamW with parameter groups",
  familyDefault: true,
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
