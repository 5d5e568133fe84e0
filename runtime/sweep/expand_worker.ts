/**
 * The half of `deno task sweep` that imports the sweep file and the experiment files. The sweep
 * command may start programs (training runs, `sbatch`), so it never imports them itself (an
 * experiment or sweep file could otherwise run anything); it starts this worker with read
 * permission only ({@link WORKER_PERMISSIONS} in `expansion.ts`), which prints the expanded sweep
 * as one JSON document on stdout. Usage: `expand_worker.ts SWEEP.ts [--runs-root DIR]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { exists } from "../io/exists.ts";
import { ExperimentError } from "../../dsl/mod.ts";
import { runMain, UsageError } from "../cli/experiment_file.ts";
import { expandSweep } from "./expand.ts";
import { isSweep } from "./sweep.ts";

/** Imports a sweep file and returns its default export, checked. */
async function loadSweep(file: string) {
  if (!(await exists(file))) {
    throw new UsageError(`${file}: no such sweep file. Give a sweeps/*.ts file.`);
  }
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(file)).href);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof ExperimentError || (error as Error).name === "UsageError") {
      throw new UsageError(`${file}: ${message}`);
    }
    throw new UsageError(`${file}: the file failed to load: ${message}`);
  }
  if (!isSweep(module.default)) {
    throw new UsageError(
      `${file}: the default export is not a sweep. End the file with ` +
        "`export default sweep({...})` (`runtime/sweep/sweep.ts`).",
    );
  }
  return module.default;
}

/** Expands the sweep `args` names and prints it as JSON; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { "runs-root": { type: "string", default: "runs" } },
  });
  if (positionals.length !== 1) throw new UsageError("usage: expand_worker.ts SWEEP.ts");
  const file = positionals[0];
  const plan = await expandSweep(await loadSweep(file), file, values["runs-root"]);
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(plan) + "\n"));
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
