/**
 * `metrics.jsonl`, the source of truth for a run's curves, and its TensorBoard mirror: on
 * resume the log is cut back to the resumed checkpoint's iteration (a killed run may have
 * logged past its last checkpoint) and the event file is rebuilt from it, so both read exactly
 * like an uninterrupted run. Reports and result tables read it; the loop writes it.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { ScalarEventWriter } from "./tfevents.ts";

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
    /** The process's resident set after the step, MiB (not reproducible; absent in older runs). */
    rssMb?: number;
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
    /**
     * Share of frame-t pixels whose prediction equals frame t−k's warped by the flow, where the
     * set is a sequence with flow (`runtime/eval/video.ts`).
     */
    temporalConsistency?: number;
    /** The same per class of the frame-t prediction (null where none is predicted). */
    temporalConsistencyPerClass?: Record<string, number | null>;
    /** Seconds the evaluation took (not reproducible). */
    seconds: number;
    /** Wall-clock time, Unix seconds (not reproducible). */
    time: number;
  };

/** Fields that depend on the machine's speed, left out when comparing runs. */
export const TIMING_FIELDS = ["itPerSec", "tensors", "rssMb", "seconds", "time"] as const;

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
    if (record.rssMb !== undefined) values["memory/rss_mb"] = record.rssMb;
    return values;
  }
  const values: Record<string, number> = { [`${record.set}/mIoU`]: record.mIoU };
  values[`${record.set}/aAcc`] = record.aAcc;
  if (record.temporalConsistency !== undefined) {
    values[`${record.set}/temporal_consistency`] = record.temporalConsistency;
  }
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
