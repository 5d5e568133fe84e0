/**
 * Checks that a directory `run` is about to write lies, after resolving symlinks, inside the
 * project's `runs/` or `.cache/`, or inside a write scope granted for the directory as the user
 * named it (`--out /scratch/me/x`, which `run` grants by re-executing itself, see `scope.ts`).
 * Deno's `--allow-write=./runs,./.cache` compares the path as written, so `--out .cache/link/x`
 * with `.cache/link → /elsewhere` would pass it and write to `/elsewhere/x`; resolving first
 * closes that gap. Inside a granted scope the same holds: no link in it may lead out of it, while
 * links above it (a cluster's `/scratch → /lustre/scratch`) are the user's own naming.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { UsageError } from "./experiment_file.ts";

/** The folders of the project `run` writes into (the scope the `run` task grants). */
export const WRITE_ROOTS = ["runs", ".cache"] as const;

/** True when `path` may be read; a query never prompts, an unguarded read might. */
function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    // A file where a folder should be: nothing below it exists (creating it fails later).
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/** Where a path leads, and whether every symlink on the way could be resolved. */
export interface RealTarget {
  /** The absolute path with the symlinks that could be read resolved. */
  path: string;
  /**
   * False when a folder on the way may not be read (the rest is appended as written), or a link
   * chain is too long: then `path` is only the best known answer.
   */
  complete: boolean;
}

/**
 * Where writing `path` would really land: the real path of its deepest existing ancestor with the
 * rest appended. A dangling symlink on the way is followed to its target (a recursive mkdir would
 * create that target).
 */
export async function realTarget(path: string): Promise<RealTarget> {
  let current = resolve(path);
  let rest: string[] = [];
  // Bounded like the kernel's symlink limit, so a link cycle ends.
  for (let links = 0; links < 40;) {
    if (!mayRead(current)) return { path: join(current, ...rest), complete: false };
    let info: Deno.FileInfo | undefined;
    try {
      info = await lstatOrUndefined(current);
    } catch (error) {
      // Deno keeps some paths (/proc, /dev) for --allow-all; the OS may refuse a folder.
      if (
        !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
      ) {
        throw error;
      }
      return { path: join(current, ...rest), complete: false };
    }
    if (info === undefined) {
      const parent = dirname(current);
      if (parent === current) return { path: join(current, ...rest), complete: true };
      rest = [basename(current), ...rest];
      current = parent;
      continue;
    }
    try {
      return { path: join(await Deno.realPath(current), ...rest), complete: true };
    } catch (error) {
      if (!(info.isSymlink && error instanceof Deno.errors.NotFound)) throw error;
      // Dangling: continue from what it points at.
      current = resolve(dirname(current), await Deno.readLink(current));
      links++;
    }
  }
  return { path: join(current, ...rest), complete: false };
}

/** True when `path` is `folder` or inside it (both absolute and resolved). */
function inside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** True when this process may write `path` (a query never prompts). */
function mayWrite(path: string): boolean {
  return Deno.permissions.querySync({ name: "write", path }).state === "granted";
}

/**
 * The widest folder on the way to `path` (absolute, as written) that this process may write: the
 * write scope that covers it, or undefined when none does.
 */
export function grantedScope(path: string): string | undefined {
  let scope: string | undefined;
  for (let current = path; mayWrite(current); current = dirname(current)) {
    scope = current;
    if (dirname(current) === current) break;
  }
  return scope;
}

/**
 * True when writing `dir` stays inside the write scope granted for it as written: the scope does
 * not exist yet (so nothing in it can be a link), or `dir` resolves inside the scope's real path.
 */
async function insideGrantedScope(dir: string): Promise<boolean> {
  const scope = grantedScope(resolve(dir));
  if (scope === undefined || !mayRead(scope)) return false;
  const info = await lstatOrUndefined(scope).catch(() => null);
  if (info === null) return false;
  if (info === undefined) return true;
  const [real, target] = [await realTarget(scope), await realTarget(dir)];
  return real.complete && target.complete && inside(target.path, real.path);
}

/** True when {@link assertWritable} would accept `dir`. */
export async function isWritable(dir: string): Promise<boolean> {
  const target = await realTarget(dir);
  for (const root of WRITE_ROOTS) {
    if (target.complete && inside(target.path, (await realTarget(root)).path)) return true;
  }
  return await insideGrantedScope(dir);
}

/**
 * Throws a UsageError (exit 2) unless `dir` really lies inside the real path of `runs/` or
 * `.cache/` of the project (the working directory), or inside a write scope granted for the path
 * as written with no link in the scope leading out of it (a `deno run` with its own
 * `--allow-write`, or `run` re-executed for an `--out` outside the project). `flag` names where
 * the path came from.
 */
export async function assertWritable(dir: string, flag: string): Promise<void> {
  if (await isWritable(dir)) return;
  const target = await realTarget(dir);
  const roots: string[] = [];
  for (const root of WRITE_ROOTS) roots.push((await realTarget(root)).path);
  const notes = [
    ...(target.path === resolve(dir) ? [] : ["through a symlink on the way"]),
    ...(target.complete ? [] : ["not readable here, so not followed further"]),
  ];
  const note = notes.length === 0 ? "" : ` (${notes.join("; ")})`;
  const scope = grantedScope(resolve(dir));
  const inProject = WRITE_ROOTS.some((root) => inside(resolve(dir), resolve(root)));
  if (scope !== undefined && !inProject) {
    // Granted as named (`run` re-executed itself for it), yet where it leads could not be checked.
    throw new UsageError(
      `${flag} ${dir} resolves to ${target.path}${note}, which leaves ${scope}, the directory ` +
        `granted for it, or cannot be checked (Deno keeps /proc, /dev and /sys for ` +
        `--allow-all; the system may refuse to read a folder). Nothing was written. Name a ` +
        `directory this user may read and write, with no symlink inside it leading out.`,
    );
  }
  throw new UsageError(
    `${flag} ${dir} resolves to ${target.path}${note}, outside the folders \`run\` ` +
      `may write: ${roots.join(" and ")} (the real paths of the project's runs/ and .cache/). ` +
      `Nothing was written. Give a directory under runs/ or .cache/ that no symlink leads out ` +
      `of, or name the real directory itself (${flag === "--out" ? "--out " : ""}` +
      `${target.path}): \`deno task run\` then adds exactly that directory to its write scope.`,
  );
}

/**
 * Checks that `dir` can be made and written: creates it (with its parents) and a file in it, then
 * removes what it created, so a run that fails validation later leaves no directory behind. A
 * folder the operating system refuses (permissions, a read-only file system, a file where a folder
 * of the path should be) is a UsageError (exit 2) before anything is trained, not a failure
 * halfway.
 */
export async function assertCreatable(dir: string, flag: string): Promise<void> {
  const created: string[] = [];
  for (let d = resolve(dir); dirname(d) !== d; d = dirname(d)) {
    if ((await lstatOrUndefined(d).catch(() => null)) !== undefined) break;
    created.push(d);
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-test-${crypto.randomUUID()}`);
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
  } catch (error) {
    throw new UsageError(
      `${flag} ${dir}: cannot write there (${(error as Error).message}). Nothing was trained. ` +
        `Give a directory this user may create files in: check its permissions, that its file ` +
        `system is not mounted read-only, and that no file stands where a folder of the path ` +
        `should be.`,
    );
  } finally {
    for (const d of created) await Deno.remove(d).catch(() => {});
  }
}
