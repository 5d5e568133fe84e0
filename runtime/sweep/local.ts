/**
 * The local executor: runs a sweep's `deno task run` commands N at a time on this machine, each
 * run's stdout and stderr appended to `<run dir>/stdout.log`, with one progress line per event.
 * Weights experiments are trained first, one at a time, so two runs never train the same one.
 * Each run resumes when its directory has a checkpoint, so rerunning a sweep continues it.
 *
 * @module
 */
import { join } from "node:path";
import type { PlannedRun, SweepPlan } from "./expand.ts";
import { denoCommand } from "../cli/deno_command.ts";
import { runArgs } from "./commands.ts";
import { threadsPerJob, WASM_THREADS_ENV } from "../backend/thread_share.ts";

/** How the runs ended. */
export interface LocalOutcome {
  /** Runs that exited 0. */
  finished: number;
  /** Runs that exited 130 (interrupted, checkpointed). */
  interrupted: number;
  /** Runs that failed (any other code). */
  failed: number;
}

/** Runs `deno task run args` (with `env` added), output to `dir/stdout.log`; returns the code. */
async function runLogged(
  args: string[],
  dir: string,
  env: Record<string, string> = {},
): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(join(dir, "stdout.log"), { append: true, create: true });
  try {
    const child = new Deno.Command(denoCommand(), {
      args: ["task", "--quiet", "run", ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams into one file: each chunk written whole, in arrival order.
    let queue = Promise.resolve();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        queue = queue.then(async () => {
          await file.write(chunk);
        });
      }
    };
    await Promise.all([drain(child.stdout), drain(child.stderr)]);
    await queue;
    return (await child.status).code;
  } finally {
    file.close();
  }
}

/** Runs the sweep `jobs` at a time, writing progress with `write`. */
export async function runLocal(
  plan: SweepPlan,
  jobs: number,
  write: (line: string) => void,
): Promise<LocalOutcome> {
  const outcome: LocalOutcome = { finished: 0, interrupted: 0, failed: 0 };
  for (const dependency of plan.dependencies) {
    write(`${dependency.experiment}: weights experiment, trained first (${dependency.dir})`);
    const code = await runLogged([dependency.experiment], dependency.dir);
    if (code !== 0) {
      write(`${dependency.experiment} exited ${code} (see ${dependency.dir}/stdout.log); stopping`);
      return { ...outcome, failed: plan.runs.length };
    }
  }
  const total = plan.runs.length;
  // Runs side by side split the cores between their wasm thread pools instead of each taking
  // all of them (oversubscribed pools wait on each other's threads; docs/backends.md).
  const parallel = Math.max(1, Math.min(jobs, total));
  const share = { [WASM_THREADS_ENV]: String(threadsPerJob(parallel)) };
  let next = 0;
  let running = 0;
  const progress = (run: PlannedRun, event: string) =>
    write(
      `[${outcome.finished + outcome.failed + outcome.interrupted}/${total} done, ${running} ` +
        `running, ${outcome.failed} failed] ${run.label} s${run.seed} ${event}`,
    );
  const worker = async () => {
    while (next < total) {
      const run = plan.runs[next++];
      running++;
      progress(run, `started → ${run.dir}/stdout.log`);
      const code = await runLogged(runArgs(run), run.dir, share);
      running--;
      if (code === 0) outcome.finished++;
      else if (code === 130) outcome.interrupted++;
      else outcome.failed++;
      progress(run, code === 0 ? "finished" : `exited ${code}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return outcome;
}
