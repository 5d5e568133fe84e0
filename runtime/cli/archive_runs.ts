/**
 * `deno task archive-runs [--from runs] [--to docs/runs]`: copies the record of every finished run
 * under `--from` (its `experiment.yaml`, `metrics.jsonl` and `env.json`, a few tens of kB; not its
 * checkpoints) to the same relative path under `--to`, so a results table stays reproducible from
 * committed files after the run directories are gone (`deno task results ... --runs docs/runs`).
 * Unfinished runs are left out and listed; an archived run is overwritten by a newer copy.
 *
 * @module
 */
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { readRunSummary } from "../report/results.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { runMain, UsageError } from "./experiment_file.ts";

/** The files of a run directory that a results table and its provenance need. */
export const ARCHIVED_FILES = ["experiment.yaml", "metrics.jsonl", "env.json"] as const;

const USAGE = "usage: deno task archive-runs [--from runs] [--to docs/runs]";
const RUN_DIR_NAME = /^[0-9a-f]{12}-s\d+$/;

/** Run directories (`<hash12>-s<seed>`) under `root`, at any depth, sorted. */
export async function findRunDirectories(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      const path = join(dir, entry.name);
      if (RUN_DIR_NAME.test(entry.name)) found.push(path);
      else await walk(path);
    }
  };
  await walk(root);
  return found.sort();
}

/** What {@link archiveRuns} copied and what it left out. */
export interface ArchiveReport {
  /** Archived run directories, relative to the source root. */
  archived: string[];
  /** Run directories left out because they have not finished, relative to the source root. */
  unfinished: string[];
}

/** Copies the record of every finished run under `from` to the same place under `to`. */
export async function archiveRuns(from: string, to: string): Promise<ArchiveReport> {
  const report: ArchiveReport = { archived: [], unfinished: [] };
  for (const dir of await findRunDirectories(from)) {
    const rel = relative(from, dir);
    const summary = await readRunSummary(dir, from);
    if (!summary.finished) {
      report.unfinished.push(rel);
      continue;
    }
    await Deno.mkdir(join(to, rel), { recursive: true });
    for (const name of ARCHIVED_FILES) {
      let content: Uint8Array;
      try {
        content = await Deno.readFile(join(dir, name));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound && name === "env.json") continue;
        throw error;
      }
      await writeFileAtomic(join(to, rel, name), content);
    }
    report.archived.push(rel);
  }
  return report;
}

/** Runs `archive-runs` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        from: { type: "string", default: "runs" },
        to: { type: "string", default: "docs/runs" },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  try {
    await Deno.stat(values.from);
  } catch {
    throw new UsageError(`--from ${values.from}: no such directory; it holds the runs to archive.`);
  }
  const report = await archiveRuns(values.from, values.to);
  for (const rel of report.archived) console.log(`archived ${join(values.to, rel)}`);
  if (report.unfinished.length > 0) {
    console.log(`left out (not finished): ${report.unfinished.join(", ")}`);
  }
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
