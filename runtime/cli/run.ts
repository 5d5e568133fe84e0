/**
 * `deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] [--resume]`:
 * trains an experiment into `runs/<experiment>/<hash12>-s<seed>/` (or `--out`). Running the
 * same experiment and seed again resumes its run instead of starting over; `--resume` insists
 * on a checkpoint. Exit codes: 0 finished, 1 failed or diverged, 2 invalid input, 130
 * interrupted by a signal (checkpoint written).
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
import { FINAL_WEIGHTS, train } from "../train/loop.ts";
import { runDirectory } from "../train/run_dir.ts";
import { percent } from "../report/report.ts";
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

/** Runs `run` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseExperimentArgs(args, { out: true, resume: true });
  if (positionals.length !== 1) {
    throw new UsageError(
      "usage: deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] " +
        "[--resume]",
    );
  }
  const experiment = applyFlags(await loadExperiment(positionals[0]), values);
  const program = compile(experiment);
  const name = experimentName(positionals[0]);
  const runDir = values.out ?? runDirectory("runs", name, program.hash, program.seed);
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
  });
  for (const [set, r] of Object.entries(result.evaluation)) {
    console.log(`${set} mIoU (${r.metrics.protocol}): ${percent(r.metrics.mIoU)}`);
  }
  console.error(result.message);
  return result.status === "finished" ? 0 : result.status === "interrupted" ? 130 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
