/**
 * `deno task sweep show|run|status|results SWEEP.ts [...]`: sweeps (`sweeps/*.ts`, see
 * `runtime/sweep/sweep.ts`) expanded, run locally or on Slurm, followed and tabulated.
 *
 * - `show`: every run (label, experiment hash, seed, run directory) and its diff against its base.
 * - `run --executor local|slurm [--dry-run] [--jobs N] [--cpus-per-task N --time T --mem M
 *   --partition P --account A]`: `local` runs N at a time (default: the cores available);
 *   `slurm` submits one array job (plus a weights job it depends on); `--dry-run` prints the
 *   scripts instead.
 * - `status`: each run's state from its directory, and its array task's Slurm state from
 *   `squeue` and, where the cluster keeps accounting, `sacct` (`runtime/sweep/queue.ts`).
 * - `results [--baseline LABEL] [--out FILE] [--title T] [--allow-partial]`: the results tables
 *   of the sweep's runs, one row per label.
 *
 * This process may start programs (training runs, `sbatch`, `squeue`), so it never imports the
 * sweep file or an experiment file: `expansion.ts` expands the sweep in a worker that may only
 * read. `--runs-root DIR` (default `UDA_RUNS`, else `runs`) puts the runs elsewhere; a root
 * outside the project makes the command start itself again with exactly that directory added to
 * its read and write scopes (`scope.ts`), and each run does the same for its `--out`.
 *
 * `run --executor slurm` submits only the runs that have not finished and whose array tasks are
 * not pending or running, so resubmitting a sweep after a failure, a `scancel` or a time limit
 * continues it (each task resumes from its run's checkpoint).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { exists } from "../io/exists.ts";
import { sweepSummaries, unfinishedError } from "../sweep/summaries.ts";
import { expandInWorker, ReportedError } from "../sweep/expansion.ts";
import type { SweepPlan } from "../sweep/expand.ts";
import { runLocal } from "../sweep/local.ts";
import {
  checkSlurmOptions,
  formatDryRun,
  probeSbatch,
  readSubmissions,
  slurmScripts,
  submit,
} from "../sweep/slurm.ts";
import { ACTIVE_STATES, queueReport } from "../sweep/queue.ts";
import { runState, sweepStatus } from "../sweep/status.ts";
import { defaultRunsRoot, mayReexecute, reexecute, SWEEP_SCOPE } from "./scope.ts";
import { isWritable } from "./write_scope.ts";
import { runMain, UsageError } from "./experiment_file.ts";
import { parseGap, TABLE_OPTIONS, tabulate } from "./results.ts";

const USAGE = "usage: deno task sweep show|run|status|results SWEEP.ts [--runs-root DIR] " +
  "[--executor local|slurm] [--dry-run] [--jobs N] [--cpus-per-task N] [--time HH:MM:SS] " +
  "[--mem SIZE] [--partition P] [--account A] [--baseline LABEL] [--out FILE] [--title T] [--chart] " +
  "[--allow-partial]";

function show(plan: SweepPlan): string {
  const lines = [
    `sweep ${plan.sweep} (${plan.file}): ${plan.runs.length} runs`,
  ];
  for (const d of plan.dependencies) {
    lines.push(`weights experiment ${d.experiment}: trained first, into ${d.dir}`);
  }
  let previous = "";
  for (const run of plan.runs) {
    const key = `${run.label}\u0000${run.hash}`;
    if (key !== previous) {
      previous = key;
      lines.push(
        "",
        `${run.label}  hash ${run.hash}`,
        `  deno task run ${run.experiment}${run.set.map((s) => ` --set ${s}`).join("")}`,
        run.changes === ""
          ? `  diff against ${run.experiment}: none (the base itself)`
          : `  diff against ${run.experiment}:\n` +
            run.changes.trimEnd().split("\n").map((l) => `    ${l}`).join("\n"),
      );
    }
    lines.push(`  seed ${run.seed}  ${run.dir}`);
  }
  return lines.join("\n") + "\n";
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag}: expected a whole number ≥ 1, got ${JSON.stringify(text)}.`);
  }
  return n;
}

/** Runs `sweep` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "runs-root": { type: "string" },
        executor: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        jobs: { type: "string" },
        "cpus-per-task": { type: "string" },
        time: { type: "string" },
        mem: { type: "string" },
        partition: { type: "string" },
        account: { type: "string" },
        ...TABLE_OPTIONS,
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, file] = positionals;
  if (positionals.length !== 2 || !["show", "run", "status", "results"].includes(command)) {
    throw new UsageError(USAGE);
  }
  // Checked before the (seconds-long) expansion, so a typo fails at once.
  if (command === "run" && values.executor !== "local" && values.executor !== "slurm") {
    throw new UsageError(
      `--executor: expected local or slurm, got ${JSON.stringify(values.executor ?? "")}; ` +
        `local runs the sweep on this machine N at a time (--jobs N), slurm submits one sbatch ` +
        `job array (add --dry-run to print it).`,
    );
  }
  const slurm = {
    cpusPerTask: values["cpus-per-task"],
    time: values.time,
    mem: values.mem,
    partition: values.partition,
    account: values.account,
  };
  checkSlurmOptions(slurm);
  const jobs = positiveInt(values.jobs, "--jobs", navigator.hardwareConcurrency || 1);
  // sbatch is checked first too, so a machine without Slurm is told at once and left untouched.
  if (command === "run" && values.executor === "slurm" && !values["dry-run"]) await probeSbatch();
  const root = values["runs-root"] ?? defaultRunsRoot();
  if (!(await isWritable(root)) && mayReexecute()) {
    return await reexecute(fileURLToPath(import.meta.url), args, SWEEP_SCOPE, [root]);
  }
  const plan = await expandInWorker(file, root);
  const dir = join(root, ".sweeps", plan.sweep);
  const write = (line: string) => console.error(line);

  if (command === "show") {
    await Deno.stdout.write(new TextEncoder().encode(show(plan)));
    return 0;
  }
  if (command === "status") {
    for (const d of plan.dependencies) {
      const state = await exists(join(d.dir, "weights.safetensors"))
        ? "finished"
        : await runState(d.dir, 0);
      console.log(`${d.experiment} (weights)  ${d.dir}  ${state}`);
    }
    console.log((await sweepStatus(plan, dir)).join("\n"));
    return 0;
  }
  if (command === "results") {
    const { runs, unfinished } = await sweepSummaries(plan);
    if (unfinished.length > 0 && !values["allow-partial"]) {
      throw unfinishedError(file, runs.length, unfinished);
    }
    return await tabulate(runs, {
      title: values.title,
      baseline: values.baseline,
      gap: parseGap(values.gap),
      out: values.out,
      chart: values.chart,
      args: ["results", ...args.slice(1)],
      command: "sweep",
    });
  }
  if (values.executor === "local") {
    write(`sweep ${plan.sweep}: ${plan.runs.length} runs, ${jobs} at a time`);
    const outcome = await runLocal(plan, jobs, write);
    write(
      `sweep ${plan.sweep}: ${outcome.finished} finished, ${outcome.interrupted} interrupted ` +
        `(resume by running the sweep again), ${outcome.failed} failed`,
    );
    return outcome.failed > 0 ? 1 : outcome.interrupted > 0 ? 130 : 0;
  }
  const pending = await toSubmit(plan, dir);
  if (pending.runs.length === 0) {
    console.log(
      `sweep ${plan.sweep}: nothing to submit: ${pending.finished} runs finished, ` +
        `${pending.queued} queued or running`,
    );
    return 0;
  }
  const all = pending.runs.length === plan.runs.length;
  const scripts = slurmScripts(
    { ...plan, dependencies: pending.dependencies },
    slurm,
    resolve("."),
    resolve(dir, "logs"),
    submitter(),
  );
  if (values["dry-run"]) {
    const text = formatDryRun(scripts, dir, all ? undefined : pending.runs);
    await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  }
  const ids = await submit(scripts, dir, all ? undefined : pending.runs);
  if (ids.dependencies !== undefined) console.log(`weights job ${ids.dependencies}`);
  console.log(
    `array job ${ids.array} (${pending.runs.length} of ${plan.runs.length} tasks; ` +
      `${pending.finished} finished, ${pending.queued} queued or running); scripts in ${dir}`,
  );
  return 0;
}

/** The Deno executable submitting the sweep, when this process may read where it is. */
function submitter(): string | undefined {
  try {
    return Deno.execPath();
  } catch {
    return undefined;
  }
}

/**
 * The array indices still to run (not finished, not pending or running in Slurm), and the
 * weights experiments not trained yet.
 */
async function toSubmit(
  plan: SweepPlan,
  dir: string,
): Promise<{
  runs: number[];
  finished: number;
  queued: number;
  dependencies: SweepPlan["dependencies"];
}> {
  const jobs = (await readSubmissions(dir)).map((s) => s.array);
  const queue = await queueReport(jobs);
  const runs: number[] = [];
  let finished = 0;
  let queued = 0;
  for (const [i, run] of plan.runs.entries()) {
    const task = queue.tasks.get(i);
    if ((await runState(run.dir, run.iterations)) === "finished") finished++;
    else if (task !== undefined && ACTIVE_STATES.has(task.state)) queued++;
    else runs.push(i);
  }
  const dependencies = [];
  for (const d of plan.dependencies) {
    if (!(await exists(join(d.dir, "weights.safetensors")))) dependencies.push(d);
  }
  return { runs, finished, queued, dependencies };
}

if (import.meta.main) {
  await runMain(() =>
    main(Deno.args).catch((error) => {
      if (error instanceof ReportedError) Deno.exit(error.code);
      throw error;
    })
  );
}
