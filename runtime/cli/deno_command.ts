/**
 * How a command starts Deno in a child process (the sweep's runs and expansion worker, `diff`'s
 * worker, `run` re-executing itself with a wider write scope, the tests).
 *
 * The tasks grant `--allow-run=deno`, which Deno resolves on PATH when it starts: inside
 * `deno task` that is npm's `node_modules/.bin/deno` when `npm install` made one (the task runner
 * puts that folder first), else the Deno the user installed. Starting the child as `deno` matches
 * that grant exactly, so no task names where npm put the binary. A process whose own executable
 * may be started (`deno run -A`, or an `--allow-run` naming it) starts that instead.
 *
 * @module
 */

/**
 * The command that starts Deno: this executable when any program may be run (`-A`), `deno` when
 * that name may be, else this executable again (whose start then fails with Deno's permission
 * error, which callers report).
 */
export function denoCommand(): string {
  const granted = (descriptor: Deno.RunPermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  if (granted({ name: "run" })) return Deno.execPath();
  if (granted({ name: "run", command: "deno" })) return "deno";
  return Deno.execPath();
}
