/**
 * Parameter groups by mmcv's `paramwise_cfg.custom_keys` rules.
 *
 * DAFormer (`shared/reference/daformer_hrda_mic.md` §1.4): `head: lr_mult 10`,
 * `pos_block: decay_mult 0`, `norm: decay_mult 0`. mmcv's `DefaultOptimizerConstructor`
 * (`mmcv/runner/optimizer/default_constructor.py`, v1.3.7) tries keys longest first (ties
 * alphabetical); the first key that is a substring of the full parameter name wins and no other
 * rule applies. So every `decode_head.*` parameter (its BN included) gets 10× lr *with* weight
 * decay, backbone norms get decay 0, the rest the base values.
 *
 * The rules are plain data so an experiment can replace them; {@linkcode listParamGroups} shows
 * where every parameter lands (for `plan`).
 *
 * @module
 */

/** One rule: parameters whose name contains `key` get these multipliers. */
export interface ParamRule {
  /** Substring of the full parameter name. */
  key: string;
  /** Learning-rate multiplier (mmcv `lr_mult`, default 1). */
  lrMult?: number;
  /** Weight-decay multiplier (mmcv `decay_mult`, default 1). */
  decayMult?: number;
}

/** The published DAFormer/HRDA/MIC rules (`paramwise_cfg.custom_keys`, §1.4). */
export const DAFORMER_PARAM_RULES: readonly ParamRule[] = Object.freeze([
  Object.freeze({ key: "head", lrMult: 10 }),
  Object.freeze({ key: "pos_block", decayMult: 0 }),
  Object.freeze({ key: "norm", decayMult: 0 }),
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

/** A group of parameters sharing one learning rate and weight decay. */
export interface ParamGroup {
  /** The rule's key, or undefined for parameters no rule matched. */
  rule: string | undefined;
  /** Learning-rate multiplier. */
  lrMult: number;
  /** Weight-decay multiplier. */
  decayMult: number;
  /** Base learning rate × `lrMult` (what the schedule starts from for this group). */
  lr: number;
  /** Base weight decay × `decayMult`. */
  weightDecay: number;
  /** Member parameter names, in the order given. */
  names: string[];
}

/**
 * Throws a one-paragraph error when a rule table is malformed: empty or repeated keys (mmcv would
 * apply only one of two equal keys, silently), or multipliers that are not finite and ≥ 0.
 */
export function validateRules(rules: readonly ParamRule[]): void {
  const seen = new Set<string>();
  rules.forEach((rule, i) => {
    const where = `parameter-group rule ${i} (key ${JSON.stringify(rule.key)})`;
    if (typeof rule.key !== "string" || rule.key.length === 0) {
      throw new Error(`${where}: 'key' must be a non-empty substring of parameter names.`);
    }
    if (seen.has(rule.key)) {
      throw new Error(`${where}: the key appears twice; merge the two rules into one.`);
    }
    seen.add(rule.key);
    for (const field of ["lrMult", "decayMult"] as const) {
      const value = rule[field];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new Error(`${where}: '${field}' must be a finite number ≥ 0, got ${value}.`);
      }
    }
  });
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

/**
 * Every parameter's group under `rules`, gathered into groups in mmcv's rule order (default group
 * last), with each group's learning rate and weight decay for the given base values. Groups no
 * parameter falls into are left out.
 */
export function listParamGroups(
  names: readonly string[],
  rules: readonly ParamRule[] = DAFORMER_PARAM_RULES,
  base: { lr: number; weightDecay: number } = { lr: 6e-5, weightDecay: 0.01 },
): ParamGroup[] {
  validateRules(rules);
  const ordered = orderRules(rules);
  const groups = new Map<string | undefined, ParamGroup>();
  for (const rule of [...ordered, undefined]) {
    const lrMult = rule?.lrMult ?? 1;
    const decayMult = rule?.decayMult ?? 1;
    groups.set(rule?.key, {
      rule: rule?.key,
      lrMult,
      decayMult,
      lr: base.lr * lrMult,
      weightDecay: base.weightDecay * decayMult,
      names: [],
    });
  }
  for (const name of names) groups.get(assignGroup(name, ordered).rule)!.names.push(name);
  return [...groups.values()].filter((g) => g.names.length > 0);
}
