/**
 * What a run produces besides checkpoints: evaluations on every validation set (logged to
 * `metrics.jsonl` during training), and the completion of a finished run whose final outputs a
 * kill left missing.
 *
 * @module
 */
import type { Program } from "../compile/program.ts";
import type { Network } from "../blocks/types.ts";
import { type EvalResult, type EvalSet, loadEvalSet } from "../eval/evaluate.ts";
import type { LaneWorker } from "./lane_client.ts";
import { evaluateShared } from "./split_eval.ts";
import type { MetricsLog } from "../report/metrics_log.ts";
import { writeReport } from "../report/report.ts";
import { missingOutputs, pruneCheckpoints } from "./run_files.ts";

/** The file name of the final weights a finished run exports (PyTorch layout). */
export const FINAL_WEIGHTS = "weights.safetensors";

/**
 * Evaluates on every validation set and logs the results; a lane worker, when given, counts part
 * of each set at the same time (`split_eval.ts`).
 */
export async function evaluateAll(
  program: Program,
  model: Network,
  sets: EvalSet[],
  iteration: number,
  log: MetricsLog | undefined,
  pictures: number,
  worker?: LaneWorker,
): Promise<Record<string, EvalResult>> {
  const results: Record<string, EvalResult> = {};
  for (const set of sets) {
    const started = performance.now();
    const result = await evaluateShared(model, set, {
      batchSize: program.evaluation.settings.batchSize,
      protocol: program.evaluation.settings.protocol,
      pictures: set.role === "targetVal" ? pictures : 0,
      numClasses: program.experiment.model.numClasses,
    }, worker);
    results[set.role] = result;
    const consistency = result.consistency?.result(result.metrics.protocol);
    await log?.write({
      type: "eval",
      iter: iteration,
      set: set.role,
      mIoU: result.metrics.mIoU,
      protocol: result.metrics.protocol,
      aAcc: result.metrics.aAcc,
      iou: result.metrics.iou,
      ...(consistency
        ? {
          temporalConsistency: consistency.share,
          temporalConsistencyPerClass: consistency.perClass,
        }
        : {}),
      seconds: (performance.now() - started) / 1000,
      time: Date.now() / 1000,
    });
  }
  return results;
}

/**
 * Completes a finished run from its final checkpoint: exports the weights and rewrites the
 * report (re-evaluated for its table and pictures only; the logged metrics stay as they are)
 * when they are missing, and prunes checkpoints a kill left unpruned. Returns what it did.
 */
export async function completeFinished(
  program: Program,
  options: { runDir: string; name: string },
  networks: ReadonlyMap<string, Network>,
  iteration: number,
  exportWeights: () => Promise<void>,
): Promise<string[]> {
  const done: string[] = [];
  const missing = await missingOutputs(options.runDir, FINAL_WEIGHTS);
  if (missing.weights) {
    await exportWeights();
    done.push(FINAL_WEIGHTS);
  }
  if (missing.report) {
    const sets: EvalSet[] = [];
    for (const plan of program.evaluation.sets) sets.push(await loadEvalSet(plan));
    const { pictures } = program.evaluation.settings;
    const student = networks.get("student")!;
    const evaluation = await evaluateAll(program, student, sets, iteration, undefined, pictures);
    await writeReport({
      runDir: options.runDir,
      name: options.name,
      program,
      evaluation,
      evalSets: sets,
    });
    done.push("report.md");
  }
  const pruned = await pruneCheckpoints(options.runDir, program.experiment.run.keepCheckpoints);
  if (pruned.length > 0) done.push(`pruning (${pruned.length} old checkpoints)`);
  return done;
}
