/**
 * The training loop: steps (`step.ts`) around periodic evaluation, atomic checkpoints with
 * retention, bit-exact resume, clean stops on SIGINT/SIGTERM, and a stop naming the term when a
 * loss is NaN/Inf. It iterates over what the program's modules declared — networks to build,
 * checkpoint and export, metrics to log — and names no block kind.
 *
 * Reproducibility rests on three things: every random decision of step t draws from
 * `root.fork("step:t")` (forking never advances the root, so no stream state has to be carried
 * between steps); every sample's augmentation depends only on (seed, index); and a checkpoint
 * holds weights, buffers, AdamW moments and the logging window exactly. So a resumed run logs
 * the same numbers as an uninterrupted one on the same backend.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../tf.ts";
import { exists } from "../io/exists.ts";
import { RandomStream } from "../random.ts";
import { backendInfo } from "../backend/mod.ts";
import { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import { canonicalJson, showExperiment } from "../../dsl/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { checkKernels } from "../compile/kernels.ts";
import type { Program } from "../compile/program.ts";
import type { Network } from "../blocks/types.ts";
import {
  type Checkpoint,
  listCheckpoints,
  restoreOptimizer,
  restoreParams,
  saveCheckpoint,
} from "./checkpoint.ts";
import { type EvalResult, type EvalSet, loadEvalSet } from "../eval/evaluate.ts";
import { gitRevision, recordSession } from "./run_dir.ts";
import { MetricsLog } from "../report/metrics_log.ts";
import { Progress } from "../report/progress.ts";
import { drawFigures } from "../report/figures.ts";
import { writeReport } from "../report/report.ts";
import { DivergedError, trainableParams, trainStep } from "./step.ts";
import { type LaneCount, startBackend, startLaneWorker } from "./lanes_start.ts";
import type { LaneWorker } from "./lane_client.ts";
import { buildNetworks, checkpointedStores, disposeNetworks, exportedWeights } from "./networks.ts";
import { disposeViews, TrainingData } from "./data.ts";
import { checkParamGroups } from "./param_check.ts";
import { newestIntactCheckpoint, removePartialFiles } from "./run_files.ts";
import { completeFinished, evaluateAll, FINAL_WEIGHTS } from "./outputs.ts";

export { DivergedError, trainStep } from "./step.ts";
export { buildNetworks } from "./networks.ts";

/** How to run. */
export interface TrainOptions {
  /** The run directory (created when missing). */
  runDir: string;
  /** Name of the experiment (its file, for the report). */
  name: string;
  /** `auto`: resume from the newest checkpoint when there is one; `require`: fail without. */
  resume: "auto" | "require";
  /** Where progress goes. */
  write: (text: string) => void;
  /** True on a terminal (one redrawn line) rather than a log file. */
  terminal: boolean;
  /** The command line, for `env.json`. */
  command: string[];
  /**
   * Turns a weights reference of the experiment (`model.encoder.pretrained`,
   * `featureDistance.encoder`) into a safetensors path; the command line resolves experiment
   * files to their finished runs' weights. Identity when absent.
   */
  resolveWeights?: (reference: string) => Promise<string>;
  /**
   * Stops as a signal would after this many completed iterations (checkpoint written, status
   * `interrupted`): a deterministic interruption for resume tests and time-limited jobs.
   */
  stopAfter?: number;
  /**
   * Processes a step runs in (`runtime/train/lanes_start.ts`): `auto` (the default) splits the
   * step's independent terms over this process and a worker where it pays; the numbers are the
   * same either way.
   */
  lanes?: LaneCount;
}

export { FINAL_WEIGHTS } from "./outputs.ts";

/** How a run ended. */
export interface TrainResult {
  /** `finished`, `interrupted` (signal: checkpoint written) or `diverged` (NaN/Inf loss). */
  status: "finished" | "interrupted" | "diverged";
  /** Completed iterations. */
  iteration: number;
  /** The final evaluation, by set (finished runs). */
  evaluation: Record<string, EvalResult>;
  /** One line for the user. */
  message: string;
}

interface LoopState {
  /** Sums of each term (and `loss`) over the current logging window. */
  window: Record<string, number>;
  /** Iterations in the window. */
  count: number;
  /**
   * Iterations in the window that reported each metric (a term may start late, as PiPa's patch
   * contrast does); absent in checkpoints from before it was kept, where every metric counts
   * every iteration.
   */
  metricSteps?: Record<string, number>;
}

function emptyWindow(program: Program): LoopState {
  const window: Record<string, number> = { loss: 0 };
  const metricSteps: Record<string, number> = {};
  for (const t of program.terms) window[t.name] = 0;
  for (const m of program.metrics) window[m.key] = metricSteps[m.key] = 0;
  return { window, count: 0, metricSteps };
}

async function prepareRunDir(program: Program, options: TrainOptions): Promise<void> {
  await Deno.mkdir(options.runDir, { recursive: true });
  const yamlPath = join(options.runDir, "experiment.yaml");
  const yaml = showExperiment(program.experiment);
  let existing: string | undefined;
  try {
    existing = await Deno.readTextFile(yamlPath);
  } catch {
    existing = undefined;
  }
  if (existing !== undefined && existing !== yaml) {
    throw new Error(
      `${options.runDir} holds a run of a different experiment (its experiment.yaml differs). ` +
        `Nothing was changed. Choose another --out, or delete that directory to start over.`,
    );
  }
  if (existing === undefined) await writeFileAtomic(yamlPath, yaml);
}

/** Restores every checkpointed network, the optimiser and the loop state. */
function restore(
  checkpoint: Checkpoint,
  program: Program,
  networks: ReadonlyMap<string, Network>,
  optimizer: AdamW,
): LoopState {
  if (checkpoint.experiment !== canonicalJson(program.experiment)) {
    throw new Error(
      `${checkpoint.path} was written by a different experiment; delete the run directory ` +
        `or choose another --out.`,
    );
  }
  for (const [prefix, params] of Object.entries(checkpointedStores(program, networks))) {
    restoreParams(checkpoint, params, prefix);
  }
  restoreOptimizer(checkpoint, optimizer);
  return checkpoint.state as LoopState;
}

/** The `train` record of a logging window. */
function trainRecord(program: Program, state: LoopState, done: number, seconds: number) {
  const mean = (k: string) => state.window[k] / state.count;
  // A metric no iteration of the window reported is null, not 0.
  const metricMean = (k: string) => {
    const steps = state.metricSteps?.[k] ?? state.count;
    return steps === 0 ? null : state.window[k] / steps;
  };
  return {
    type: "train" as const,
    iter: done,
    loss: mean("loss"),
    losses: Object.fromEntries(program.terms.map((term) => [term.name, mean(term.name)])),
    lr: { base: learningRate(program.schedule, program.optimizer.lr, done - 1) },
    ...Object.fromEntries(program.metrics.map((m) => [m.logAs, metricMean(m.key)])),
    itPerSec: state.count / seconds,
    tensors: tf.memory().numTensors,
    rssMb: Math.round(Deno.memoryUsage().rss / 2 ** 20),
    time: Date.now() / 1000,
  };
}

/** Trains a compiled program in its run directory. */
export async function train(program: Program, options: TrainOptions): Promise<TrainResult> {
  const started = await startBackend(program, options.lanes ?? "auto");
  const info = started.backend;
  checkKernels(program.kernels, info.name);
  const root = new RandomStream(program.seed);
  const resolve = options.resolveWeights ?? ((r: string) => Promise.resolve(r));
  const networks = await buildNetworks(program, resolve);
  let created = false;
  try {
    // Bad input fails before anything is written to the run directory.
    checkParamGroups(program, networks);
    created = !(await exists(options.runDir));
    await prepareRunDir(program, options);
  } catch (error) {
    disposeNetworks(networks);
    throw error;
  }
  const student = networks.get("student")!;
  const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
  let state = emptyWindow(program);
  let start = 0;
  for (const path of await removePartialFiles(options.runDir)) {
    options.write(`removed ${path}, a partial file an interrupted write left behind\n`);
  }
  const checkpoint = await newestIntactCheckpoint(options.runDir, options.write);
  if (checkpoint === undefined && options.resume === "require") {
    disposeNetworks(networks);
    throw new Error(
      `--resume: ${options.runDir} has no checkpoint to resume from. Run without --resume to ` +
        `start the run.`,
    );
  }
  if (checkpoint !== undefined) {
    state = restore(checkpoint, program, networks, optimizer);
    start = checkpoint.iteration;
    options.write(`resuming ${options.runDir} from iteration ${start}\n`);
  }
  const log = await MetricsLog.open(options.runDir, start);
  const backend = backendInfo();
  await recordSession(options.runDir, {
    started: new Date().toISOString(),
    fromIteration: start,
    command: options.command,
    deno: { ...Deno.version },
    tensorflow: {
      version: tf.version.tfjs,
      backend: backend.name,
      device: backend.device,
      ...(backend.threads === undefined ? {} : { threads: backend.threads }),
      lanes: started.lanes === undefined ? 1 : 2,
    },
    git: await gitRevision(),
  });

  let stopSignal: string | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    stopSignal = signal;
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);

  let data: TrainingData | undefined;
  let worker: LaneWorker | undefined;
  let failed = false;
  const evalSets: EvalSet[] = [];
  let evaluation: Record<string, EvalResult> = {};
  const save = (iteration: number) =>
    saveCheckpoint(
      options.runDir,
      {
        iteration,
        experiment: canonicalJson(program.experiment),
        hash: program.hash,
        state,
      },
      checkpointedStores(program, networks),
      optimizer,
      program.experiment.run.keepCheckpoints,
    );
  const exportWeights = async () =>
    await writeSafetensors(
      join(options.runDir, FINAL_WEIGHTS),
      await exportedWeights(program, networks),
      { format: "pt", iteration: String(program.iterations), experiment: program.hash },
    );
  try {
    if (start >= program.iterations) {
      // A finished run keeps its metrics; what a kill after the last checkpoint left undone
      // (weights, report, pruning) is completed from that checkpoint.
      const done = await completeFinished(program, options, networks, start, exportWeights);
      return {
        status: "finished",
        iteration: start,
        evaluation,
        message: `${options.runDir} has already finished ${start} iterations; ` +
          (done.length === 0 ? "nothing to do" : `completed ${done.join(", ")}`) +
          ` (report: ${join(options.runDir, "report.md")})`,
      };
    }
    data = await TrainingData.open(program, root, start, options.write);
    worker = await startLaneWorker(program, started);
    for (const plan of program.evaluation.sets) evalSets.push(await loadEvalSet(plan));
    const { logEvery, checkpointEvery, iterations } = program.experiment.run;
    const progress = new Progress({
      total: iterations,
      start,
      terminal: options.terminal,
      write: options.write,
      every: logEvery,
    });
    let windowStart = performance.now();
    for (let t = start; t < iterations; t++) {
      const inputs = await data.next();
      let values: Record<string, number>;
      try {
        values = await trainStep(program, networks, optimizer, inputs, t, root, worker);
      } finally {
        disposeViews(inputs);
      }
      for (const [k, v] of Object.entries(values)) {
        state.window[k] += v;
        if (state.metricSteps !== undefined && k in state.metricSteps) state.metricSteps[k] += 1;
      }
      state.count += 1;
      const done = t + 1;
      progress.update(done, {
        loss: values.loss,
        lr: learningRate(program.schedule, program.optimizer.lr, t),
      });
      if (done % logEvery === 0 || done === iterations) {
        await log.write(
          trainRecord(program, state, done, (performance.now() - windowStart) / 1000),
        );
        state = emptyWindow(program);
        windowStart = performance.now();
      }
      if (done % program.evaluation.settings.every === 0 || done === iterations) {
        const pictures = done === iterations ? program.evaluation.settings.pictures : 0;
        evaluation = await evaluateAll(program, student, evalSets, done, log, pictures, worker);
        await drawFigures(program, networks, evalSets, options.runDir, done);
        windowStart = performance.now();
      }
      if (done === options.stopAfter && done < iterations) stopSignal ??= "--stop-after";
      if (done % checkpointEvery === 0 || done === iterations || stopSignal !== undefined) {
        await save(done);
      }
      if (stopSignal !== undefined) {
        progress.finish();
        return {
          status: "interrupted",
          iteration: done,
          evaluation,
          message: `${stopSignal}: stopped after iteration ${done}; checkpoint written. ` +
            `Run the same command again to resume.`,
        };
      }
    }
    progress.finish();
    await exportWeights();
    await writeReport({
      runDir: options.runDir,
      name: options.name,
      program,
      evaluation,
      evalSets,
    });
    return {
      status: "finished",
      iteration: iterations,
      evaluation,
      message: `finished ${iterations} iterations; report: ${join(options.runDir, "report.md")}`,
    };
  } catch (error) {
    if (error instanceof DivergedError) {
      return { status: "diverged", iteration: start, evaluation, message: error.message };
    }
    failed = true;
    throw error;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    data?.close();
    worker?.close();
    log.close();
    disposeNetworks(networks);
    // A run that failed before its first checkpoint (bad data, a missing dataset) leaves no
    // half-made run directory for a later run to trip over.
    if (failed && created && (await listCheckpoints(options.runDir)).length === 0) {
      await Deno.remove(options.runDir, { recursive: true });
    }
  }
}
