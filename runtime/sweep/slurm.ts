/**
 * The Slurm executor: one `sbatch --array` script per sweep (an array task per run, i.e. per
 * experiment variant and seed) and, when the runs name weights experiments, one job that trains
 * those first; the array is submitted with `--dependency=afterok:<that job>`. Every task runs
 * `deno task run`, which resumes from the run's last checkpoint, so `--requeue` (preemption, a
 * node failure) and resubmitting the whole sweep continue rather than repeat work; a resubmission
 * asks only for the tasks whose runs have not finished and are not queued (`--array=1,3`).
 *
 * Deno on the node: the first `deno` on PATH (sbatch passes on the environment the sweep was
 * submitted from, where `deno task` put npm's `node_modules/.bin` first; a cluster's module or
 * `~/.deno/bin` also works), else the executable that submitted the sweep when the node sees the
 * same path. The script never names where npm put the binary.
 *
 * @module
 */
import { MAX_WASM_THREADS, WASM_THREADS_ENV } from "../backend/thread_share.ts";
import { join } from "node:path";
import type { SweepPlan } from "./expand.ts";
import { runArgs, shellWord } from "./commands.ts";
import { UsageError } from "../cli/experiment_file.ts";
import { writeFileAtomic } from "../io/atomic.ts";

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

/** The Slurm job name of a sweep's array (`squeue --name`). */
export function jobName(plan: SweepPlan): string {
  return `uda-${plan.sweep.replace(/\//g, "-")}`;
}

/** The lines of a script that find Deno on the node (see the module's notes). */
function findDeno(submitter: string | undefined, projectRoot: string): string[] {
  return [
    "# Deno: the first on PATH (the environment this sweep was submitted from), else the one that",
    "# submitted it.",
    "deno=$(command -v deno || true)",
    `[ -n "$deno" ] || deno=${shellWord(submitter ?? "")}`,
    'if [ -z "$deno" ] || [ ! -x "$deno" ]; then',
    `  echo "no Deno on $(hostname): put deno on the job's PATH (a module, ~/.deno/bin), or run ` +
    `npm install in ${projectRoot.replace(/["$`\\]/g, "")}" >&2`,
    "  exit 2",
    "fi",
  ];
}

/**
 * The script's `train DIR ARGS...`: `deno task run ARGS` with its output appended to
 * `DIR/stdout.log`. `scancel`, a time limit or a preemption sends SIGTERM; the batch shell would
 * die of it at once and Slurm then kills what is left, so the shell passes it on and waits until
 * the run has written its checkpoint (exit 130), within Slurm's `KillWait`.
 */
const TRAIN = [
  "# The wasm thread pool takes the CPUs Slurm gave this task, not every core of the node.",
  `cpus=\${SLURM_CPUS_PER_TASK:-1}`,
  `export ${WASM_THREADS_ENV}=$(( cpus > ${MAX_WASM_THREADS} ? ${MAX_WASM_THREADS} : cpus ))`,
  "child=",
  `trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT`,
  "train() {",
  "  local dir=$1 code=0",
  "  shift",
  '  mkdir -p "$dir"',
  '  "$deno" task --quiet run "$@" >>"$dir/stdout.log" 2>&1 &',
  "  child=$!",
  '  wait "$child" || code=$?',
  "  # A trapped signal ends `wait` early; wait again for the run's own exit code.",
  '  while kill -0 "$child" 2>/dev/null; do code=0; wait "$child" || code=$?; done',
  "  child=",
  '  return "$code"',
  "}",
];

/**
 * The sbatch scripts of `plan`, run from `projectRoot`, Slurm's own logs under `logDir`;
 * `submitter` is the Deno executable that submits them, the node's fallback.
 */
export function slurmScripts(
  plan: SweepPlan,
  options: SlurmOptions,
  projectRoot: string,
  logDir: string,
  submitter?: string,
): SlurmScripts {
  const name = jobName(plan);
  const preamble = [
    "set -euo pipefail",
    `cd ${shellWord(projectRoot)}`,
    ...findDeno(submitter, projectRoot),
    ...TRAIN,
  ];
  const run = (args: string[], dir: string) => `train ${[dir, ...args].map(shellWord).join(" ")}`;
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

/** The `--array` of a resubmission: the tasks to run, as `0,2-3`. */
export function arraySpec(indices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length; i++) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    parts.push(i === j ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j;
  }
  return parts.join(",");
}

/**
 * The text `--dry-run` prints: each script, with the sbatch command that would submit it (only
 * the array tasks in `tasks`, when given).
 */
export function formatDryRun(
  scripts: SlurmScripts,
  dir: string,
  tasks?: readonly number[],
): string {
  const parts: string[] = [];
  const array = tasks === undefined ? "" : `--array=${arraySpec(tasks)} `;
  if (scripts.dependencies !== undefined) {
    parts.push(
      `# sbatch --parsable ${join(dir, "weights.sbatch")}   (prints WEIGHTS_JOB)`,
      scripts.dependencies,
      `# sbatch --parsable ${array}--dependency=afterok:$WEIGHTS_JOB ${join(dir, "array.sbatch")}`,
    );
  } else {
    parts.push(`# sbatch --parsable ${array}${join(dir, "array.sbatch")}`);
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

/** Fails with the one-paragraph error when `sbatch` cannot be started; nothing is written. */
export async function probeSbatch(): Promise<void> {
  await sbatch(["--version"]);
}

/**
 * Writes the scripts under `dir` (atomically) and submits the array tasks `tasks` (all when
 * undefined); returns the job ids, also appended to `dir/jobs.jsonl` for `sweep status`.
 */
export async function submit(
  scripts: SlurmScripts,
  dir: string,
  tasks?: readonly number[],
): Promise<{ dependencies?: string; array: string }> {
  // Probed before anything is written, so a machine without Slurm is left untouched.
  await probeSbatch();
  await Deno.mkdir(join(dir, "logs"), { recursive: true });
  let dependencies: string | undefined;
  if (scripts.dependencies !== undefined) {
    const path = join(dir, "weights.sbatch");
    await writeFileAtomic(path, scripts.dependencies);
    dependencies = await sbatch(["--parsable", path]);
  }
  const path = join(dir, "array.sbatch");
  await writeFileAtomic(path, scripts.array);
  const array = await sbatch([
    "--parsable",
    ...(tasks === undefined ? [] : [`--array=${arraySpec(tasks)}`]),
    ...(dependencies === undefined ? [] : [`--dependency=afterok:${dependencies}`]),
    path,
  ]);
  await recordJobs(dir, { array, dependencies, tasks: tasks ?? null });
  return { dependencies, array };
}

/** One submission, as `jobs.jsonl` records it. */
export interface Submission {
  /** The array job id. */
  array: string;
  /** The weights job id, when there was one. */
  dependencies?: string;
  /** The array indices submitted, or null for all. */
  tasks: readonly number[] | null;
}

async function recordJobs(dir: string, submission: Submission): Promise<void> {
  const path = join(dir, "jobs.jsonl");
  const before = await Deno.readTextFile(path).catch(() => "");
  await writeFileAtomic(path, before + JSON.stringify(submission) + "\n");
}

/** The submissions recorded under `dir`, oldest first (none when the file does not exist). */
export async function readSubmissions(dir: string): Promise<Submission[]> {
  const text = await Deno.readTextFile(join(dir, "jobs.jsonl")).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
