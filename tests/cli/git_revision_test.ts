/**
 * The git revision read from `.git` without running git (`runtime/io/git_revision.ts`), checked
 * against `git rev-parse` on repositories git itself laid out: loose and packed refs, a detached
 * HEAD, a worktree's `.git` file; and the `run` task's `git status` summary.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  findGitDirs,
  packedRef,
  parseStatusSummary,
  readHeadCommit,
} from "../../runtime/io/git_revision.ts";

const ROOT = ".cache/test-git";

async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** A repository with two commits on `main`, under a fresh `ROOT/name`. */
async function repository(name: string): Promise<string> {
  const dir = join(ROOT, name);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  for (const text of ["one", "two"]) {
    await Deno.writeTextFile(join(dir, "file.txt"), text);
    await git(dir, "add", "file.txt");
    await git(dir, "commit", "-q", "-m", text);
  }
  return dir;
}

Deno.test("the commit of a branch in loose refs, then in packed-refs only", async () => {
  const dir = await repository("packed");
  assert.equal(await readHeadCommit(dir), await git(dir, "rev-parse", "HEAD"));
  await git(dir, "pack-refs", "--all", "--prune");
  assert.equal(await Deno.stat(join(dir, ".git/refs/heads/main")).catch(() => "gone"), "gone");
  assert.equal(await readHeadCommit(dir), await git(dir, "rev-parse", "HEAD"));
});

Deno.test("a detached HEAD and a subfolder of the work tree", async () => {
  const dir = await repository("detached");
  await git(dir, "checkout", "-q", "--detach", "HEAD~1");
  const expected = await git(dir, "rev-parse", "HEAD");
  assert.equal(await readHeadCommit(dir), expected);
  await Deno.mkdir(join(dir, "sub", "deeper"), { recursive: true });
  assert.equal(await readHeadCommit(join(dir, "sub", "deeper")), expected);
});

Deno.test("a worktree: `.git` is a file naming its gitdir, refs come from the common dir", async () => {
  const dir = await repository("main-tree");
  const worktree = join(ROOT, "worktree");
  await Deno.remove(worktree, { recursive: true }).catch(() => {});
  await git(dir, "worktree", "prune");
  await git(dir, "worktree", "add", "-q", "-b", "feature", "../worktree", "HEAD~1");
  await git(dir, "pack-refs", "--all", "--prune");
  assert.ok((await Deno.stat(join(worktree, ".git"))).isFile);
  const dirs = await findGitDirs(worktree);
  assert.ok(dirs !== undefined && dirs.gitDir !== dirs.commonDir);
  assert.equal(await readHeadCommit(worktree), await git(worktree, "rev-parse", "HEAD"));
  assert.notEqual(await readHeadCommit(worktree), await readHeadCommit(dir));
});

Deno.test("a branch with no commit yet has no revision", async () => {
  const dir = join(ROOT, "unborn");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  assert.equal(await readHeadCommit(dir), undefined);
});

Deno.test("the project's own revision equals git rev-parse HEAD", async () => {
  assert.equal(await readHeadCommit("."), await git(".", "rev-parse", "HEAD"));
});

Deno.test("packed-refs: comments and peeled tag lines are skipped", () => {
  const a = "a".repeat(40);
  const b = "b".repeat(40);
  const packed = `# pack-refs with: peeled fully-peeled sorted\n${a} refs/tags/v1\n^${b}\n` +
    `${b} refs/heads/main\n`;
  assert.equal(packedRef(packed, "refs/heads/main"), b);
  assert.equal(packedRef(packed, "refs/tags/v1"), a);
  assert.equal(packedRef(packed, "refs/heads/other"), undefined);
});

Deno.test("the task's git status summary: clean, dirty, unknown", () => {
  const oid = "0123456789abcdef0123456789abcdef01234567";
  const clean = `# branch.oid ${oid}\n# branch.head main\n`;
  assert.deepEqual(parseStatusSummary(clean), { commit: oid, dirty: false });
  // The task shell joins the lines of a command substitution with spaces.
  const upstream = `# branch.oid ${oid} # branch.head main # branch.upstream origin/main ` +
    `# branch.ab +1 -0`;
  assert.deepEqual(parseStatusSummary(upstream), { commit: oid, dirty: false });
  const dirty = `${clean}1 .M N... 100644 100644 100644 ${oid} ${oid} runtime/cli/run.ts\n`;
  assert.deepEqual(parseStatusSummary(dirty), { commit: oid, dirty: true });
  assert.deepEqual(parseStatusSummary(dirty.replaceAll("\n", " ")), { commit: oid, dirty: true });
  assert.equal(parseStatusSummary(""), undefined, "git missing or not a repository");
  assert.equal(parseStatusSummary(undefined), undefined, "started without the task");
  assert.equal(parseStatusSummary("# branch.oid (initial) # branch.head main"), undefined);
  assert.equal(parseStatusSummary(`# branch.oid ${oid} # branch.new x y`), undefined);
  assert.equal(parseStatusSummary(`M file.txt`), undefined, "not porcelain v2");
});

Deno.test("the summary of a real repository, clean and then dirty", async () => {
  const dir = await repository("status");
  const status = () => git(dir, "status", "--porcelain=v2", "--branch", "--untracked-files=no");
  const head = await git(dir, "rev-parse", "HEAD");
  assert.deepEqual(parseStatusSummary(await status()), { commit: head, dirty: false });
  await Deno.writeTextFile(join(dir, "untracked.txt"), "ignored by --untracked-files=no");
  assert.deepEqual(parseStatusSummary(await status()), { commit: head, dirty: false });
  await Deno.writeTextFile(join(dir, "file.txt"), "changed");
  assert.deepEqual(parseStatusSummary(await status()), { commit: head, dirty: true });
});
