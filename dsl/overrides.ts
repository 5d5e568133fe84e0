/**
 * `--set path=value` overrides, turned into an `extend` patch so they go through exactly the
 * same merging and validation as patches written in TypeScript.
 *
 * @module
 */
import { off } from "./block.ts";
import type { Experiment, ExperimentPatch } from "./experiment.ts";
import { extend } from "./extend.ts";
import { ExperimentError } from "./issues.ts";
import { isPlacePath } from "./sections.ts";

/** A parsed override. */
export interface Override {
  /** Dotted path, e.g. `losses.ce.weight`. */
  path: string[];
  /** The value: JSON when it parses as JSON, the raw text otherwise. */
  value: unknown;
  /** The text as given, for messages. */
  source: string;
}

/**
 * Parses `path=value`; values are JSON (`0.5`, `[256,256]`, `true`) or bare strings (`b5`).
 * `off` at a place that holds a whole block (`teacher`, `data.sampling`, `losses.ce`) is
 * {@linkcode off}; inside a block it stays the string "off".
 */
export function parseOverride(text: string): Override {
  const eq = text.indexOf("=");
  const path = eq < 0 ? [] : text.slice(0, eq).split(".");
  if (eq <= 0 || path.some((p) => p === "")) {
    throw new ExperimentError(
      [{ path: text, message: "write --set path.to.field=value, e.g. --set run.iterations=2000" }],
      `--set ${text}`,
    );
  }
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // A bare word such as b5 or game is a string.
  }
  if (raw === "off" && isPlacePath(path)) value = off;
  return { path, value, source: text };
}

/**
 * Applies overrides (a later one wins on the same path) as one patch, so the result is validated
 * once, as a whole: `--set run.iterations=20 --set schedule.warmupIters=5` is fine even though
 * the intermediate state after the first override alone might not be.
 */
export function applyOverrides(base: Experiment, overrides: readonly Override[]): Experiment {
  if (overrides.length === 0) return base;
  const patch: Record<string, unknown> = {};
  for (const o of overrides) {
    let node = patch;
    for (const key of o.path.slice(0, -1)) {
      // A later, deeper override refines an earlier one (a whole block given as JSON keeps its
      // kind); anything else there (a number, `off`) is replaced.
      const next = node[key];
      const refinable = typeof next === "object" && next !== null && !Array.isArray(next) &&
        next !== off;
      node[key] = refinable ? { ...next } : {};
      node = node[key] as Record<string, unknown>;
    }
    node[o.path[o.path.length - 1]] = o.value;
  }
  try {
    return extend(base, patch as ExperimentPatch);
  } catch (error) {
    if (!(error instanceof ExperimentError)) throw error;
    throw new ExperimentError(error.issues, `--set ${overrides.map((o) => o.source).join(" ")}`);
  }
}
