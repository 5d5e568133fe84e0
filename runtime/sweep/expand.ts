/**
 * Expanding a sweep into its runs: each base experiment × each variant (patch and/or grid point)
 * × each seed, with the experiment hash and run directory `deno task run` would use for the same
 * `--set` and `--seed` (the overrides go through `applyFlags`, the very code `run` uses, so the
 * hashes cannot drift), and the semantic diff of the variant against its base.
 *
 * This module imports experiment files; only `expand_worker.ts` (read permission only) runs it.
 *
 * @module
 */
import { diffExperiments, experimentHash, formatChanges, off } from "../../dsl/mod.ts";
import { compile } from "../compile/program.ts";
import { experimentReferences } from "../cli/dependencies.ts";
import { applyFlags, experimentName, loadExperiment, UsageError } from "../cli/experiment_file.ts";
import { findRunDirectory } from "../train/run_dir.ts";
import type { SetValue, Sweep } from "./sweep.ts";

/** One run of a sweep: what `deno task run` is given, and where it writes. */
export interface PlannedRun {
  /** Stable label: the experiment name, then `/variant` (`daformer/no_rcs,run.iterations=300`). */
  label: string;
  /** The base experiment file. */
  experiment: string;
  /** Its run-directory name (`experimentName`). */
  name: string;
  /** The `--set` arguments (`path=value`), in the sweep's order. */
  set: string[];
  /** Seed. */
  seed: number;
  /** Full experiment hash (as `deno task show`'s definition hashes; seed excluded). */
  hash: string;
  /** Run directory: `<runs root>/<name>/<hash12>-s<seed>`, or the existing directory of the same
   * hash and seed under another name (`findRunDirectory`), the one `deno task run` would use. */
  dir: string;
  /** `run.iterations` of the variant. */
  iterations: number;
  /** `formatChanges` of the variant against its base (empty for the base itself). */
  changes: string;
}

/** A weights experiment the runs name (`experiments/pretrain.ts`): trained before them. */
export interface PlannedDependency {
  /** The experiment file. */
  experiment: string;
  /** Its run directory under the runs root (where `run`'s weights resolver looks). */
  dir: string;
}

/** A sweep expanded. */
export interface SweepPlan {
  /** The sweep's name: its path under `sweeps/` without `.ts`. */
  sweep: string;
  /** The sweep file. */
  file: string;
  /** Runs, by experiment, variant, then seed. */
  runs: PlannedRun[];
  /** Weights experiments, dependencies first. */
  dependencies: PlannedDependency[];
}

/** A `--set` value as text `parseOverride` reads back to the same value. */
export function setText(value: SetValue): string {
  if (value === off) return "off";
  return JSON.stringify(value);
}

/** How a value reads in a label: strings bare, the rest as JSON. */
function labelText(value: SetValue): string {
  return typeof value === "string" ? value : setText(value);
}

interface Variant {
  name: string;
  set: string[];
}

/** The variants of a sweep (grid points crossed with patches), in a fixed order. */
export function variants(sweep: Sweep): Variant[] {
  let points: Variant[] = [{ name: "", set: [] }];
  for (const [key, values] of Object.entries(sweep.grid)) {
    points = points.flatMap((p) =>
      values.map((v) => ({
        name: [p.name, `${key}=${labelText(v)}`].filter((s) => s !== "").join(","),
        set: [...p.set, `${key}=${setText(v)}`],
      }))
    );
  }
  const patched = sweep.patches.length === 0
    ? points
    : sweep.patches.flatMap((patch) =>
      points.map((p) => ({
        name: [patch.name, p.name].filter((s) => s !== "").join(","),
        set: [...Object.entries(patch.set).map(([k, v]) => `${k}=${setText(v)}`), ...p.set],
      }))
    );
  const out = patched.filter((v) => v.set.length > 0);
  return sweep.includeBase ? [{ name: "", set: [] }, ...out] : out;
}

/** The sweep name of a sweep file: its path under `sweeps/` without `.ts`. */
export function sweepName(file: string): string {
  return file.replace(/\\/g, "/").replace(/^(\.\/)?sweeps\//, "").replace(/\.ts$/, "");
}

/** Expands `sweep` (from `file`) with run directories under `runsRoot`. */
export async function expandSweep(
  sweep: Sweep,
  file: string,
  runsRoot = "runs",
): Promise<SweepPlan> {
  const runs: PlannedRun[] = [];
  const references: string[] = [];
  for (const path of sweep.experiments) {
    const base = await loadExperiment(path);
    const name = experimentName(path);
    for (const variant of variants(sweep)) {
      let experiment;
      try {
        experiment = applyFlags(base, { set: variant.set });
      } catch (error) {
        throw new UsageError(
          `${file}: variant ${variant.name} of ${path} is not a valid experiment: ` +
            `${
              (error as Error).message.replace(/\.$/, "")
            }. Grid keys and patch paths are \`--set\` paths of the ` +
            `experiment (see \`deno task show ${path}\`).`,
        );
      }
      const hash = experimentHash(experiment);
      const changes = formatChanges(diffExperiments(base, experiment));
      for (const ref of experimentReferences(compile(experiment))) {
        if (!references.includes(ref)) references.push(ref);
      }
      for (const seed of sweep.seeds) {
        runs.push({
          label: variant.name === "" ? name : `${name}/${variant.name}`,
          experiment: path,
          name,
          set: variant.set,
          seed,
          hash,
          dir: await findRunDirectory(runsRoot, name, hash, seed),
          iterations: experiment.run.iterations,
          changes: variant.set.length === 0 ? "" : changes,
        });
      }
    }
  }
  return {
    sweep: sweepName(file),
    file,
    runs,
    dependencies: await dependencyOrder(references, runsRoot),
  };
}

/** Weights experiments and theirs, each after what it needs, each once. */
async function dependencyOrder(
  references: string[],
  runsRoot: string,
): Promise<PlannedDependency[]> {
  const out: PlannedDependency[] = [];
  const visit = async (ref: string, chain: string[]) => {
    if (out.some((d) => d.experiment === ref) || chain.includes(ref)) return;
    const program = compile(await loadExperiment(ref));
    for (const next of experimentReferences(program)) await visit(next, [...chain, ref]);
    out.push({
      experiment: ref,
      dir: await findRunDirectory(runsRoot, experimentName(ref), program.hash, program.seed),
    });
  };
  for (const ref of references) await visit(ref, []);
  return out;
}
