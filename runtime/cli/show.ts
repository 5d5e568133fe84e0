/**
 * `deno task show EXP.ts [--set path=value]...`: the experiment's canonical YAML, every default
 * filled in. Byte-identical across runs and machines for the same definition.
 *
 * @module
 */
import { showExperiment } from "../../dsl/mod.ts";
import {
  applyFlags,
  loadExperiment,
  parseExperimentArgs,
  runMain,
  UsageError,
} from "./experiment_file.ts";

/** Runs `show` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseExperimentArgs(args);
  if (positionals.length !== 1) {
    throw new UsageError("usage: deno task show EXP.ts [--set path=value]... [--seed N]");
  }
  const x = applyFlags(await loadExperiment(positionals[0]), values);
  await Deno.stdout.write(new TextEncoder().encode(showExperiment(x)));
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
