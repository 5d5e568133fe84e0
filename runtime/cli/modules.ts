/**
 * `deno task modules`, the dependency of every task: exits 0 when `node_modules/` holds each
 * package of `package.json`'s `dependencies` at its pinned version (whether `npm install` or
 * `deno install` put it there), and otherwise 1 after saying what is missing. The task then runs
 * `deno install`, so on a machine with Deno and no Node.js the first `deno task ...` installs the
 * npm packages itself; with `npm install` (or the README's `npm` commands) it never does.
 *
 * After `deno install` the task removes `node_modules/.bin/deno`: Deno's installer links the npm
 * `deno` package's Node.js shim (`bin.cjs`) there, and the task runner would then run that file
 * for `deno` (needing Node.js, and passing signals through a process that drops them) instead of
 * the Deno it is itself.
 *
 * Reads `package.json` and `node_modules/` only (`--allow-read=.`).
 *
 * @module
 */
import { join } from "node:path";

/** A package that is missing or at another version than `package.json` pins. */
export interface MissingPackage {
  /** npm name. */
  name: string;
  /** The version `package.json` asks for. */
  wanted: string;
  /** The installed version, or undefined when it is not installed. */
  found?: string;
}

/** The `dependencies` of the `package.json` in `root` that `node_modules/` lacks. */
export async function missingPackages(root = "."): Promise<MissingPackage[]> {
  const manifest = JSON.parse(await Deno.readTextFile(join(root, "package.json")));
  const missing: MissingPackage[] = [];
  for (const [name, wanted] of Object.entries(manifest.dependencies ?? {})) {
    let found: string | undefined;
    try {
      const path = join(root, "node_modules", name, "package.json");
      found = JSON.parse(await Deno.readTextFile(path)).version;
    } catch {
      found = undefined;
    }
    if (found !== wanted) missing.push({ name, wanted: String(wanted), found });
  }
  return missing;
}

if (import.meta.main) {
  const missing = await missingPackages();
  if (missing.length > 0) {
    const list = missing.map((m) =>
      `${m.name}@${m.wanted}${m.found === undefined ? "" : ` (found ${m.found})`}`
    );
    console.error(
      `node_modules/ lacks ${list.join(", ")}; installing the npm packages with deno install`,
    );
    Deno.exit(1);
  }
}
