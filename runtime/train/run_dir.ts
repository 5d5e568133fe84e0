/**
 * The run directory (`runs/<experiment>/<hash12>-s<seed>/`): `experiment.yaml` (canonical),
 * `env.json` (versions, git revision, command of every session), `metrics.jsonl`, a TensorBoard
 * event file, `checkpoints/`, `report.md` with `plots/` and `pictures/`.
 *
 * `metrics.jsonl` and its TensorBoard mirror are written by `runtime/report/metrics_log.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";

/** The run directory of an experiment, seed and hash under `root`. */
export function runDirectory(root: string, experiment: string, hash: string, seed: number): string {
  return join(root, experiment, `${hash.slice(0, 12)}-s${seed}`);
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
  /** TensorFlow.js version and backend. */
  tensorflow: Record<string, string>;
  /** `git rev-parse HEAD` plus `-dirty` when the tree has changes, or "unknown". */
  git: string;
}

/** The project's git revision, or "unknown" when git is not allowed or not there. */
export async function gitRevision(): Promise<string> {
  try {
    const run = (args: string[]) =>
      new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    const head = await run(["rev-parse", "HEAD"]);
    if (!head.success) return "unknown";
    const status = await run(["status", "--porcelain", "--untracked-files=no"]);
    const dirty = status.success && new TextDecoder().decode(status.stdout).trim() !== "";
    return new TextDecoder().decode(head.stdout).trim() + (dirty ? "-dirty" : "");
  } catch {
    return "unknown";
  }
}

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
