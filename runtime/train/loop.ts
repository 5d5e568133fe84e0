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
import { exists } from "../io/exists.ts";
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import { backendInfo, useBackend } from "../backend/mod.ts";
import { createSegmentor, type Segmentor, type SegmentorOutput } from "../nn/segmentor.ts";
import { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { exportTorchWeights, formatLoadReport, loadTorchWeights } from "../io/torch_weights.ts";
import { type LoadedSample, SampleLoader } from "../data/prefetch/loader.ts";
import { canonicalJson, showExperiment } from "../../dsl/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { checkKernels } from "../compile/kernels.ts";
import type { NetworkPlan, Program } from "../compile/program.ts";
import {
  type Batch,
  passId,
  type PassRequest,
  type Role,
  type StepInputs,
  type Supervision,
} from "../compile/terms.ts";
import { updateEmaTeacher } from "../strategies/ema_teacher.ts";
import { pseudoLabels } from "../strategies/pseudo_label.ts";
import { classMixMasks, mixBatch } from "../strategies/class_mix.ts";
import { strongAugment } from "../strategies/strong_augment.ts";
import { rareClassPlan } from "../strategies/rare_class.ts";
import { sourceClassStats } from "./class_stats_cache.ts";
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
import type { DatasetRequest } from "../data/open.ts";
import { CLASS_NAMES } from "../data/labels.ts";
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
  /**
   * Turns a weights reference of the experiment (`model.encoder.pretrained`,
   * `featureDistance.encoder`) into a safetensors path; the command line resolves experiment
   * files to their finished runs' weights. Identity when absent.
   */
  resolveWeights?: (reference: string) => Promise<string>;
}

/** The networks of a run: the trained student and, when the experiment uses them, the others. */
export interface Networks {
  /** The trained network (evaluated and checkpointed). */
  student: Segmentor;
  /** The EMA teacher that makes pseudo-labels (checkpointed). */
  teacher?: Segmentor;
  /** The frozen pretrained encoder of the feature distance (never changes, not checkpointed). */
  frozen?: Segmentor;
}

/** The file name of the final weights a finished run exports (PyTorch layout). */
export const FINAL_WEIGHTS = "weights.safetensors";

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

/**
 * Builds a network of a program with its initial weights (the pretrained encoder if named;
 * `resolve` turns the reference into a file path).
 */
export async function buildNetwork(
  plan: NetworkPlan,
  seed: number,
  resolve: (reference: string) => Promise<string> = (r) => Promise.resolve(r),
): Promise<Segmentor> {
  const model = createSegmentor(plan.spec, {
    ...plan.options,
    seed: new RandomStream(seed).fork(`init:${plan.name}`),
  });
  if (plan.pretrained !== "" && plan.name !== "teacher") {
    const path = await resolve(plan.pretrained);
    const field = plan.name === "frozen"
      ? "the feature distance's encoder"
      : "model.encoder.pretrained";
    let file;
    try {
      file = await readSafetensors(path);
    } catch (error) {
      model.params.dispose();
      throw new Error(
        `${field}: cannot read '${path}' ` +
          `(${(error as Error).message}). Give the path of a safetensors file of MiT weights ` +
          `in PyTorch layout (docs/weights.md), or "" to start from random weights.`,
      );
    }
    const report = loadTorchWeights(model.params, file, path, { backboneOnly: true });
    if (report.loaded.length === 0) throw new Error(formatLoadReport(report, path));
  }
  return model;
}

interface LoopState {
  /** Sums of each term (and `loss`) over the current logging window. */
  window: Record<string, number>;
  /** Iterations in the window. */
  count: number;
}

/** The window key of the mean pseudo-label confidence (not a valid term name, so no clash). */
const CONFIDENCE_KEY = "pseudo-confidence";

function emptyWindow(program: Program): LoopState {
  const window: Record<string, number> = { loss: 0 };
  for (const t of program.terms) window[t.name] = 0;
  if (program.selfTraining.teacher !== undefined) window[CONFIDENCE_KEY] = 0;
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

/** A batch the step reads, with its supervision. */
type StepBatch = { image: tf.Tensor4D } & Partial<Supervision>;

/**
 * The self-training half of a step, outside the gradient (`shared/reference/
 * daformer_hrda_mic.md` §2.1 steps 1, 5–7): update the teacher for iteration t, pseudo-label the
 * target crop, and build the mixed batch. Returns the derived batches, the frozen encoder's
 * features, and every tensor the caller must dispose.
 */
function prepareStep(
  program: Program,
  networks: Networks,
  inputs: Map<Role, { image: tf.Tensor4D; label?: tf.Tensor3D }>,
  iteration: number,
  stepRng: RandomStream,
): {
  batches: Map<Batch, StepBatch>;
  frozen?: tf.Tensor4D[];
  confidence?: number;
  owned: tf.Tensor[];
} {
  const batches = new Map<Batch, StepBatch>();
  const owned: tf.Tensor[] = [];
  const source = inputs.get("source");
  const target = inputs.get("target");
  if (source !== undefined) batches.set("source", { image: source.image, label: source.label });
  if (target !== undefined) batches.set("target", { image: target.image });
  const { teacher, mixing } = program.selfTraining;
  let confidence: number | undefined;
  if (teacher !== undefined && networks.teacher !== undefined && target !== undefined) {
    updateEmaTeacher(networks.teacher.params, networks.student.params, iteration, teacher.alpha);
    const [, height, width] = target.image.shape;
    const pseudo = tf.tidy(() => {
      // Dropout and drop-path off, BatchNorm on the target batch's statistics (§2.1 step 5).
      const logits = networks.teacher!.forward(target.image, {
        training: false,
        batchStatistics: true,
      }).logits;
      return pseudoLabels(logits, [height, width], {
        threshold: teacher.threshold,
        confidence: teacher.confidence,
        margins: teacher.margins as [number, number, number, number],
      });
    });
    owned.push(pseudo.label, pseudo.weight, pseudo.confidence);
    const q = Array.from(pseudo.confidence.dataSync());
    confidence = q.reduce((a, b) => a + b, 0) / q.length;
    batches.set("target", { image: target.image, label: pseudo.label, weight: pseudo.weight });
    if (mixing !== undefined && source?.label !== undefined) {
      const { masks } = classMixMasks(source.label, stepRng.fork("classMix"), mixing.classPool);
      const mixed = mixBatch(masks, { image: source.image, label: source.label }, {
        image: target.image,
        label: pseudo.label,
        weight: pseudo.weight,
      });
      const image = strongAugment(mixed.image, {
        jitterProbability: mixing.jitterProbability,
        jitterStrength: mixing.jitterStrength,
        blurProbability: mixing.blurProbability,
        blurSigma: mixing.blurSigma as [number, number],
      }, stepRng.fork("augment"));
      owned.push(masks, mixed.image, mixed.label, mixed.weight, image);
      batches.set("mixed", { image, label: mixed.label, weight: mixed.weight });
    }
  }
  let frozen: tf.Tensor4D[] | undefined;
  if (networks.frozen !== undefined && source !== undefined) {
    frozen = tf.tidy(() => networks.frozen!.encode(source.image, { training: false }));
    owned.push(...frozen);
  }
  return { batches, frozen, confidence, owned };
}

/**
 * One training step: returns each term's unweighted value and the weighted total (and the mean
 * pseudo-label confidence when there is a teacher), or throws {@linkcode DivergedError} before
 * updating anything when one is not finite.
 */
export function trainStep(
  program: Program,
  networks: Networks,
  optimizer: AdamW,
  inputs: Map<Role, { image: tf.Tensor4D; label?: tf.Tensor3D }>,
  iteration: number,
  root: RandomStream,
): Record<string, number> {
  const stepRng = root.fork(`step:${iteration}`);
  const model = networks.student;
  const trainable = model.params.trainable();
  const prepared = prepareStep(program, networks, inputs, iteration, stepRng);
  const kept: tf.Scalar[] = [];
  try {
    const { value, grads } = tf.variableGrads(() => {
      const passes = new Map<string, SegmentorOutput>();
      const step: StepInputs = {
        pass(request: PassRequest) {
          const id = passId(request);
          let out = passes.get(id);
          if (out === undefined) {
            out = model.forward(prepared.batches.get(request.input)!.image, {
              training: request.training,
              rng: stepRng.fork(id),
            });
            passes.set(id, out);
          }
          return out;
        },
        supervision(batch: Batch) {
          const b = prepared.batches.get(batch)!;
          return { label: b.label!, weight: b.weight };
        },
        frozenFeatures() {
          return prepared.frozen!;
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
      if (prepared.confidence !== undefined) out[CONFIDENCE_KEY] = prepared.confidence;
      return out;
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    tf.dispose([...kept, ...prepared.owned]);
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
  const resolve = options.resolveWeights ?? ((r: string) => Promise.resolve(r));
  const networks = await buildNetworks(program, resolve);
  const model = networks.student;
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
    if (networks.teacher !== undefined) {
      restoreParams(checkpoint, networks.teacher.params, "teacher");
    }
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
      {
        student: model.params,
        ...(networks.teacher === undefined ? {} : { teacher: networks.teacher.params }),
      },
      optimizer,
      program.experiment.run.keepCheckpoints,
    );
  const exportWeights = async () =>
    await writeSafetensors(
      join(options.runDir, FINAL_WEIGHTS),
      await exportTorchWeights(model.params),
      { format: "pt", iteration: String(program.iterations), experiment: program.hash },
    );
  try {
    if (start >= program.iterations) {
      // A finished run: its report and metrics stay as they are.
      if (!(await exists(join(options.runDir, FINAL_WEIGHTS)))) await exportWeights();
      return {
        status: "finished",
        iteration: start,
        evaluation,
        message: `${options.runDir} has already finished ${start} iterations; nothing to do ` +
          `(report: ${join(options.runDir, "report.md")})`,
      };
    }
    for (const plan of program.data.train) {
      let pipeline = plan.pipeline;
      if (plan.sampling !== undefined) {
        const stats = await sourceClassStats(plan.source.options as DatasetRequest);
        pipeline = { ...pipeline, rareClass: rareClassPlan(stats.images, plan.sampling) };
        const top = pipeline.rareClass!.probabilities.map((p, i) => [p, i] as const)
          .sort((a, b) => b[0] - a[0]).slice(0, 3)
          .map(([p, i]) =>
            `${CLASS_NAMES[pipeline.rareClass!.classes[i]]} ${(100 * p).toFixed(1)}%`
          );
        options.write(
          `rare-class sampling: ${pipeline.rareClass!.classes.length} classes over ` +
            `${stats.images.length} images (statistics ${stats.cached ? "cached" : "computed"}); ` +
            `most drawn: ${top.join(", ")}\n`,
        );
      }
      const loader = await SampleLoader.open({
        source: plan.source,
        pipeline,
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
        values = trainStep(program, networks, optimizer, inputs, t, root);
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
          ...(CONFIDENCE_KEY in state.window ? { pseudoConfidence: mean(CONFIDENCE_KEY) } : {}),
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
    throw error;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    for (const loader of loaders) loader.close();
    log.close();
    for (const network of Object.values(networks)) network?.params.dispose();
  }
}

/** Builds the student and, when the program names them, the teacher and the frozen encoder. */
export async function buildNetworks(
  program: Program,
  resolve: (reference: string) => Promise<string>,
): Promise<Networks> {
  const built: Segmentor[] = [];
  try {
    const networks: Networks = { student: undefined as unknown as Segmentor };
    for (const plan of program.networks) {
      const network = await buildNetwork(plan, program.seed, resolve);
      built.push(network);
      networks[plan.name] = network;
    }
    return networks;
  } catch (error) {
    for (const network of built) network.params.dispose();
    throw error;
  }
}
