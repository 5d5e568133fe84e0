/**
 * The Slurm executor: one `sbatch --array` script per sweep (an array task per run, i.e. per
 * experiment variant and seed) and, when the runs name weights experiments, one job that trains
 * those first; the array is submitted with `--dependency=afterok:<that job>`. Every task runs
 * `deno task run`, which resumes from the run's last checkpoint, so `--requeue` (preemption, a
 * node failure) and resubmitting the whole sweep continue rather than repeat work.
 *
 * @module
 */
import { join } from "node:path";
import type { SweepPlan } from "./expand.ts";
import { runArgs, shellWord } from "./commands.ts";
import { UsageError } from "../cli/experiment_file.ts";

/** Resource options, each an `#SBATCH` line when given. */
export interface SlurmOptions {
  /** `--cpus-per-task`. */
  cpusPerTask?: string;
  /** `--time` (HH:MM:SS). */
  time?: string;
  /** `--mem` (e.g. 8G). */
  mem?: string;
  /** `--partition`. */
  partition?: string;
  /** `--account`. */
  account?: string;
}

/** The two scripts (the dependency script only when the runs need weights experiments). */
export interface SlurmScripts {
  /** The job that trains weights experiments, or undefined. */
  dependencies?: string;
  /** The array job. */
  array: string;
}

function header(name: string, options: SlurmOptions, logs: string): string[] {
  const lines = ["#!/bin/bash", `#SBATCH --job-name=${shellWord(name)}`];
  if (options.cpusPerTask !== undefined) {
    lines.push(`#SBATCH --cpus-per-task=${options.cpusPerTask}`);
  }
  if (options.time !== undefined) lines.push(`#SBATCH --time=${options.time}`);
  if (options.mem !== undefined) lines.push(`#SBATCH --mem=${options.mem}`);
  if (options.partition !== undefined) lines.push(`#SBATCH --partition=${options.partition}`);
  if (options.account !== undefined) lines.push(`#SBATCH --account=${options.account}`);
  // A requeued task reruns the same command, which resumes from the run's checkpoint.
  lines.push("#SBATCH --requeue", `#SBATCH --output=${logs}`);
  return lines;
}

/** Checks option values, which end up in a shell script, before they get there. */
export function checkSlurmOptions(options: SlurmOptions): void {
  const checks: [keyof SlurmOptions, RegExp, string][] = [
    ["cpusPerTask", /^[1-9]\d*$/, "a whole number ≥ 1"],
    ["time", /^(\d+-)?\d+(:\d\d){0,2}$/, "a Slurm time such as 02:00:00 or 1-12:00:00"],
    ["mem", /^\d+[KMGT]?$/, "a size such as 8G or 16000M"],
    ["partition", /^[A-Za-z0-9_.,-]+$/, "a partition name"],
    ["account", /^[A-Za-z0-9_.-]+$/, "an account name"],
  ];
  for (const [key, pattern, what] of checks) {
    const value = options[key];
    if (value !== undefined && !pattern.test(value)) {
      const flag = key === "cpusPerTask" ? "cpus-per-task" : key;
      throw new UsageError(`--${flag}: expected ${what}, got ${JSON.stringify(value)}.`);
    }
  }
}

/** The sbatch scripts of `plan`, run from `projectRoot`, Slurm's own logs under `logDir`. */
export function slurmScripts(
  plan: SweepPlan,
  options: SlurmOptions,
  projectRoot: string,
  logDir: string,
): SlurmScripts {
  const name = `uda-${plan.sweep.replace(/\//g, "-")}`;
  const deno = "node_modules/deno/deno";
  const preamble = ["set -euo pipefail", `cd ${shellWord(projectRoot)}`];
  const run = (args: string[], dir: string) =>
    `mkdir -p ${shellWord(dir)} && ${deno} task --quiet run ${args.map(shellWord).join(" ")} ` +
    `>>${shellWord(join(dir, "stdout.log"))} 2>&1`;
  const dependencies = plan.dependencies.length === 0 ? undefined : [
    ...header(`${name}-weights`, options, join(logDir, "weights-%j.out")),
    "# Weights experiments the sweep's runs name, trained once before the array starts.",
    ...preamble,
    ...plan.dependencies.map((d) => run([d.experiment], d.dir)),
    "",
  ].join("\n");
  const cases = plan.runs.map((r, i) =>
    `  ${i}) ${run(runArgs(r), r.dir)} ;; # ${r.label} s${r.seed}`
  );
  const array = [
    ...header(name, options, join(logDir, "%A_%a.out")),
    `#SBATCH --array=0-${plan.runs.length - 1}`,
    `# ${plan.runs.length} runs of ${plan.file}; each task's output is in its run directory.`,
    ...preamble,
    'case "$SLURM_ARRAY_TASK_ID" in',
    ...cases,
    '  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
    "esac",
    "",
  ].join("\n");
  return { dependencies, array };
}

/** The text `--dry-run` prints: each script, with the sbatch command that would submit it. */
export function formatDryRun(scripts: SlurmScripts, dir: string): string {
  const parts: string[] = [];
  if (scripts.dependencies !== undefined) {
    parts.push(
      `# sbatch --parsable ${join(dir, "weights.sbatch")}   (prints WEIGHTS_JOB)`,
      scripts.dependencies,
      `# sbatch --parsable --dependency=afterok:$WEIGHTS_JOB ${join(dir, "array.sbatch")}`,
    );
  } else {
    parts.push(`# sbatch --parsable ${join(dir, "array.sbatch")}`);
  }
  parts.push(scripts.array);
  return parts.join("\n");
}

async function sbatch(args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("sbatch", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || /No such file|not found/i.test(String(error))) {
      throw new UsageError(
        `--executor slurm submits with sbatch, which is not on PATH here: run the sweep on a ` +
          `Slurm login node, add --dry-run to print the scripts instead, or use --executor local.`,
      );
    }
    throw new UsageError(`sbatch could not be started: ${(error as Error).message}`);
  }
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new UsageError(
      `sbatch ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return text.split(";")[0]; // --parsable prints `id` or `id;cluster`.
}

/** Writes the scripts under `dir` and submits them; returns the job ids. */
export async function submit(
  scripts: SlurmScripts,
  dir: string,
): Promise<{ dependencies?: string; array: string }> {
  // Probed before anything is written, so a machine without Slurm is left untouched.
  await sbatch(["--version"]);
  await Deno.mkdir(join(dir, "logs"), { recursive: true });
  let dependencies: string | undefined;
  if (scripts.dependencies !== undefined) {
    const path = join(dir, "weights.sbatch");
    await Deno.writeTextFile(path, scripts.dependencies);
    dependencies = await sbatch(["--parsable", path]);
  }
  const path = join(dir, "array.sbatch");
  await Deno.writeTextFile(path, scripts.array);
  const array = await sbatch([
    "--parsable",
    ...(dependencies === undefined ? [] : [`--dependency=afterok:${dependencies}`]),
    path,
  ]);
  return { dependencies, array };
}
