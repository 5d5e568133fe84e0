/**
 * Runs the command-line entry points in subprocesses with the same scoped permissions as the
 * `deno task` definitions, so tests exercise exactly what users run.
 *
 * @module
 */

/** Output of a finished command. */
export interface Finished {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Permissions of each command, as in deno.json's tasks (writes kept inside .cache for tests). */
export const PERMISSIONS: Record<string, string[]> = {
  run: ["--allow-read=.", "--allow-write=./.cache", "--allow-run=git"],
  show: ["--allow-read=."],
  diff: ["--allow-read=.", "--allow-write=./.cache", "--allow-run=git,tar"],
  plan: ["--allow-read=."],
  eval: ["--allow-read=.", "--allow-write=./.cache"],
  results: ["--allow-read=.", "--allow-write=./.cache"],
};

/** The arguments of `deno run` for a command. */
export function commandArgs(name: string, args: string[], root = "."): string[] {
  return ["run", "--quiet", ...PERMISSIONS[name], `${root}/runtime/cli/${name}.ts`, ...args];
}

/** Runs a command to completion. */
export async function cli(name: string, args: string[], cwd?: string): Promise<Finished> {
  const root = cwd === undefined ? "." : Deno.cwd();
  const out = await new Deno.Command(Deno.execPath(), {
    args: commandArgs(name, args, root),
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts a command without waiting. */
export function spawn(name: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
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
