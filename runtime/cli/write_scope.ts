/**
 * Checks that a directory `run` is about to write lies, after resolving symlinks, inside the
 * project's `runs/` or `.cache/`. Deno's `--allow-write=./runs,./.cache` compares the path as
 * written, so `--out .cache/link/x` with `.cache/link → /elsewhere` would pass it and write to
 * `/elsewhere/x`; resolving first closes that gap.
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
    if (error instanceof Deno.errors.NotFound) return undefined;
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
    const info = await lstatOrUndefined(current);
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

/**
 * Throws a UsageError (exit 2) unless `dir` really lies inside the real path of `runs/` or
 * `.cache/` of the project (the working directory), or inside a write scope granted for its real
 * path (a `deno run` with its own `--allow-write`). `flag` names where the path came from.
 */
export async function assertWritable(dir: string, flag: string): Promise<void> {
  const target = await realTarget(dir);
  const roots: string[] = [];
  for (const root of WRITE_ROOTS) roots.push((await realTarget(root)).path);
  // Only a fully resolved target can be trusted to stay where it is; anything else is refused.
  if (target.complete && roots.some((root) => inside(target.path, root))) return;
  // Granted for the resolved path itself (no symlink left to redirect it): the user's own grant.
  const granted = Deno.permissions.querySync({ name: "write", path: target.path }).state;
  if (target.complete && granted === "granted") return;
  const notes = [
    ...(target.path === resolve(dir) ? [] : ["through a symlink on the way"]),
    ...(target.complete ? [] : ["not readable here, so not followed further"]),
  ];
  const note = notes.length === 0 ? "" : ` (${notes.join("; ")})`;
  throw new UsageError(
    `${flag} ${dir} resolves to ${target.path}${note}, outside the folders \`run\` ` +
      `may write: ${roots.join(" and ")} (the real paths of the project's runs/ and .cache/). ` +
      `Nothing was written. Give a directory under runs/ or .cache/ that no symlink leads out ` +
      `of, or start \`deno run\` yourself with an --allow-write that covers ${target.path}.`,
  );
}
