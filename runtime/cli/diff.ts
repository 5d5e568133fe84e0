/**
 * `deno task diff A.ts B.ts` and `deno task diff EXP.ts --rev GITREV`: the semantic difference of
 * two experiments after inheritance and defaults, one line per changed path. Exit code 0 when
 * equal, 1 when different (like `diff`), 2 on errors.
 *
 * For `--rev`, the whole tree of that revision is extracted (`git archive`) under
 * `.cache/rev/<commit>/` and the file is imported from there with that revision's own `dsl/`,
 * so a changed default shows up as a change.
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

async function git(args: string[]): Promise<Deno.CommandOutput> {
  try {
    return await new Deno.Command("git", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new UsageError(`--rev needs git: ${(error as Error).message}`);
  }
}

/** Extracts the tree of `rev` once and returns its folder. */
async function checkoutRevision(rev: string): Promise<string> {
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

/** Runs `diff` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { rev: { type: "string" }, set: { type: "string", multiple: true } },
  });
  let before: unknown;
  let after: unknown;
  if (values.rev !== undefined) {
    if (positionals.length !== 1) {
      throw new UsageError("usage: deno task diff EXP.ts --rev GITREV");
    }
    const folder = await checkoutRevision(values.rev);
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
