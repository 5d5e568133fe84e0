/**
 * Keeping a run directory whole across kills: partial `*.tmp` files a kill left behind are
 * removed when the next session starts; a damaged newest checkpoint (truncated by a full disk or
 * a copy) is set aside and the run resumes from the newest intact one; a finished run whose
 * exported weights, report, plots, pictures or checkpoint pruning are missing gets them on the
 * next run instead of "already finished" pointing at files that do not exist.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../io/exists.ts";
import { type Checkpoint, checkpointPath, listCheckpoints, readCheckpoint } from "./checkpoint.ts";

/** Removes the `*.tmp` files of interrupted atomic writes; returns their paths. */
export async function removePartialFiles(runDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [runDir, ...["checkpoints", "plots", "pictures"].map((d) => join(runDir, d))]) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isFile && entry.name.endsWith(".tmp")) {
        await Deno.remove(join(dir, entry.name));
        removed.push(join(dir, entry.name));
      }
    }
  }
  return removed;
}

/**
 * The newest checkpoint that reads back whole. A damaged one is renamed to `*.damaged` (kept,
 * not deleted: nothing is lost) with a one-line notice naming it, and the next older is tried.
 */
export async function newestIntactCheckpoint(
  runDir: string,
  write: (text: string) => void,
): Promise<Checkpoint | undefined> {
  const saved = await listCheckpoints(runDir);
  for (let k = saved.length - 1; k >= 0; k--) {
    const path = checkpointPath(runDir, saved[k]);
    try {
      return await readCheckpoint(path);
    } catch (error) {
      // The reason only: the reader's advice on re-exporting PyTorch weights does not apply.
      const message = (error as Error).message.split("\n")[0].replace(`${path}: `, "")
        .split(" Re-export")[0].replace(/\.$/, "");
      await Deno.rename(path, `${path}.damaged`);
      const older = k > 0 ? `iteration ${saved[k - 1]}` : "the start (no intact checkpoint)";
      write(
        `notice: ${path} is damaged (${message}); kept as ${path}.damaged, resuming from ` +
          `${older}\n`,
      );
    }
  }
  return undefined;
}

/** Deletes all but the newest `keep` checkpoints (a kill between a save and its pruning). */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<number[]> {
  const all = await listCheckpoints(runDir);
  const old = all.slice(0, Math.max(0, all.length - keep));
  for (const iteration of old) await Deno.remove(checkpointPath(runDir, iteration));
  return old;
}

/**
 * Which outputs of a finished run are missing: the exported weights, and the report — `report.md`,
 * its plots, and every picture `report.md` links to.
 */
export async function missingOutputs(
  runDir: string,
  weights: string,
): Promise<{ weights: boolean; report: boolean }> {
  const has = (f: string) => exists(join(runDir, f));
  let report = !(await has("report.md"));
  if (!report) {
    const text = await Deno.readTextFile(join(runDir, "report.md"));
    const linked = [...text.matchAll(/\]\(((?:plots|pictures)\/[^)]+)\)/g)].map((m) => m[1]);
    for (const f of linked) if (!(await has(f))) report = true;
  }
  return { weights: !(await has(weights)), report };
}
