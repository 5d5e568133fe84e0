/**
 * Runs the command-line entry points in subprocesses with the same scoped permissions as the
 * `deno task` definitions, so tests exercise exactly what users run.
 *
 * @module
 */
import { denoCommand } from "../../runtime/cli/deno_command.ts";

/** Output of a finished command. */
export interface Finished {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Permissions of each command, as in deno.json's tasks (writes kept inside .cache for tests;
 * `tests/cli/permissions_test.ts` checks that the two agree).
 */
export const PERMISSIONS: Record<string, string[]> = {
  run: [
    "--no-prompt",
    "--allow-read=.",
    "--allow-write=./.cache",
    "--allow-env=UDA_GIT_STATUS,UDA_RUNS,UDA_WASM_THREADS",
    "--allow-run=deno",
  ],
  show: ["--no-prompt", "--allow-read=."],
  diff: [
    "--no-prompt",
    "--allow-read=.",
    "--allow-write=./.cache",
    "--allow-run=git,tar,deno",
  ],
  plan: ["--no-prompt", "--allow-read=."],
  eval: [
    "--no-prompt",
    "--allow-read=.",
    "--allow-write=./.cache",
    "--allow-env=UDA_WASM_THREADS",
    "--allow-run=deno",
  ],
  results: [
    "--no-prompt",
    "--allow-read=.",
    "--allow-write=./.cache",
    "--allow-env=UDA_RUNS",
    "--allow-run=deno",
  ],
  sweep: [
    "--quiet",
    "--no-prompt",
    "--allow-read=.",
    "--allow-write=./.cache",
    "--allow-run=deno,sbatch,squeue,sacct",
    "--allow-env=UDA_RUNS",
  ],
};

/**
 * The arguments of `deno run` for a command. With another working directory (`root` is then the
 * project's absolute path) the script is named by its absolute path; Deno itself is `deno` on PATH
 * either way (`runtime/cli/deno_command.ts`).
 */
export function commandArgs(name: string, args: string[], root = "."): string[] {
  return ["run", "--quiet", ...PERMISSIONS[name], `${root}/runtime/cli/${name}.ts`, ...args];
}

/** Runs a command to completion (in `cwd`, with `env` added to the environment). */
export async function cli(
  name: string,
  args: string[],
  cwd?: string,
  env?: Record<string, string>,
): Promise<Finished> {
  const root = cwd === undefined ? "." : Deno.cwd();
  const out = await new Deno.Command(denoCommand(), {
    args: commandArgs(name, args, root),
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts a command without waiting. */
export function spawn(name: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(denoCommand(), {
    args: commandArgs(name, args),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Waits for a spawned command and collects its output. */
export async function finish(child: Deno.ChildProcess): Promise<Finished> {
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs `deno task NAME ARGS` through deno.json, exactly as a user types it (`env` added). */
export async function task(
  name: string,
  args: string[],
  env?: Record<string, string>,
): Promise<Finished> {
  return await finish(
    new Deno.Command(denoCommand(), {
      args: ["task", "--quiet", name, ...args],
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
}

/** A spawned command whose standard error is read as it comes. */
export class Watched {
  #text = "";
  #done: Promise<void>;
  #waiters: { pattern: RegExp; resolve: () => void }[] = [];

  /** Starts reading `child`'s stderr (its stdout must be piped too, and is discarded). */
  constructor(readonly child: Deno.ChildProcess) {
    this.#done = this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.child.stderr) {
      this.#text += decoder.decode(chunk, { stream: true });
      this.#waiters = this.#waiters.filter((w) =>
        !(w.pattern.test(this.#text) && (w.resolve(), true))
      );
    }
    for (const w of this.#waiters) w.resolve();
  }

  /** Everything read from stderr so far. */
  get stderr(): string {
    return this.#text;
  }

  /** Resolves when stderr matches `pattern`, or the process closed stderr (exited). */
  until(pattern: RegExp): Promise<void> {
    if (pattern.test(this.#text)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ pattern, resolve }));
  }

  /** Waits for the exit; its code and everything it wrote to stderr. */
  async finish(): Promise<{ code: number; stderr: string }> {
    const status = await this.child.status;
    await this.#done;
    await this.child.stdout.cancel().catch(() => {});
    return { code: status.code, stderr: this.#text };
  }
}

/**
 * Runs `code` (with `args`) in a Deno that has every permission, for a test's set-up outside its
 * own scope (temporary folders, links, copies); returns its trimmed standard output.
 */
export async function privileged(code: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command(denoCommand(), {
    args: ["eval", "--quiet", code, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`privileged set-up failed: ${text(out.stderr)}`);
  return text(out.stdout).trim();
}
