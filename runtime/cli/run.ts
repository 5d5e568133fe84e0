/**
 * `deno task run EXP.ts [--set path=value]... [--backend B] [--seed N] [--out DIR] [--resume]`:
 * trains an experiment into `runs/<experiment>/<hash12>-s<seed>/` (or `--out`). Running the
 * same experiment and seed again resumes its run instead of starting over; `--resume` insists
 * on a checkpoint. Exit codes: 0 finished, 1 failed or diverged, 2 invalid input, 130
 * interrupted by a signal (checkpoint written).
 *
 * @module
 */
import { compile } from "../compile/program.ts";
import { train } from "../train/loop.ts";
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
  });
  for (const [set, r] of Object.entries(result.evaluation)) {
    console.log(`${set} mIoU (${r.metrics.protocol}): ${percent(r.metrics.mIoU)}`);
  }
  console.error(result.message);
  return result.status === "finished" ? 0 : result.status === "interrupted" ? 130 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
