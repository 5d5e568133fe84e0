/**
 * The run directory (`runs/<experiment>/<hash12>-s<seed>/`): `experiment.yaml` (canonical),
 * `env.json` (versions, git revision, command of every session), `metrics.jsonl`, a TensorBoard
 * event file, `checkpoints/`, `report.md` with `plots/` and `pictures/`.
 *
 * `metrics.jsonl` is the source of truth for curves: on resume it is cut back to the resumed
 * checkpoint's iteration (a killed run may have logged past its last checkpoint) and the
 * TensorBoard file is rebuilt from it, so both read exactly like an uninterrupted run.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { ScalarEventWriter } from "../report/tfevents.ts";

/** One line of `metrics.jsonl`. */
export type MetricsRecord =
  | {
    /** A training log line: means over the iterations since the previous one. */
    type: "train";
    /** Completed iterations. */
    iter: number;
    /** Weighted total loss. */
    loss: number;
    /** Each term's unweighted value. */
    losses: Record<string, number>;
    /** Learning rate of the base group and of the decoder group. */
    lr: Record<string, number>;
    /** Mean pseudo-label confidence weight q of the window (self-training runs only). */
    pseudoConfidence?: number;
    /** Iterations per second since the previous line (not reproducible). */
    itPerSec: number;
    /** Live tensors after the step (flat when nothing leaks). */
    tensors: number;
    /** Wall-clock time, Unix seconds (not reproducible). */
    time: number;
  }
  | {
    /** An evaluation. */
    type: "eval";
    /** Completed iterations. */
    iter: number;
    /** `targetVal` or `sourceVal`. */
    set: string;
    /** mIoU under the experiment's protocol, in [0, 1]. */
    mIoU: number;
    /** Protocol. */
    protocol: string;
    /** Pixel accuracy. */
    aAcc: number;
    /** Per-class IoU (null where undefined). */
    iou: Record<string, number | null>;
    /** Seconds the evaluation took (not reproducible). */
    seconds: number;
    /** Wall-clock time, Unix seconds (not reproducible). */
    time: number;
  };

/** Fields that depend on the machine's speed, left out when comparing runs. */
export const TIMING_FIELDS = ["itPerSec", "tensors", "seconds", "time"] as const;

/** The run directory of an experiment, seed and hash under `root`. */
export function runDirectory(root: string, experiment: string, hash: string, seed: number): string {
  return join(root, experiment, `${hash.slice(0, 12)}-s${seed}`);
}

/** Reads `metrics.jsonl` (empty when absent). */
export async function readMetrics(runDir: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(runDir, "metrics.jsonl"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const out: MetricsRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A run killed mid-write can leave a torn last line; it is past any checkpoint anyway.
    }
  }
  return out;
}

function scalarsOf(record: MetricsRecord): Record<string, number> {
  if (record.type === "train") {
    const values: Record<string, number> = { "train/loss": record.loss };
    for (const [k, v] of Object.entries(record.losses)) values[`train/${k}`] = v;
    for (const [k, v] of Object.entries(record.lr)) values[`lr/${k}`] = v;
    if (record.pseudoConfidence !== undefined) {
      values["self_training/confidence"] = record.pseudoConfidence;
    }
    values["speed/it_per_sec"] = record.itPerSec;
    values["memory/tensors"] = record.tensors;
    return values;
  }
  const values: Record<string, number> = { [`${record.set}/mIoU`]: record.mIoU };
  values[`${record.set}/aAcc`] = record.aAcc;
  return values;
}

/** Appends metrics lines and mirrors them into a TensorBoard event file. */
export class MetricsLog {
  #path: string;
  #events: ScalarEventWriter;

  private constructor(path: string, events: ScalarEventWriter) {
    this.#path = path;
    this.#events = events;
  }

  /**
   * Opens the log of `runDir`, keeping only records at or before `keepThrough` iterations, and
   * rewrites the event file from them.
   */
  static async open(runDir: string, keepThrough: number): Promise<MetricsLog> {
    const kept = (await readMetrics(runDir)).filter((r) => r.iter <= keepThrough);
    const path = join(runDir, "metrics.jsonl");
    await writeFileAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
    for await (const entry of Deno.readDir(runDir)) {
      if (entry.name.startsWith("events.out.tfevents.")) {
        await Deno.remove(join(runDir, entry.name));
      }
    }
    // One event file per run, named once: TensorBoard reads every tfevents file in the folder.
    const events = await ScalarEventWriter.create(
      join(runDir, "events.out.tfevents.0000000000.uda-lab"),
    );
    for (const r of kept) await events.write(r.iter, r.time, scalarsOf(r));
    return new MetricsLog(path, events);
  }

  /** Appends one record. */
  async write(record: MetricsRecord): Promise<void> {
    await Deno.writeTextFile(this.#path, JSON.stringify(record) + "\n", { append: true });
    await this.#events.write(record.iter, record.time, scalarsOf(record));
  }

  /** Closes the event file. */
  close(): void {
    this.#events.close();
  }
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
