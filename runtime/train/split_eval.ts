/**
 * Evaluation shared with the lane worker: where a run's steps are split over two processes, each
 * process has half the cores, so an evaluation in this process alone would run on half the
 * machine. The worker counts the second part of each validation set while this process counts
 * the first (and keeps the pictures). A confusion matrix is a sum of integer counts, so the split
 * gives exactly the one-process metrics; the parts end on whole batches, so every image is
 * predicted in the same batch as it would be in one process.
 *
 * @module
 */
import type { Network } from "../blocks/types.ts";
import { ConfusionMatrix } from "../eval/confusion.ts";
import { TemporalConsistency } from "../eval/video.ts";
import { type EvalResult, type EvalSet, evaluate, type EvaluateOptions } from "../eval/evaluate.ts";
import type { LaneWorker } from "./lane_client.ts";

/**
 * Where a set of `size` images is cut: about half, rounded up to whole batches, never before the
 * pictures this process keeps, never past the end.
 */
export function splitPoint(size: number, batchSize: number, pictures: number): number {
  const wholeBatches = (n: number) => Math.ceil(n / batchSize) * batchSize;
  return Math.min(size, Math.max(wholeBatches(Math.ceil(size / 2)), wholeBatches(pictures)));
}

/** Evaluates `set`, counting its second part in `worker` at the same time when there is one. */
export async function evaluateShared(
  model: Network,
  set: EvalSet,
  options: EvaluateOptions,
  worker: LaneWorker | undefined,
): Promise<EvalResult> {
  const size = set.images.length;
  const cut = worker === undefined ? size : splitPoint(size, options.batchSize, options.pictures);
  if (cut === size) return await evaluate(model, set, options);
  const remote = worker!.evaluate(set.role, cut, size, model);
  const local = await evaluate(
    model,
    { role: set.role, images: set.images.slice(0, cut) },
    options,
  );
  const part = await remote;
  const counts = new ConfusionMatrix(options.numClasses);
  counts.counts.set(part.counts);
  const confusion = local.confusion.merge(counts);
  if (local.consistency !== undefined && part.consistency !== undefined) {
    const other = new TemporalConsistency(options.numClasses);
    other.counted.set(part.consistency.counted);
    other.agreeing.set(part.consistency.agreeing);
    local.consistency.merge(other);
  }
  return { ...local, confusion, metrics: confusion.metrics(options.protocol) };
}
