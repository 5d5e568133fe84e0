/**
 * Where a sweep stands: each run read from its directory (finished, iteration k of n, not
 * started) and, where `squeue` exists, the Slurm state of its array task.
 *
 * @module
 */
import { exists } from "../io/exists.ts";
import { readRunSummary } from "../report/results.ts";
import type { SweepPlan } from "./expand.ts";

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

/** Slurm states of the sweep's array tasks by index, or undefined without `squeue`. */
export async function queueStates(jobName: string): Promise<Map<number, string> | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("squeue", {
      args: ["--noheader", "--name", jobName, "--format=%K %T"],
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch {
    return undefined;
  }
  if (!output.success) return undefined;
  const states = new Map<number, string>();
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const [index, state] = line.trim().split(/\s+/);
    // A pending range (`0-5`) covers several tasks.
    const range = /^(\d+)(?:-(\d+))?/.exec(index ?? "");
    if (range === null || state === undefined) continue;
    for (let i = Number(range[1]); i <= Number(range[2] ?? range[1]); i++) states.set(i, state);
  }
  return states;
}

/** The status lines of a sweep. */
export async function sweepStatus(plan: SweepPlan): Promise<string[]> {
  const queue = await queueStates(`uda-${plan.sweep.replace(/\//g, "-")}`);
  const lines: string[] = [];
  let finished = 0;
  for (const [i, run] of plan.runs.entries()) {
    const state = await runState(run.dir, run.iterations);
    if (state === "finished") finished++;
    const job = queue?.get(i);
    lines.push(`${run.label} s${run.seed}  ${run.dir}  ${state}${job ? `  [slurm ${job}]` : ""}`);
  }
  lines.push(
    `${finished} of ${plan.runs.length} runs finished` +
      (queue === undefined ? " (squeue not available: run directories only)" : ""),
  );
  return lines;
}
