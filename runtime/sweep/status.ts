/**
 * Where a sweep stands: each run read from its directory (finished, iteration k of n, not
 * started) and, where Slurm answers (`squeue`, `sacct`), the state of its array task.
 *
 * @module
 */
import { exists } from "../io/exists.ts";
import { readRunSummary } from "../report/results.ts";
import type { SweepPlan } from "./expand.ts";
import { queueReport } from "./queue.ts";
import { readSubmissions } from "./slurm.ts";

/** One run's state as text: `finished`, `iteration k of n`, `not started`. */
export async function runState(dir: string, iterations: number): Promise<string> {
  if (!(await exists(dir))) return "not started";
  try {
    const run = await readRunSummary(dir);
    if (run.finished) return "finished";
    return run.done === 0
      ? "started, no iteration logged"
      : `iteration ${run.done} of ${run.iterations}`;
  } catch {
    return `started (no experiment.yaml yet; ${iterations} iterations asked)`;
  }
}

/**
 * The status lines of a sweep: each run's state from its directory and, where Slurm answers, its
 * array task's state (`queue.ts`); `sweepDir` holds the submissions (`jobs.jsonl`).
 */
export async function sweepStatus(plan: SweepPlan, sweepDir: string): Promise<string[]> {
  const jobs = (await readSubmissions(sweepDir)).map((s) => s.array);
  const queue = await queueReport(jobs);
  const lines: string[] = [];
  let finished = 0;
  for (const [i, run] of plan.runs.entries()) {
    const state = await runState(run.dir, run.iterations);
    if (state === "finished") finished++;
    const task = queue.tasks.get(i);
    const slurm = task === undefined
      ? ""
      : `  [slurm ${task.state}, job ${task.job}_${i}, ${task.source}]`;
    lines.push(`${run.label} s${run.seed}  ${run.dir}  ${state}${slurm}`);
  }
  const sources = !queue.submitted
    ? `no Slurm job of this sweep recorded in ${sweepDir}/jobs.jsonl: run directories only`
    : !queue.squeue
    ? "squeue not available: run directories only"
    : queue.sacct === true
    ? "Slurm states from squeue and sacct"
    : `Slurm states from squeue, which lists ended tasks only for a few minutes; sacct: ` +
      `${queue.sacct}`;
  lines.push(`${finished} of ${plan.runs.length} runs finished (${sources})`);
  return lines;
}
