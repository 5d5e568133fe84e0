/**
 * Getting a sweep's expansion without importing its files: starts `expand_worker.ts` with read
 * permission only and parses the JSON it prints. The worker's errors (one paragraph, exit 2)
 * pass through to the user unchanged.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exists } from "../io/exists.ts";
import { UsageError } from "../cli/experiment_file.ts";
import { denoCommand } from "../cli/deno_command.ts";
import type { SweepPlan } from "./expand.ts";

/** The worker that imports sweep and experiment files. */
const WORKER = fileURLToPath(new URL("./expand_worker.ts", import.meta.url));

/** The worker's permissions: reading the project, nothing else. */
export const WORKER_PERMISSIONS = ["--allow-read=."];

/**
 * The worker's permissions for a runs root: {@link WORKER_PERMISSIONS}, with a root outside the
 * project added to what it may read (it looks for existing run directories there).
 */
export function workerPermissions(runsRoot: string): string[] {
  const root = resolve(runsRoot);
  const rel = relative(Deno.cwd(), root);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) return WORKER_PERMISSIONS;
  return [`${WORKER_PERMISSIONS[0]},${root}`];
}

/** An error the worker already printed; the command exits with its code and prints nothing. */
export class ReportedError extends Error {
  /** Creates it with the worker's exit code. */
  constructor(readonly code: number) {
    super(`the sweep worker exited with ${code}`);
  }
}

/** Expands `file` in the read-only worker. */
export async function expandInWorker(file: string, runsRoot: string): Promise<SweepPlan> {
  if (!(await exists(file))) {
    throw new UsageError(
      `${file}: no such sweep file. Give the path of a .ts file whose default export is ` +
        `sweep({...}), e.g. sweeps/daformer_seeds.ts.`,
    );
  }
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(denoCommand(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...workerPermissions(runsRoot),
        WORKER,
        file,
        "--runs-root",
        runsRoot,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
  } catch (error) {
    throw new UsageError(
      `sweep starts ${denoCommand()} to read the sweep without this process's permissions, ` +
        `and could not: ${(error as Error).message}. Run it as \`deno task sweep\`.`,
    );
  }
  if (!output.success) throw new ReportedError(output.code);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as SweepPlan;
}
