/**
 * The git revision of the work tree, read from the repository's files without running git.
 *
 * The process that imports experiment files has no `--allow-run`: running git there would let an
 * experiment run anything through `git -c alias.x='!sh …' x`. So the commit is found by following
 * `.git/HEAD` to a loose ref or `packed-refs` (a worktree's or submodule's `.git` file, with
 * `gitdir:` and `commondir`, and a detached HEAD included), and whether the tree is dirty comes
 * from `git status`, run by the `deno task run` definition *before* Deno starts and handed over in
 * one environment variable ({@link GIT_STATUS_ENV}, parsed by {@link parseStatusSummary}).
 *
 * Reads are guarded by permission queries, so a repository outside the granted read scope gives
 * `undefined` instead of an interactive permission prompt.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";

/**
 * The environment variable the `run` task fills with the first lines of
 * `git status --porcelain=v2 --branch --untracked-files=no` (whitespace-joined by the task shell).
 */
export const GIT_STATUS_ENV = "UDA_GIT_STATUS";

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** True when reading `path` is granted; querying never prompts, unlike a read would. */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/** The file's text, or undefined when it is missing, unreadable or not granted. */
async function readText(path: string): Promise<string | undefined> {
  if (!mayRead(path)) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** The stat of `path`, or undefined when it is missing or not granted. */
async function statOf(path: string): Promise<Deno.FileInfo | undefined> {
  if (!mayRead(path)) return undefined;
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}

/** A repository's folders: `gitDir` holds HEAD, `commonDir` the shared refs (they differ in worktrees). */
export interface GitDirs {
  /** The folder with HEAD (`.git`, or `.git/worktrees/<name>` / `.git/modules/<name>`). */
  gitDir: string;
  /** The folder with `refs/` and `packed-refs` (`gitDir` unless it has a `commondir` file). */
  commonDir: string;
}

/**
 * Finds the repository of `workTree` the way git does: the nearest `.git` in it or a parent, a
 * folder or a file `gitdir: PATH` (worktrees, submodules), whose `commondir` names the shared folder.
 */
export async function findGitDirs(workTree = "."): Promise<GitDirs | undefined> {
  let folder = resolve(workTree);
  for (;;) {
    const dotGit = join(folder, ".git");
    const info = await statOf(dotGit);
    if (info?.isDirectory) return await withCommonDir(dotGit);
    if (info?.isFile) {
      const text = await readText(dotGit);
      const match = /^gitdir:\s*(.+?)\s*$/m.exec(text ?? "");
      return match ? await withCommonDir(resolve(folder, match[1])) : undefined;
    }
    const parent = dirname(folder);
    // A parent outside the read scope ends the search, as the root does.
    if (parent === folder || !mayRead(parent)) return undefined;
    folder = parent;
  }
}

async function withCommonDir(gitDir: string): Promise<GitDirs> {
  const common = (await readText(join(gitDir, "commondir")))?.trim();
  return { gitDir, commonDir: common ? resolve(gitDir, common) : gitDir };
}

/** The object id `packed-refs` gives `ref`, or undefined (peeled `^` lines and comments skipped). */
export function packedRef(packed: string, ref: string): string | undefined {
  for (const line of packed.split("\n")) {
    if (line.startsWith("#") || line.startsWith("^")) continue;
    const [id, name] = line.trim().split(" ");
    if (name === ref && OBJECT_ID.test(id)) return id;
  }
  return undefined;
}

/** Resolves `ref` (`HEAD`, `refs/heads/main`) to an object id, following symbolic refs. */
async function resolveRef(dirs: GitDirs, ref: string): Promise<string | undefined> {
  let name = ref;
  // git itself gives up after five levels of symbolic refs.
  for (let depth = 0; depth < 5; depth++) {
    // HEAD and per-worktree refs live in gitDir, branches and tags in commonDir.
    const loose = (await readText(join(dirs.gitDir, name))) ??
      (dirs.commonDir === dirs.gitDir ? undefined : await readText(join(dirs.commonDir, name)));
    const text = loose?.trim();
    if (text !== undefined && OBJECT_ID.test(text)) return text;
    const symbolic = text === undefined ? undefined : /^ref:\s*(\S+)$/.exec(text);
    if (symbolic) {
      name = symbolic[1];
      continue;
    }
    if (text !== undefined) return undefined;
    const packed = await readText(join(dirs.commonDir, "packed-refs"));
    return packed === undefined ? undefined : packedRef(packed, name);
  }
  return undefined;
}

/**
 * The commit `HEAD` of the repository holding `workTree` points at, read from its files; undefined
 * when there is no repository, it is outside the read scope, HEAD names a branch with no commit
 * yet, or the refs are in a format this reader does not know (reftable).
 */
export async function readHeadCommit(workTree = "."): Promise<string | undefined> {
  const dirs = await findGitDirs(workTree);
  return dirs === undefined ? undefined : await resolveRef(dirs, "HEAD");
}

/** What the `run` task's `git status` said: the commit it looked at and whether the tree differs. */
export interface StatusSummary {
  /** The commit (`# branch.oid`). */
  commit: string;
  /** True when tracked files differ from that commit (staged or not). */
  dirty: boolean;
}

/** How many values each `# branch.*` header of porcelain v2 has. */
const HEADER_VALUES: Record<string, number> = {
  "branch.oid": 1,
  "branch.head": 1,
  "branch.upstream": 1,
  "branch.ab": 2,
  // Printed when `status.showStash` is set in the user's git config.
  stash: 1,
};

/**
 * Parses the first lines of `git status --porcelain=v2 --branch --untracked-files=no`, newlines
 * possibly turned into spaces (the task shell's command substitution joins lines). Headers come
 * first; any entry after them means the tree is dirty. Empty text (git missing, not a repository)
 * or anything unexpected gives undefined, i.e. "unknown", never a guess of "clean".
 */
export function parseStatusSummary(text: string | undefined): StatusSummary | undefined {
  const tokens = (text ?? "").trim().split(/\s+/).filter((t) => t !== "");
  let commit: string | undefined;
  let i = 0;
  while (tokens[i] === "#") {
    const key = tokens[i + 1];
    const count = HEADER_VALUES[key];
    // A header this parser does not know: its value count is unknown, so is the rest.
    if (count === undefined || i + 2 + count > tokens.length) return undefined;
    if (key === "branch.oid") commit = tokens[i + 2];
    i += 2 + count;
  }
  if (commit === undefined || !OBJECT_ID.test(commit)) return undefined;
  // Entries of tracked files start with 1 (changed), 2 (renamed) or u (unmerged).
  if (i < tokens.length && !["1", "2", "u"].includes(tokens[i])) return undefined;
  return { commit, dirty: i < tokens.length };
}
