/**
 * The half of `deno task diff` that imports experiment files. `diff.ts` starts it with read
 * permission only (no `--allow-run`, no writes, no network), after it has extracted the tree of
 * `--rev` itself, so neither this checkout's experiment files nor an old revision's can run a
 * program or write anywhere. Takes the arguments of `diff` plus `--rev-tree FOLDER` with `--rev`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, relative, resolve } from "node:path";
import { exists } from "../io/exists.ts";
import { canonicalize, diffExperiments, formatChanges } from "../../dsl/mod.ts";
import {
  applyFlags,
  loadExperiment,
  loadForeignExperiment,
  runMain,
  UsageError,
} from "./experiment_file.ts";

/** Compares the experiments `args` name, prints the changes and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      rev: { type: "string" },
      "rev-tree": { type: "string" },
      set: { type: "string", multiple: true },
    },
  });
  let before: unknown;
  let after: unknown;
  if (values.rev !== undefined) {
    if (positionals.length !== 1) {
      throw new UsageError("usage: deno task diff EXP.ts --rev GITREV");
    }
    const folder = values["rev-tree"];
    if (folder === undefined) {
      throw new UsageError("--rev needs the revision's tree: run it as `deno task diff`.");
    }
    const path = join(folder, relative(resolve("."), resolve(positionals[0])));
    if (!(await exists(path))) {
      throw new UsageError(`${positionals[0]} does not exist at revision ${values.rev}.`);
    }
    before = await loadForeignExperiment(path, `${positionals[0]}@${values.rev}`);
    after = canonicalize(applyFlags(await loadExperiment(positionals[0]), values));
  } else {
    if (positionals.length !== 2) {
      throw new UsageError("usage: deno task diff A.ts B.ts | deno task diff EXP.ts --rev GITREV");
    }
    before = await loadExperiment(positionals[0]);
    after = applyFlags(await loadExperiment(positionals[1]), values);
  }
  const changes = diffExperiments(before, after);
  await Deno.stdout.write(new TextEncoder().encode(formatChanges(changes)));
  return changes.length === 0 ? 0 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
