/**
 * Parameter groups by mmcv's `paramwise_cfg.custom_keys` rules.
 *
 * DAFormer (`shared/reference/daformer_hrda_mic.md` §1.4): `head: lr_mult 10`,
 * `pos_block: decay_mult 0`, `norm: decay_mult 0`. mmcv's `DefaultOptimizerConstructor` tries
 * keys longest first (ties alphabetical); the first key that is a substring of the full
 * parameter name wins and no other rule applies. So every `decode_head.*` parameter (its BN
 * included) gets 10× lr *with* weight decay, backbone norms get decay 0, the rest the base values.
 *
 * @module
 */

/** One rule: parameters whose name contains `key` get these multipliers. */
export interface ParamRule {
  /** Substring of the full parameter name. */
  key: string;
  /** Learning-rate multiplier (mmcv `lr_mult`). */
  lrMult?: number;
  /** Weight-decay multiplier (mmcv `decay_mult`). */
  decayMult?: number;
}

/** The published DAFormer/HRDA/MIC rules (`paramwise_cfg.custom_keys`). */
export const DAFORMER_PARAM_RULES: readonly ParamRule[] = Object.freeze([
  { key: "head", lrMult: 10 },
  { key: "pos_block", decayMult: 0 },
  { key: "norm", decayMult: 0 },
]);

/** The multipliers a parameter ends up with, and which rule gave them. */
export interface ParamGroupAssignment {
  /** Parameter name. */
  name: string;
  /** The matching rule's key, or undefined for the default group. */
  rule: string | undefined;
  /** Learning-rate multiplier. */
  lrMult: number;
  /** Weight-decay multiplier. */
  decayMult: number;
}

/** mmcv's order: longest key first, ties alphabetical. */
export function orderRules(rules: readonly ParamRule[]): ParamRule[] {
  return [...rules].sort((a, b) =>
    b.key.length - a.key.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/** The group of one parameter name under `rules`. */
export function assignGroup(name: string, rules: readonly ParamRule[]): ParamGroupAssignment {
  for (const rule of orderRules(rules)) {
    if (name.includes(rule.key)) {
      return { name, rule: rule.key, lrMult: rule.lrMult ?? 1, decayMult: rule.decayMult ?? 1 };
    }
  }
  return { name, rule: undefined, lrMult: 1, decayMult: 1 };
}
