/**
 * `deno task run EXP.ts [--set path=value]... [--backend B] [--threads N] [--seed N] [--out DIR]
 * [--resume]`:
 * trains an experiment into `runs/<experiment>/<hash12>-s<seed>/` (or `--out`). Running the
 * same experiment and seed again resumes its run instead of starting over; `--resume` insists
 * on a checkpoint. Exit codes: 0 finished, 1 failed or diverged, 2 invalid input, 130
 * interrupted by a signal (checkpoint written).
 *
 * The run directory must really lie inside the project's `runs/` or `.cache/` once symlinks are
 * resolved (`write_scope.ts`), or inside a directory the user named: `--out DIR` or `UDA_RUNS=DIR`
 * (the runs root instead of `runs/`) outside the project make the command start itself again with
 * exactly that directory added to its read and write scopes (`scope.ts`). The task grants
 * `--allow-run=deno` for that alone: the process revokes it before it imports an experiment file,
 * and the child never has it, so an experiment file cannot start programs; there is no network,
 * and the git revision in `env.json` is read without running git. A run directory that cannot be
 * written (permissions, a read-only file system, a file in its path) is an error, exit 2.
 *
 * Without `--out`, the run directory is the one every command shares for this experiment hash and
 * seed (`findRunDirectory`): a finished or interrupted run of the same definition under another
 * name (an ablation file, a sweep's patch) is resumed rather than trained twice.
 *
 * Weights references that name an experiment file (`model.encoder.pretrained:
 * "experiments/pretrain.ts"`) resolve to the `weights.safetensors` of that experiment's finished
 * run under `runs/`; when it has not finished, it is trained (or resumed) first, so a pretrained
 * encoder is computed once and then shared by every experiment that names it.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exists } from "../io/exists.ts";
import { compile } from "../compile/program.ts";
import { takeStrictLabelsFlag } from "../data/label_policy.ts";
import { FINAL_WEIGHTS, train } from "../train/loop.ts";
import { takeThreadsFlag } from "../backend/mod.ts";
import { startBackend, takeLanesFlag } from "../train/lanes_start.ts";
import { findRunDirectory } from "../train/run_dir.ts";
import { percent } from "../report/report.ts";
import { assertCreatable, assertWritable, isWritable } from "./write_scope.ts";
import { defaultRunsRoot, mayReexecute, reexecute, revokeRun, RUN_SCOPE } from "./scope.ts";
import {
  applyFlags,
  experimentName,
  loadExperiment,
  parseExperimentArgs,
  runMain,
  UsageError,
} from "./experiment_file.ts";

/**
 * A resolver of weights references: experiment files become their finished run's weights,
 * training the run first when needed; anything else is a file path, returned as is.
 */
export function weightsResolver(
  write: (text: string) => void,
  terminal: boolean,
  chain: readonly string[] = [],
  runsRoot = "runs",
): (reference: string) => Promise<string> {
  return async (reference) => {
    if (!reference.endsWith(".ts")) return reference;
    if (chain.includes(reference)) {
      throw new UsageError(
        `weights references form a cycle: ${[...chain, reference].join(" → ")}. An experiment ` +
          `cannot start from its own weights.`,
      );
    }
    const program = compile(await loadExperiment(reference));
    const name = experimentName(reference);
    const runDir = await findRunDirectory(runsRoot, name, program.hash, program.seed);
    const weights = join(runDir, FINAL_WEIGHTS);
    if (await exists(weights)) return weights;
    await assertWritable(runDir, `the run directory of ${reference}`);
    write(`${reference} has no finished run yet: training it first (${runDir})\n`);
    const result = await train(program, {
      runDir,
      name,
      resume: "auto",
      write,
      terminal,
      command: ["run", reference, "(as a dependency)"],
      resolveWeights: weightsResolver(write, terminal, [...chain, reference], runsRoot),
    });
    if (result.status !== "finished") {
      throw new Error(`${reference} (needed for its weights): ${result.message}`);
    }
    return weights;
  };
}

/**
 * Takes `--stop-after N` out of the arguments: stop as a signal would after N iterations
 * (checkpoint, exit 130), a deterministic interruption for tests and time-limited jobs.
 */
function takeStopAfter(args: string[]): { rest: string[]; stopAfter?: number } {
  const i = args.findIndex((a) => a === "--stop-after" || a.startsWith("--stop-after="));
  if (i < 0) return { rest: args };
  const inline = args[i].includes("=");
  const text = inline ? args[i].split("=")[1] : args[i + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(
      `--stop-after: expected a whole number of iterations ≥ 1, got ${JSON.stringify(text)}.`,
    );
  }
  return { rest: [...args.slice(0, i), ...args.slice(i + (inline ? 1 : 2))], stopAfter: value };
}

/** Runs `run` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { rest: unthreaded, threads } = takeThreadsFlag(args);
  const { rest: unlaned, lanes } = takeLanesFlag(unthreaded);
  const { rest, stopAfter } = takeStopAfter(takeStrictLabelsFlag(unlaned));
  const { values, positionals } = parseExperimentArgs(rest, { out: true, resume: true });
  if (positionals.length !== 1) {
    throw new UsageError(
      "usage: deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] " +
        "[--resume] [--stop-after N] [--strict-labels] [--threads N] [--lanes 1|2|auto]",
    );
  }
  // Decided before any experiment file is imported: start again with the directories the user
  // named outside this process's write scope, or give up the permission to start programs.
  const root = defaultRunsRoot();
  const named = [
    ...(values.out === undefined ? [] : [values.out]),
    ...(root === "runs" ? [] : [root]),
  ];
  const outside: string[] = [];
  for (const dir of named) if (!(await isWritable(dir))) outside.push(dir);
  if (outside.length > 0 && mayReexecute()) {
    return await reexecute(fileURLToPath(import.meta.url), args, RUN_SCOPE, outside);
  }
  revokeRun();
  const experiment = applyFlags(await loadExperiment(positionals[0]), values);
  const program = compile(experiment);
  // The wasm build and thread pool are fixed when the backend first starts, so it starts here,
  // before a dependency's run: on every core, or on half of them where this experiment's step is
  // split over two processes (train() then reuses it).
  await startBackend(program, lanes, threads);
  const name = experimentName(positionals[0]);
  const runDir = values.out ?? await findRunDirectory(root, name, program.hash, program.seed);
  const flag = values.out !== undefined
    ? "--out"
    : root === "runs"
    ? "the run directory"
    : "the run directory (under UDA_RUNS)";
  await assertWritable(runDir, flag);
  await assertCreatable(runDir, flag);
  const terminal = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  write(`${name}: ${runDir}\n`);
  const result = await train(program, {
    runDir,
    name,
    resume: values.resume ? "require" : "auto",
    write,
    terminal,
    command: ["run", ...args],
    resolveWeights: weightsResolver(write, terminal, [positionals[0]], root),
    stopAfter,
    lanes,
  });
  for (const [set, r] of Object.entries(result.evaluation)) {
    console.log(`${set} mIoU (${r.metrics.protocol}): ${percent(r.metrics.mIoU)}`);
  }
  console.error(result.message);
  return result.status === "finished" ? 0 : result.status === "interrupted" ? 130 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
