/**
 * Parameter-group keys are substrings of parameter names (mmcv `custom_keys`), so a misspelt
 * key silently matches nothing. Parameter names are a runtime fact (the built networks), so the
 * check runs once the networks exist, before a run directory is written: a key that matches no
 * trainable parameter is an error, unless the optimiser block's own defaults name it (the
 * published config's `pos_block`, which MiT does not have, is kept for fidelity).
 *
 * @module
 */
import { blockDefinition, ExperimentError, type Issue } from "../../dsl/mod.ts";
import type { Program } from "../compile/program.ts";
import type { Network } from "../blocks/types.ts";
import { trainableParams } from "./step.ts";
import { editDistance } from "../../dsl/spelling.ts";

/** Keys of `optimizer.paramGroups` that match no trainable parameter and are not defaults. */
export function unmatchedGroupKeys(
  program: Program,
  networks: ReadonlyMap<string, Network>,
): string[] {
  const names = trainableParams(program, networks).map((p) => p.name);
  const optimizer = program.experiment.optimizer;
  const schema = blockDefinition(optimizer.kind)?.schema as
    | Record<string, { default?: unknown }>
    | undefined;
  const defaults = Object.keys((schema?.paramGroups?.default ?? {}) as Record<string, unknown>);
  return Object.keys(optimizer.paramGroups).filter((key) =>
    !defaults.includes(key) && !names.some((n) => n.includes(key))
  );
}

/** Throws an {@linkcode ExperimentError} naming each key that matches no parameter. */
export function checkParamGroups(program: Program, networks: ReadonlyMap<string, Network>): void {
  const unmatched = unmatchedGroupKeys(program, networks);
  if (unmatched.length === 0) return;
  const names = trainableParams(program, networks).map((p) => p.name);
  const parts = [...new Set(names.flatMap((n) => n.split(/[._]/)))];
  const issues: Issue[] = unmatched.map((key) => {
    const close = parts.map((p) => [editDistance(p, key), p] as const)
      .filter(([d]) => d <= 2).sort((a, b) => a[0] - b[0])[0]?.[1];
    return {
      path: `optimizer.paramGroups.${key}`,
      message: `the key matches no trainable parameter of this program (a key is a substring ` +
        `of names such as ${names[0]} or ${names[names.length - 1]})` +
        (close ? `; did you mean '${close}'?` : "") +
        `; fix the key or remove it`,
    };
  });
  throw new ExperimentError(issues);
}
