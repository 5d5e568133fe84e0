/**
 * `deno task diff A.ts B.ts` and `deno task diff EXP.ts --rev GITREV`: the semantic difference of
 * two experiments after inheritance and defaults, one line per changed path. Exit code 0 when
 * equal, 1 when different (like `diff`), 2 on errors.
 *
 * For `--rev`, the whole tree of that revision is extracted (`git archive`) under
 * `.cache/rev/<commit>/` and the file is imported from there with that revision's own `dsl/`,
 * so a changed default shows up as a change.
 *
 * This process may run git and tar, so it never imports an experiment file: an experiment could
 * otherwise run anything through `git -c alias.x='!sh …' x`. It extracts the revision and then
 * starts `diff_worker.ts`, which imports the files with read permission only.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exists } from "../io/exists.ts";
import { runMain, UsageError } from "./experiment_file.ts";
import { denoCommand } from "./deno_command.ts";

/** The half of `diff` that imports experiment files. */
const WORKER = fileURLToPath(new URL("./diff_worker.ts", import.meta.url));

/** The worker's permissions: reading the project, nothing else. */
export const WORKER_PERMISSIONS = ["--allow-read=."];

async function git(args: string[]): Promise<Deno.CommandOutput> {
  try {
    return await new Deno.Command("git", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new UsageError(`--rev needs git: ${(error as Error).message}`);
  }
}

/** Extracts the tree of `rev` once and returns its folder. */
async function checkoutRevision(rev: string): Promise<string> {
  // A leading dash would be read by git as an option, not a revision.
  if (rev.startsWith("-")) throw new UsageError(`--rev ${rev}: not a commit of this repository.`);
  const parsed = await git(["rev-parse", "--verify", `${rev}^{commit}`]);
  if (!parsed.success) {
    throw new UsageError(`--rev ${rev}: not a commit of this repository.`);
  }
  const commit = new TextDecoder().decode(parsed.stdout).trim();
  const folder = join(".cache", "rev", commit);
  if (await exists(join(folder, ".complete"))) return folder;
  await Deno.mkdir(folder, { recursive: true });
  const archive = await git(["archive", "--format=tar", commit]);
  if (!archive.success) {
    throw new UsageError(
      `git archive ${commit} failed: ${new TextDecoder().decode(archive.stderr)}`,
    );
  }
  const tar = new Deno.Command("tar", { args: ["-x", "-C", folder], stdin: "piped" }).spawn();
  const writer = tar.stdin.getWriter();
  await writer.write(archive.stdout);
  await writer.close();
  if (!(await tar.status).success) throw new UsageError(`extracting ${commit} failed`);
  await Deno.writeTextFile(join(folder, ".complete"), "");
  return folder;
}

/** Runs the worker with `args` and returns its exit code. */
async function runWorker(args: string[]): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(denoCommand(), {
      args: ["run", "--no-prompt", ...WORKER_PERMISSIONS, WORKER, ...args],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    throw new UsageError(
      `diff starts ${denoCommand()} to import the experiment files without this process's ` +
        `permissions, and could not: ${(error as Error).message}. Run it as \`deno task diff\`.`,
    );
  }
  return (await child.status).code;
}

/** Runs `diff` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { rev: { type: "string" }, set: { type: "string", multiple: true } },
  });
  if (values.rev === undefined) return await runWorker(args);
  if (positionals.length !== 1) {
    throw new UsageError("usage: deno task diff EXP.ts --rev GITREV");
  }
  return await runWorker([...args, "--rev-tree", await checkoutRevision(values.rev)]);
}

if (import.meta.main) await runMain(() => main(Deno.args));
