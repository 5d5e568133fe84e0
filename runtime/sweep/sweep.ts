/**
 * Sweeps as typed data. A sweep file (`sweeps/*.ts`) default-exports `sweep({...})`: the base
 * experiment files (by path, so the process that reads a sweep need not import them), the seeds,
 * and either a grid or a list of named patches, both written with the `--set` paths of
 * `deno task run` (`"losses.ce.weight"`, `"data.sampling"`), so a sweep names nothing the
 * command line could not. Every path is checked against each experiment by the DSL's own `--set`
 * validation when the sweep is expanded (`expand.ts`), not here: this module knows no schema.
 *
 * ```ts
 * import { sweep } from "../runtime/sweep/sweep.ts";
 * export default sweep({
 *   experiments: ["experiments/daformer.ts"],
 *   seeds: [0, 1, 2],
 *   grid: { "run.iterations": [300, 600] },
 * });
 * ```
 *
 * @module
 */
import type { Off } from "../../dsl/mod.ts";

/** A `--set` value: JSON data, or `off` to remove a loss term or an optional place. */
export type SetValue = string | number | boolean | null | Off | readonly SetValue[] | {
  readonly [key: string]: SetValue;
};

/** A named patch: `--set` paths to values, e.g. `{ name: "no_rcs", set: { "data.sampling": off } }`. */
export interface SweepPatch {
  /** Stable name of the variant (letters, digits, `_`, `-`, `.`); part of each run's label. */
  readonly name: string;
  /** `--set` path → value. */
  readonly set: Readonly<Record<string, SetValue>>;
}

/** What a sweep file gives {@link sweep}. */
export interface SweepSpec {
  /** Base experiment files, relative to the project root (`experiments/daformer.ts`). */
  readonly experiments: readonly string[];
  /** Seeds every variant is run with (default `[0]`). */
  readonly seeds?: readonly number[];
  /** A grid: `--set` path → the values to try; every combination is a variant. */
  readonly grid?: Readonly<Record<string, readonly SetValue[]>>;
  /** Named patches, each one variant. With a grid too, every patch is crossed with the grid. */
  readonly patches?: readonly SweepPatch[];
  /** Whether the base experiments themselves (no patch) are variants too (default: only when
   * neither a grid nor patches is given). */
  readonly includeBase?: boolean;
}

/** A sweep as {@link sweep} returns it: the spec, checked and frozen, with a brand. */
export interface Sweep {
  /** Marks a value made by {@link sweep}. */
  readonly kind: "sweep";
  /** Base experiment files. */
  readonly experiments: readonly string[];
  /** Seeds, ascending and distinct. */
  readonly seeds: readonly number[];
  /** The grid (may be empty). */
  readonly grid: Readonly<Record<string, readonly SetValue[]>>;
  /** The patches (may be empty). */
  readonly patches: readonly SweepPatch[];
  /** Whether each base experiment is a variant too. */
  readonly includeBase: boolean;
}

/** A mistake in a sweep's shape (not in its paths, which the DSL checks). */
export class SweepError extends Error {
  override name = "UsageError";
}

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

function checkPaths(keys: string[], where: string): void {
  for (const key of keys) {
    if (!PATH.test(key)) {
      throw new SweepError(
        `${where}: ${JSON.stringify(key)} is not a --set path; write dotted field names, ` +
          `e.g. "run.iterations" or "losses.ce.weight".`,
      );
    }
  }
}

/** Checks and freezes a sweep. Throws a {@link SweepError} naming the first mistake. */
export function sweep(spec: SweepSpec): Sweep {
  if (!Array.isArray(spec.experiments) || spec.experiments.length === 0) {
    throw new SweepError(
      `sweep(): experiments lists the base experiment files, e.g. ["experiments/daformer.ts"].`,
    );
  }
  for (const path of spec.experiments) {
    if (typeof path !== "string" || !path.endsWith(".ts")) {
      throw new SweepError(`sweep(): ${JSON.stringify(path)} is not an experiment file (.ts).`);
    }
  }
  if (new Set(spec.experiments).size !== spec.experiments.length) {
    throw new SweepError(`sweep(): an experiment file is listed twice.`);
  }
  const seeds = [...new Set(spec.seeds ?? [0])].sort((a, b) => a - b);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new SweepError(`sweep(): seeds are integers ≥ 0, e.g. [0, 1, 2].`);
  }
  const grid = spec.grid ?? {};
  checkPaths(Object.keys(grid), "sweep() grid");
  for (const [key, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new SweepError(`sweep() grid: "${key}" needs a non-empty list of values.`);
    }
  }
  const patches = spec.patches ?? [];
  const names = new Set<string>();
  for (const patch of patches) {
    if (typeof patch?.name !== "string" || !NAME.test(patch.name) || names.has(patch.name)) {
      throw new SweepError(
        `sweep() patches: each patch needs a distinct name of letters, digits, _, - or . ` +
          `(got ${JSON.stringify(patch?.name)}).`,
      );
    }
    names.add(patch.name);
    checkPaths(Object.keys(patch.set ?? {}), `sweep() patch ${patch.name}`);
  }
  const includeBase = spec.includeBase ??
    (Object.keys(grid).length === 0 && patches.length === 0);
  return Object.freeze({
    kind: "sweep" as const,
    experiments: Object.freeze([...spec.experiments]),
    seeds: Object.freeze(seeds),
    grid: Object.freeze({ ...grid }),
    patches: Object.freeze([...patches]),
    includeBase,
  });
}

/** Whether a value (a sweep file's default export) was made by {@link sweep}. */
export function isSweep(value: unknown): value is Sweep {
  return typeof value === "object" && value !== null && (value as Sweep).kind === "sweep" &&
    Array.isArray((value as Sweep).experiments);
}
