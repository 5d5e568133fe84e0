/**
 * The run directory (`runs/<experiment>/<hash12>-s<seed>/`): `experiment.yaml` (canonical),
 * `env.json` (versions, git revision, command of every session), `metrics.jsonl`, a TensorBoard
 * event file, `checkpoints/`, `report.md` with `plots/` and `pictures/`.
 *
 * `metrics.jsonl` and its TensorBoard mirror are written by `runtime/report/metrics_log.ts`.
 *
 * @module
 */
import { basename, join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { exists } from "../io/exists.ts";
import { GIT_STATUS_ENV, parseStatusSummary, readHeadCommit } from "../io/git_revision.ts";

/** The run directory of an experiment, seed and hash under `root`. */
export function runDirectory(root: string, experiment: string, hash: string, seed: number): string {
  return join(root, experiment, `${hash.slice(0, 12)}-s${seed}`);
}

/** A run directory's own name. */
const RUN_NAME = /^[0-9a-f]{12}-s\d+$/;

/** How deep under the runs root experiment names go (`gta2cs/ablations/x` is 3). */
const MAX_DEPTH = 6;

/**
 * The directory of the run (hash, seed) under `root`, shared by every command that names it:
 * {@link runDirectory} when it exists; else an existing `<root>/.../<hash12>-s<seed>` of another
 * name, since the hash is the experiment's definition and two files or a sweep's patch that
 * define the same experiment (`experiments/ablations/daformer_no_rcs.ts` and `daformer.ts` with
 * `--set data.sampling=off`) are one run (a finished one first, then the first by path); else
 * {@link runDirectory}, to be created. `run` checks on resuming that the directory's
 * `experiment.yaml` is this experiment.
 */
export async function findRunDirectory(
  root: string,
  experiment: string,
  hash: string,
  seed: number,
): Promise<string> {
  const preferred = runDirectory(root, experiment, hash, seed);
  if (await exists(preferred)) return preferred;
  const name = basename(preferred);
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return; // Missing or unreadable: nothing there to reuse.
    }
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.name === name) found.push(path);
      else if (!RUN_NAME.test(entry.name) && depth < MAX_DEPTH) await walk(path, depth + 1);
    }
  };
  await walk(root, 1);
  for (const dir of found) {
    if (await exists(join(dir, "weights.safetensors"))) return dir;
  }
  return found[0] ?? preferred;
}

/** What `env.json` records for each session of a run. */
export interface SessionInfo {
  /** ISO time the session started. */
  started: string;
  /** Iteration it started from. */
  fromIteration: number;
  /** The command line. */
  command: string[];
  /** Deno, V8, TypeScript versions. */
  deno: Record<string, string>;
  /** TensorFlow.js version and backend (with its compute threads where known). */
  tensorflow: Record<string, string | number>;
  /** The commit plus `-dirty` / `-tree-unknown`, or "unknown" (see {@link gitRevision}). */
  git: string;
}

/**
 * The project's git revision, found without running git (this process imports experiment files,
 * so it has no `--allow-run`): the commit is read from `.git`, and the tree state comes from the
 * `git status` the `run` task runs before Deno starts ({@link GIT_STATUS_ENV}). Gives `<commit>`
 * (clean), `<commit>-dirty`, `<commit>-tree-unknown` (started without the task, git missing, or
 * HEAD moved in between) or `unknown` (no repository readable).
 */
export async function gitRevision(): Promise<string> {
  const commit = await readHeadCommit(".");
  const status = parseStatusSummary(TASK_GIT_STATUS);
  // A repository outside the read scope (a worktree's gitdir) still has the task's answer.
  const revision = commit ?? status?.commit;
  if (revision === undefined) return "unknown";
  // The dirty flag describes the commit git looked at; for another one it says nothing.
  if (status === undefined || status.commit !== revision) return `${revision}-tree-unknown`;
  return revision + (status.dirty ? "-dirty" : "");
}

/** The task's `git status` summary, when the environment variable is granted (never prompts). */
function taskGitStatus(): string | undefined {
  const permission = Deno.permissions.querySync({ name: "env", variable: GIT_STATUS_ENV });
  return permission.state === "granted" ? Deno.env.get(GIT_STATUS_ENV) : undefined;
}

// Read when this module loads, before any experiment file is imported: an experiment may set the
// variable (the env grant includes writes) but cannot change what was read before it ran.
const TASK_GIT_STATUS = taskGitStatus();

/** Appends this session to `env.json`. */
export async function recordSession(runDir: string, session: SessionInfo): Promise<void> {
  const path = join(runDir, "env.json");
  let sessions: SessionInfo[] = [];
  try {
    sessions = JSON.parse(await Deno.readTextFile(path)).sessions ?? [];
  } catch {
    // First session.
  }
  sessions.push(session);
  await writeFileAtomic(path, JSON.stringify({ sessions }, null, 2) + "\n");
}
