/**
 * `deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] [--resume]`:
 * trains an experiment into `runs/<experiment>/<hash12>-s<seed>/` (or `--out`). Running the
 * same experiment and seed again resumes its run instead of starting over; `--resume` insists
 * on a checkpoint. Exit codes: 0 finished, 1 failed or diverged, 2 invalid input, 130
 * interrupted by a signal (checkpoint written).
 *
 * The run directory must really lie inside the project's `runs/` or `.cache/` once symlinks are
 * resolved (`write_scope.ts`); this process has no `--allow-run` and no network, so an experiment
 * file cannot leave that sandbox, and the git revision in `env.json` is read without running git.
 *
 * Weights references that name an experiment file (`model.encoder.pretrained:
 * "experiments/pretrain.ts"`) resolve to the `weights.safetensors` of that experiment's finished
 * run under `runs/`; when it has not finished, it is trained (or resumed) first, so a pretrained
 * encoder is computed once and then shared by every experiment that names it.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../io/exists.ts";
import { compile } from "../compile/program.ts";
import { takeStrictLabelsFlag } from "../data/label_policy.ts";
import { FINAL_WEIGHTS, train } from "../train/loop.ts";
import { runDirectory } from "../train/run_dir.ts";
import { percent } from "../report/report.ts";
import { assertWritable } from "./write_scope.ts";
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
    const runDir = runDirectory(runsRoot, name, program.hash, program.seed);
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
  const { rest, stopAfter } = takeStopAfter(takeStrictLabelsFlag(args));
  const { values, positionals } = parseExperimentArgs(rest, { out: true, resume: true });
  if (positionals.length !== 1) {
    throw new UsageError(
      "usage: deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] " +
        "[--resume] [--stop-after N] [--strict-labels]",
    );
  }
  const experiment = applyFlags(await loadExperiment(positionals[0]), values);
  const program = compile(experiment);
  const name = experimentName(positionals[0]);
  const runDir = values.out ?? runDirectory("runs", name, program.hash, program.seed);
  await assertWritable(runDir, values.out === undefined ? "the run directory" : "--out");
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
    resolveWeights: weightsResolver(write, terminal, [positionals[0]]),
    stopAfter,
  });
  for (const [set, r] of Object.entries(result.evaluation)) {
    console.log(`${set} mIoU (${r.metrics.protocol}): ${percent(r.metrics.mIoU)}`);
  }
  console.error(result.message);
  return result.status === "finished" ? 0 : result.status === "interrupted" ? 130 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
