/**
 * Outputs anywhere, with scoped permissions. The tasks may write only inside the project
 * (`./runs`, `./.cache`); a directory the user names elsewhere (`run --out DIR`, `UDA_RUNS=DIR`
 * for a cluster's scratch file system, `sweep --runs-root DIR`) is granted by the command starting
 * itself again, the same script with the same arguments, with exactly that directory added to its
 * `--allow-read` and `--allow-write`. The child never gets more than the parent had (each scope of
 * the command's table is passed on only when the parent holds it) and never `--allow-run`, so it
 * cannot widen its scope again.
 *
 * `results` and `eval` read run directories the user names (and `results` the `UDA_RUNS` root):
 * those outside the project are added to the child's `--allow-read` only.
 *
 * `run` and `results` import experiment files, which are code, so they hold `--allow-run=deno`
 * only until they have decided: they re-execute themselves, or revoke that permission before the
 * first import ({@link revokeRun}).
 *
 * @module
 */
import { resolve } from "node:path";
import { denoCommand } from "./deno_command.ts";
import { UsageError } from "./experiment_file.ts";
import { WASM_THREADS_ENV } from "../backend/thread_share.ts";

/** The environment variable naming where runs go instead of the project's `runs/`. */
export const RUNS_ENV = "UDA_RUNS";

/** A command's permissions, as its task grants them (less `--allow-run`). */
export interface CommandScope {
  /** `--allow-read` paths. */
  read: readonly string[];
  /** `--allow-write` paths. */
  write: readonly string[];
  /** `--allow-env` variables. */
  env: readonly string[];
  /** Other flags passed through (`--no-prompt`, `--quiet`). */
  flags: readonly string[];
}

/**
 * The runs root: `UDA_RUNS` when it is set (and may be read), else `runs`. A query, so reading it
 * never prompts.
 */
export function defaultRunsRoot(): string {
  const permission = Deno.permissions.querySync({ name: "env", variable: RUNS_ENV });
  const value = permission.state === "granted" ? Deno.env.get(RUNS_ENV) : undefined;
  return value === undefined || value === "" ? "runs" : value;
}

/**
 * `run`'s permissions as its task grants them, less `--allow-run=deno` (which it has only to start
 * itself again); `tests/cli/permissions_test.ts` keeps the two in step.
 */
export const RUN_SCOPE: CommandScope = {
  read: ["."],
  write: ["./runs", "./.cache"],
  env: ["UDA_GIT_STATUS", RUNS_ENV, WASM_THREADS_ENV],
  flags: ["--no-prompt"],
};

/**
 * `sweep`'s permissions as its task grants them, less `--allow-run` (the child is given the
 * programs back: the sweep starts `deno task run`, sbatch, squeue and sacct).
 */
export const SWEEP_SCOPE: CommandScope = {
  read: ["."],
  write: ["./runs", "./docs", "./.cache"],
  env: [RUNS_ENV],
  flags: ["--quiet", "--no-prompt", "--allow-run=deno,sbatch,squeue,sacct"],
};

/** `results`' permissions as its task grants them, less `--allow-run=deno`. */
export const RESULTS_SCOPE: CommandScope = {
  read: ["."],
  write: ["./docs", "./.cache"],
  env: [RUNS_ENV],
  flags: ["--no-prompt"],
};

/** `eval`'s permissions as its task grants them, less `--allow-run=deno`. */
export const EVAL_SCOPE: CommandScope = {
  read: ["."],
  write: ["./runs", "./.cache"],
  env: [WASM_THREADS_ENV],
  flags: ["--no-prompt"],
};

/** The paths of `paths` this process may not read (a query: it never prompts). */
export function unreadable(paths: readonly string[]): string[] {
  return paths.filter((path) =>
    Deno.permissions.querySync({ name: "read", path }).state !== "granted"
  );
}

/** Whether this process may start Deno to re-execute itself. */
export function mayReexecute(): boolean {
  return Deno.permissions.querySync({ name: "run", command: denoCommand() }).state === "granted";
}

/** Drops the permission to start programs; later imports (experiment files) never have it. */
export function revokeRun(): void {
  Deno.permissions.revokeSync({ name: "run" });
}

/**
 * The flags of the child: the scopes of `scope` this process holds, plus `dirs` to read and
 * write, plus `readOnly` to read.
 */
export function childFlags(
  scope: CommandScope,
  dirs: readonly string[],
  readOnly: readonly string[] = [],
): string[] {
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  const absolute = dirs.map((d) => resolve(d));
  const readable = readOnly.map((d) => resolve(d));
  for (const dir of [...absolute, ...readable]) {
    if (dir.includes(",")) {
      throw new UsageError(
        `${dir}: a directory outside the project is granted by naming it in --allow-write, ` +
          `where a comma separates paths; choose a path without a comma.`,
      );
    }
  }
  const read = [
    ...scope.read.filter((p) => granted({ name: "read", path: p })),
    ...absolute,
    ...readable,
  ];
  const write = [...scope.write.filter((p) => granted({ name: "write", path: p })), ...absolute];
  const env = scope.env.filter((variable) => granted({ name: "env", variable }));
  return [
    ...scope.flags,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${write.join(",")}`,
    ...(env.length === 0 ? [] : [`--allow-env=${env.join(",")}`]),
  ];
}

/**
 * Runs `script` again with `args`, its permissions {@link childFlags}, standard streams shared and
 * SIGINT, SIGTERM and SIGHUP passed on; returns the child's exit code.
 */
export async function reexecute(
  script: string,
  args: readonly string[],
  scope: CommandScope,
  dirs: readonly string[],
  readOnly: readonly string[] = [],
): Promise<number> {
  const child = new Deno.Command(denoCommand(), {
    args: ["run", ...childFlags(scope, dirs, readOnly), script, ...args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const forward = signals.map((signal) => {
    const handler = () => {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  const status = await child.status;
  for (const remove of forward) remove();
  // Deno reports a child ended by a signal as 128 + the signal's number, as a shell does.
  return status.code;
}
