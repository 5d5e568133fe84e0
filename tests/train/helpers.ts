/**
 * What the run tests share: fresh run directories and the reproducible part of a run's metrics.
 *
 * @module
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Program } from "../../runtime/compile/program.ts";
import { train } from "../../runtime/train/loop.ts";
import { readMetrics, TIMING_FIELDS } from "../../runtime/report/metrics_log.ts";

/** `root/name`, removed first so the run starts from nothing. */
export async function fresh(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return dir;
}

/** The reproducible content of a run's metrics: everything but speeds, times, tensor counts. */
export async function reproducible(dir: string): Promise<unknown[]> {
  return (await readMetrics(dir)).map((r) => {
    const copy: Record<string, unknown> = { ...r };
    for (const f of TIMING_FIELDS) delete copy[f];
    return copy;
  });
}

/** A finished run's directory and its reproducible metrics records. */
export interface ResumedRun {
  /** The uninterrupted run's directory. */
  dir: string;
  /** Its reproducible records (equal to the interrupted-and-resumed run's). */
  records: { type: string; iter?: number; losses?: Record<string, number> }[];
}

/**
 * Trains `program` twice under `root`: uninterrupted, and stopped after `stopAfter` iterations
 * then resumed; asserts both finish with the same reproducible metrics, and returns the first.
 */
export async function trainAndResume(
  program: Program,
  root: string,
  stopAfter: number,
): Promise<ResumedRun> {
  const options = { name: "test", write: () => {}, terminal: false, command: [] };
  const dir = await fresh(root, "whole");
  const finished = await train(program, { ...options, runDir: dir, resume: "auto" });
  assert.equal(finished.status, "finished", finished.message);
  const split = await fresh(root, "split");
  const stopped = await train(program, { ...options, runDir: split, resume: "auto", stopAfter });
  assert.equal(stopped.status, "interrupted");
  const resumed = await train(program, { ...options, runDir: split, resume: "require" });
  assert.equal(resumed.status, "finished", resumed.message);
  const records = await reproducible(dir);
  assert.deepEqual(await reproducible(split), records, "the resumed run differs");
  return { dir, records: records as ResumedRun["records"] };
}
