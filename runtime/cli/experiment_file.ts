/**
 * Loading experiment files (`experiments/x.ts`, whose default export is an experiment) and the
 * flags every experiment command shares (`--set`, `--seed`, `--backend`). Imports nothing from
 * TensorFlow.js, so `show` and `diff` start instantly.
 *
 * @module
 */
import { basename, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import { exists } from "../io/exists.ts";
import {
  applyOverrides,
  canonicalize,
  type Experiment,
  ExperimentError,
  experimentFromPlain,
  isExperiment,
  parseOverride,
  type Plain,
  validateExperiment,
} from "../../dsl/mod.ts";

/** A user error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The run-directory name of an experiment file: its path under `experiments/` without `.ts`. */
export function experimentName(path: string): string {
  const rel = relative(resolve("experiments"), resolve(path));
  const inside = !rel.startsWith("..") && !rel.startsWith(sep) && rel !== "";
  return (inside ? rel.split(sep).join("/") : basename(path)).replace(/\.ts$/, "");
}

/**
 * The file an error was raised in: the first frame of its stack outside the language (any
 * `dsl/` folder, this checkout's or an extracted revision's) and outside this loader. For an
 * experiment that extends a base, a mistake in the base is raised while the base is evaluated,
 * so this names the base, not the file the user ran.
 */
export function errorOrigin(error: unknown): string | undefined {
  const stack = error instanceof Error ? error.stack ?? "" : "";
  const self = fileURLToPath(import.meta.url);
  for (const match of stack.matchAll(/(file:\/\/[^\s()]+?):\d+:\d+/g)) {
    const file = fileURLToPath(match[1]);
    if (file !== self && !file.split(sep).includes("dsl")) return relative(Deno.cwd(), file);
  }
  return undefined;
}

/** `path: message`, naming the file the error came from when that is not `path` itself. */
function where(path: string, error: unknown): string {
  const origin = errorOrigin(error);
  return origin === undefined || resolve(origin) === resolve(path)
    ? path
    : `${origin} (imported by ${path})`;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  // Deep enough for the language's own frames (merges recurse) to leave the caller's visible.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  try {
    return await import(pathToFileURL(resolve(path)).href);
  } catch (error) {
    if (error instanceof ExperimentError) {
      throw new UsageError(`${where(path, error)}: ${error.message}`);
    }
    throw new UsageError(
      `${where(path, error)}: the file failed to load: ${(error as Error).message}`,
    );
  } finally {
    Error.stackTraceLimit = limit;
  }
}

async function importDefault(path: string): Promise<unknown> {
  if (!(await exists(path))) {
    throw new UsageError(
      `${path}: no such experiment file. Give the path of a .ts file whose ` +
        `default export is an experiment, e.g. experiments/source_only.ts.`,
    );
  }
  const module = await importModule(path);
  if (!("default" in module)) {
    throw new UsageError(
      `${path}: no default export. End the file with \`export default experiment({...})\` ` +
        `or \`export default extend(base, {...})\`.`,
    );
  }
  return module.default;
}

/** Imports an experiment file of this checkout; its default export must be an experiment. */
export async function loadExperiment(path: string): Promise<Experiment> {
  const value = await importDefault(path);
  if (isExperiment(value)) return value;
  // Built by another copy of dsl/ (another checkout): accept it if it validates.
  try {
    return experimentFromPlain(canonicalize(value));
  } catch (error) {
    throw new UsageError(
      `${path}: the default export is not a valid experiment (${(error as Error).message}). ` +
        `Build it with experiment() or extend() from dsl/mod.ts.`,
    );
  }
}

/**
 * Imports an experiment file of another checkout (an older revision) as canonical plain data.
 * Its own `dsl/` built it, so it is checked structurally rather than by identity.
 */
export async function loadForeignExperiment(path: string, label: string): Promise<Plain> {
  const value = await importDefault(path);
  if (typeof value !== "object" || value === null) {
    throw new UsageError(`${label}: the default export is not an experiment.`);
  }
  return canonicalize(value);
}

/** Applies `--set`, `--seed` and `--backend` to an experiment (each becomes a `run` override). */
export function applyFlags(
  experiment: Experiment,
  flags: { set?: string[]; seed?: string; backend?: string },
): Experiment {
  const overrides = (flags.set ?? []).map(parseOverride);
  if (flags.seed !== undefined) overrides.push(parseOverride(`run.seed=${flags.seed}`));
  if (flags.backend !== undefined) {
    overrides.push(parseOverride(`run.backend=${JSON.stringify(flags.backend)}`));
  }
  try {
    return applyOverrides(experiment, overrides);
  } catch (error) {
    if (error instanceof ExperimentError) throw new UsageError(error.message);
    throw error;
  }
}

/** Re-validates (for data that did not come through experiment()), throwing a UsageError. */
export function assertValid(value: unknown, label: string): void {
  const issues = validateExperiment(value);
  if (issues.length > 0) throw new UsageError(`${label}: ${new ExperimentError(issues).message}`);
}

/** Runs a command's main, printing user errors as one paragraph and exiting with its code. */
export async function runMain(main: () => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (error) {
    // The data layer has its own UsageError (it must not import the command line): same code.
    if (
      error instanceof UsageError || error instanceof ExperimentError ||
      (error as Error).name === "UsageError"
    ) {
      console.error(`error: ${(error as Error).message}`);
      Deno.exit(2);
    }
    if (error instanceof TypeError && /Unknown option|Unexpected argument/.test(error.message)) {
      console.error(`error: ${error.message}`);
      Deno.exit(2);
    }
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

/** Parses the flags shared by `run`, `show` and `plan` plus a command's own boolean/string flags. */
export function parseExperimentArgs(
  args: string[],
  extra: { out?: boolean; resume?: boolean } = {},
): {
  values: { set?: string[]; seed?: string; backend?: string; out?: string; resume?: boolean };
  positionals: string[];
} {
  // The conditional options widen parseArgs' inferred value types; each option's type is fixed.
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      set: { type: "string", multiple: true },
      seed: { type: "string" },
      backend: { type: "string" },
      ...(extra.out ? { out: { type: "string" as const } } : {}),
      ...(extra.resume ? { resume: { type: "boolean" as const, default: false } } : {}),
    },
  }) as ReturnType<typeof parseExperimentArgs>;
}
