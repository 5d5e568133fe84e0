/**
 * `deno task sweep show|run|status|results SWEEP.ts [...]`: sweeps (`sweeps/*.ts`, see
 * `runtime/sweep/sweep.ts`) expanded, run locally or on Slurm, followed and tabulated.
 *
 * - `show`: every run (label, experiment hash, seed, run directory) and its diff against its base.
 * - `run --executor local|slurm [--dry-run] [--jobs N] [--cpus-per-task N --time T --mem M
 *   --partition P --account A]`: `local` runs N at a time (default: the cores available);
 *   `slurm` submits one array job (plus a weights job it depends on); `--dry-run` prints the
 *   scripts instead.
 * - `status`: each run's state from its directory, and its Slurm state when `squeue` exists.
 * - `results [--baseline LABEL] [--out FILE] [--title T] [--allow-partial]`: the results tables
 *   of the sweep's runs, one row per label.
 *
 * This process may start programs (training runs, `sbatch`, `squeue`), so it never imports the
 * sweep file or an experiment file: `expansion.ts` expands the sweep in a worker that may only
 * read. `--runs-root DIR` (default `runs`) puts the runs elsewhere inside the write scope.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exists } from "../io/exists.ts";
import { readRunSummary, type RunSummary } from "../report/results.ts";
import { expandInWorker, ReportedError } from "../sweep/expansion.ts";
import type { SweepPlan } from "../sweep/expand.ts";
import { runLocal } from "../sweep/local.ts";
import { checkSlurmOptions, formatDryRun, slurmScripts, submit } from "../sweep/slurm.ts";
import { runState, sweepStatus } from "../sweep/status.ts";
import { runMain, UsageError } from "./experiment_file.ts";
import { TABLE_OPTIONS, tabulate } from "./results.ts";

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
        "runs-root": { type: "string", default: "runs" },
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
  const plan = await expandInWorker(file, values["runs-root"]);
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
    console.log((await sweepStatus(plan)).join("\n"));
    return 0;
  }
  if (command === "results") {
    const runs: RunSummary[] = [];
    const unfinished: string[] = [];
    for (const run of plan.runs) {
      const summary: RunSummary = await exists(run.dir)
        ? await readRunSummary(run.dir).catch((e) => {
          throw new UsageError((e as Error).message);
        })
        : {
          dir: run.dir,
          name: run.label,
          hash: run.hash.slice(0, 12),
          seed: run.seed,
          iterations: run.iterations,
          done: 0,
          finished: false,
        };
      if (!summary.finished) unfinished.push(`${run.dir} (${await runState(run.dir, 0)})`);
      // Rows are the sweep's labels, so two variants of one experiment file read apart.
      runs.push({ ...summary, name: run.label });
    }
    if (unfinished.length > 0 && !values["allow-partial"]) {
      throw new UsageError(
        `${unfinished.length} of ${runs.length} runs of ${file} have not finished: ` +
          `${unfinished.join("; ")}. Run \`deno task sweep run ${file} --executor local\` (it ` +
          `resumes them), or pass --allow-partial to tabulate what there is.`,
      );
    }
    return await tabulate(runs, {
      title: values.title,
      baseline: values.baseline,
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
  const dir = join(values["runs-root"], ".sweeps", plan.sweep);
  const scripts = slurmScripts(plan, slurm, resolve("."), resolve(dir, "logs"));
  if (values["dry-run"]) {
    await Deno.stdout.write(new TextEncoder().encode(formatDryRun(scripts, dir)));
    return 0;
  }
  const ids = await submit(scripts, dir);
  if (ids.dependencies !== undefined) console.log(`weights job ${ids.dependencies}`);
  console.log(`array job ${ids.array} (${plan.runs.length} tasks); scripts in ${dir}`);
  return 0;
}

if (import.meta.main) {
  await runMain(() =>
    main(Deno.args).catch((error) => {
      if (error instanceof ReportedError) Deno.exit(error.code);
      throw error;
    })
  );
}
