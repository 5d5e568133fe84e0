/**
 * The training loop: one step = the program's forward passes (each once, shared by the terms
 * that read it), the weighted sum of its loss terms, gradients of the student's parameters,
 * one AdamW update. Around it: periodic evaluation, atomic checkpoints with retention, bit-exact
 * resume, clean stops on SIGINT/SIGTERM, and a stop naming the term when a loss is NaN/Inf.
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
import { RandomStream } from "../random.ts";
import { backendInfo, useBackend } from "../backend/mod.ts";
import { createSegmentor, type Segmentor, type SegmentorOutput } from "../nn/segmentor.ts";
import { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { formatLoadReport, loadTorchWeights } from "../io/torch_weights.ts";
import { type LoadedSample, SampleLoader } from "../data/prefetch/loader.ts";
import { canonicalJson, showExperiment } from "../../dsl/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { checkKernels } from "../compile/kernels.ts";
import type { NetworkPlan, Program } from "../compile/program.ts";
import { passId, type PassRequest, type Role, type StepInputs } from "../compile/terms.ts";
import {
  type Checkpoint,
  checkpointPath,
  listCheckpoints,
  readCheckpoint,
  restoreOptimizer,
  restoreParams,
  saveCheckpoint,
} from "./checkpoint.ts";
import { type EvalResult, type EvalSet, evaluate, loadEvalSet } from "./evaluate.ts";
import { gitRevision, MetricsLog, recordSession } from "./run_dir.ts";
import { Progress } from "../report/progress.ts";
import { writeReport } from "../report/report.ts";

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
}

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

/** A loss that became NaN or Inf. */
export class DivergedError extends Error {
  override name = "DivergedError";
}

/** Builds the student of a program with its initial weights (pretrained encoder if named). */
export async function buildNetwork(plan: NetworkPlan, seed: number): Promise<Segmentor> {
  const model = createSegmentor(plan.spec, {
    ...plan.options,
    seed: new RandomStream(seed).fork(`init:${plan.name}`),
  });
  if (plan.pretrained !== "") {
    let file;
    try {
      file = await readSafetensors(plan.pretrained);
    } catch (error) {
      throw new Error(
        `model.encoder.pretrained: cannot read '${plan.pretrained}' ` +
          `(${(error as Error).message}). Give the path of a safetensors file of MiT weights ` +
          `in PyTorch layout (docs/weights.md), or "" to start from random weights.`,
      );
    }
    const report = loadTorchWeights(model.params, file, plan.pretrained, { backboneOnly: true });
    if (report.loaded.length === 0) throw new Error(formatLoadReport(report, plan.pretrained));
  }
  return model;
}

interface LoopState {
  /** Sums of each term (and `loss`) over the current logging window. */
  window: Record<string, number>;
  /** Iterations in the window. */
  count: number;
}

function emptyWindow(program: Program): LoopState {
  const window: Record<string, number> = { loss: 0 };
  for (const t of program.terms) window[t.name] = 0;
  return { window, count: 0 };
}

async function nextBatch(
  batches: Map<Role, AsyncGenerator<LoadedSample[]>>,
): Promise<Map<Role, LoadedSample[]>> {
  const out = new Map<Role, LoadedSample[]>();
  for (const [role, generator] of batches) out.set(role, (await generator.next()).value!);
  return out;
}

function toTensors(samples: LoadedSample[], labelled: boolean) {
  const { width, height } = samples[0];
  const image = new Float32Array(samples.length * width * height * 3);
  samples.forEach((s, k) => image.set(s.image, k * width * height * 3));
  let label: tf.Tensor3D | undefined;
  if (labelled) {
    const ids = new Int32Array(samples.length * width * height);
    samples.forEach((s, k) => ids.set(s.label!, k * width * height));
    label = tf.tensor3d(ids, [samples.length, height, width], "int32");
  }
  return { image: tf.tensor4d(image, [samples.length, height, width, 3]), label };
}

/**
 * One training step: returns each term's unweighted value and the weighted total, or throws
 * {@linkcode DivergedError} before updating anything when one is not finite.
 */
export function trainStep(
  program: Program,
  model: Segmentor,
  optimizer: AdamW,
  inputs: Map<Role, { image: tf.Tensor4D; label?: tf.Tensor3D }>,
  iteration: number,
  root: RandomStream,
): Record<string, number> {
  const stepRng = root.fork(`step:${iteration}`);
  const trainable = model.params.trainable();
  const kept: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const passes = new Map<string, SegmentorOutput>();
    const step: StepInputs = {
      pass(request: PassRequest) {
        const id = passId(request);
        let out = passes.get(id);
        if (out === undefined) {
          out = model.forward(inputs.get(request.input)!.image, {
            training: request.training,
            rng: stepRng.fork(id),
          });
          passes.set(id, out);
        }
        return out;
      },
      labels(role: Role) {
        return inputs.get(role)!.label!;
      },
    };
    let total: tf.Scalar | undefined;
    for (const term of program.terms) {
      const v = term.implementation.compute(term.block, step);
      kept.push(tf.keep(v));
      const weighted = tf.mul(v, term.weight) as tf.Scalar;
      total = total === undefined ? weighted : tf.add(total, weighted);
    }
    return total!;
  }, trainable.map((p) => p.variable));
  try {
    const stacked = tf.stack([...kept, value]);
    const values = stacked.dataSync();
    stacked.dispose();
    const out: Record<string, number> = {};
    program.terms.forEach((t, i) => (out[t.name] = values[i]));
    out.loss = values[kept.length];
    for (const t of program.terms) {
      if (!Number.isFinite(out[t.name])) {
        throw new DivergedError(
          `iteration ${iteration + 1}: loss term '${t.name}' (${t.block.kind}) is ` +
            `${out[t.name]}. The update was not applied; the last good checkpoint is kept. ` +
            `Lower optimizer.lr or check the term's inputs.`,
        );
      }
    }
    const byName: Record<string, tf.Tensor> = {};
    for (const p of trainable) byName[p.name] = grads[p.variable.name];
    optimizer.apply(byName, (base) => learningRate(program.schedule, base, iteration));
    return out;
  } finally {
    tf.dispose([value, ...kept, ...Object.values(grads)]);
  }
}

/** Evaluates on every validation set and logs the results. */
async function evaluateAll(
  program: Program,
  model: Segmentor,
  sets: EvalSet[],
  iteration: number,
  log: MetricsLog,
  pictures: number,
): Promise<Record<string, EvalResult>> {
  const results: Record<string, EvalResult> = {};
  for (const set of sets) {
    const started = performance.now();
    const result = await evaluate(model, set, {
      batchSize: program.evaluation.settings.batchSize,
      protocol: program.evaluation.settings.protocol,
      pictures: set.role === "targetVal" ? pictures : 0,
      numClasses: program.networks[0].options.numClasses ?? 19,
    });
    results[set.role] = result;
    await log.write({
      type: "eval",
      iter: iteration,
      set: set.role,
      mIoU: result.metrics.mIoU,
      protocol: result.metrics.protocol,
      aAcc: result.metrics.aAcc,
      iou: result.metrics.iou,
      seconds: (performance.now() - started) / 1000,
      time: Date.now() / 1000,
    });
  }
  return results;
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

/** Trains a compiled program in its run directory. */
export async function train(program: Program, options: TrainOptions): Promise<TrainResult> {
  const info = await useBackend(program.backend);
  checkKernels(program.kernels, info.name);
  await prepareRunDir(program, options);

  const root = new RandomStream(program.seed);
  const model = await buildNetwork(program.networks[0], program.seed);
  const optimizer = new AdamW(model.params.trainable(), program.optimizer);
  let state = emptyWindow(program);
  let start = 0;
  const saved = await listCheckpoints(options.runDir);
  if (saved.length === 0 && options.resume === "require") {
    throw new Error(
      `--resume: ${options.runDir} has no checkpoint to resume from. Run without --resume to ` +
        `start the run.`,
    );
  }
  if (saved.length > 0) {
    const checkpoint: Checkpoint = await readCheckpoint(
      checkpointPath(options.runDir, saved[saved.length - 1]),
    );
    if (checkpoint.experiment !== canonicalJson(program.experiment)) {
      throw new Error(
        `${checkpoint.path} was written by a different experiment; delete the run directory ` +
          `or choose another --out.`,
      );
    }
    restoreParams(checkpoint, model.params);
    restoreOptimizer(checkpoint, optimizer);
    state = checkpoint.state as LoopState;
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
    },
    git: await gitRevision(),
  });

  let stopSignal: Deno.Signal | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    stopSignal = signal;
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);

  const loaders: SampleLoader[] = [];
  const batches = new Map<Role, AsyncGenerator<LoadedSample[]>>();
  const evalSets: EvalSet[] = [];
  const { batchSize } = program.data;
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
      model.params,
      optimizer,
      program.experiment.run.keepCheckpoints,
    );
  try {
    for (const plan of program.data.train) {
      const loader = await SampleLoader.open({
        source: plan.source,
        pipeline: plan.pipeline,
        seed: root.fork(`data:${plan.role}`).nextUint32(),
        workers: program.data.workers,
      });
      loaders.push(loader);
      batches.set(plan.role, loader.batches(start * batchSize, batchSize));
    }
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
      const samples = await nextBatch(batches);
      const inputs = new Map<Role, { image: tf.Tensor4D; label?: tf.Tensor3D }>();
      for (const plan of program.data.train) {
        inputs.set(plan.role, toTensors(samples.get(plan.role)!, plan.labelled));
      }
      let values: Record<string, number>;
      try {
        values = trainStep(program, model, optimizer, inputs, t, root);
      } finally {
        for (const x of inputs.values()) tf.dispose([x.image, ...(x.label ? [x.label] : [])]);
      }
      for (const [k, v] of Object.entries(values)) state.window[k] += v;
      state.count += 1;
      const done = t + 1;
      const lr = learningRate(program.schedule, program.optimizer.lr, t);
      progress.update(done, { loss: values.loss, lr });
      if (done % logEvery === 0 || done === iterations) {
        const mean = (k: string) => state.window[k] / state.count;
        const seconds = (performance.now() - windowStart) / 1000;
        await log.write({
          type: "train",
          iter: done,
          loss: mean("loss"),
          losses: Object.fromEntries(program.terms.map((term) => [term.name, mean(term.name)])),
          lr: { base: lr },
          itPerSec: state.count / seconds,
          tensors: tf.memory().numTensors,
          time: Date.now() / 1000,
        });
        state = emptyWindow(program);
        windowStart = performance.now();
      }
      if (done % program.evaluation.settings.every === 0 || done === iterations) {
        const pictures = done === iterations ? program.evaluation.settings.pictures : 0;
        evaluation = await evaluateAll(program, model, evalSets, done, log, pictures);
        windowStart = performance.now();
      }
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
    throw error;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    for (const loader of loaders) loader.close();
    log.close();
    model.params.dispose();
  }
}
