/**
 * Lowering: an experiment becomes a *program* — the networks to build, the forward passes each
 * step needs (each distinct pass once, shared by the terms that read it), the loss terms, the
 * optimiser groups, the data pipelines and the evaluation plan. The program is plain data apart
 * from the term implementations, so `plan` can print it without allocating a tensor.
 *
 * @module
 */
import type {
  DatasetBlock,
  EvaluationBlock,
  Experiment,
  LossBlock,
  MixingBlock,
  SamplerBlock,
  TeacherBlock,
} from "../../dsl/mod.ts";
import { experimentHash } from "../../dsl/mod.ts";
import type { BackendName } from "../backend/mod.ts";
import type { DatasetRequest } from "../data/open.ts";
import type { PipelineSpec } from "../data/transforms/pipeline.ts";
import type { SourceSpec } from "../data/prefetch/protocol.ts";
import { countFlops, type ModelSpec, type SegmentorOptions } from "../nn/segmentor.ts";
import type { AdamWOptions } from "../optim/adamw.ts";
import type { ParamRule } from "../optim/param_groups.ts";
import { type PolySchedule, validateSchedule } from "../optim/schedule.ts";
import {
  ADAMW_KERNELS,
  EVALUATION_KERNELS,
  type KernelUse,
  mergeKernelUses,
  SEGMENTOR_KERNELS,
  SELF_TRAINING_KERNELS,
} from "./kernels.ts";
import {
  type Batch,
  type NetworkName,
  passId,
  type PassRequest,
  type Role,
  TERM_IMPLEMENTATIONS,
  type TermImplementation,
} from "./terms.ts";

/** A network to build. */
export interface NetworkPlan {
  /**
   * Its name in passes and checkpoints: the trained `student`, its EMA `teacher`, or the
   * `frozen` encoder of the feature distance.
   */
  name: NetworkName;
  /** Encoder and decoder. */
  spec: ModelSpec;
  /** Widths, classes, regularisation. */
  options: SegmentorOptions;
  /**
   * Encoder weights to load before training ("" = none): a safetensors file, or an experiment
   * file whose finished run provides them (resolved when the run starts).
   */
  pretrained: string;
  /** True for networks that never receive gradients (teacher, frozen encoder). */
  frozen: boolean;
}

/** A forward pass of every step, with the terms that read it. */
export interface PassPlan extends PassRequest {
  /** `student@source`. */
  id: string;
  /** Names of the terms that read it. */
  readBy: string[];
}

/** A loss term of every step. */
export interface TermPlan {
  /** Its name in the experiment (and in metrics). */
  name: string;
  /** Its block. */
  block: LossBlock;
  /** Weight in the total loss. */
  weight: number;
  /** Ids of the passes it reads. */
  passes: string[];
  /** Batches whose supervision it reads. */
  supervision: Batch[];
  /** Its implementation. */
  implementation: TermImplementation;
}

/** A training data stream. */
export interface DataPlan {
  /** Which batch it feeds. */
  role: Role;
  /** The dataset block. */
  block: DatasetBlock;
  /** What the loader opens (in a worker). */
  source: SourceSpec;
  /** Crop and augmentation. */
  pipeline: PipelineSpec;
  /** Whether the step reads its labels. */
  labelled: boolean;
  /** Rare-class sampling of this stream (source only), or undefined for uniform sampling. */
  sampling?: SamplerBlock;
}

/** A validation set. */
export interface EvalSetPlan {
  /** `targetVal` or `sourceVal`. */
  role: "targetVal" | "sourceVal";
  /** The dataset block. */
  block: DatasetBlock;
  /** How to open it. */
  request: DatasetRequest;
  /** Keep-ratio test scale `[long, short]` (`[0, 0]` = native). */
  scale: readonly [number, number];
}

/** A lowered experiment. */
export interface Program {
  /** The experiment it came from. */
  experiment: Experiment;
  /** Its hash (without the seed). */
  hash: string;
  /** Root seed. */
  seed: number;
  /** Backend to run on. */
  backend: BackendName;
  /** Networks. */
  networks: NetworkPlan[];
  /** Forward passes per step. */
  passes: PassPlan[];
  /** Loss terms. */
  terms: TermPlan[];
  /** Self-training: the teacher that makes pseudo-labels and the mixing, when present. */
  selfTraining: { teacher?: TeacherBlock; mixing?: MixingBlock };
  /** AdamW settings with the parameter-group rules. */
  optimizer: AdamWOptions;
  /** Learning-rate schedule over the run. */
  schedule: PolySchedule;
  /** Training iterations. */
  iterations: number;
  /** Training data (only the roles some term reads) and batching. */
  data: { train: DataPlan[]; batchSize: number; workers: number };
  /** Validation sets and settings. */
  evaluation: { sets: EvalSetPlan[]; settings: EvaluationBlock };
  /** Every kernel a step and an evaluation run. */
  kernels: KernelUse;
}

const OPEN_DATASET = new URL("../data/open.ts", import.meta.url).href;

/** What `openDataset` needs for a dataset block. */
export function datasetRequest(block: DatasetBlock): DatasetRequest {
  if (block.kind === "synthCity") {
    return {
      dataset: "synthcity",
      split: "",
      domain: block.domain,
      count: block.count,
      seed: block.seed,
    };
  }
  return {
    dataset: block.kind,
    root: block.root,
    split: block.split,
    domain: "",
    count: 0,
    seed: 0,
  };
}

/** The training pipeline of a dataset block. */
export function pipelineOf(block: DatasetBlock): PipelineSpec {
  const [a, b] = block.scale;
  return {
    resize: a === 0 && b === 0
      ? { kind: "none" }
      : { kind: "keepRatio", maxLong: Math.max(a, b), maxShort: Math.min(a, b) },
    crop: { height: block.crop[0], width: block.crop[1] },
    catMaxRatio: block.catMaxRatio,
    flip: block.flip,
  };
}

function rulesOf(experiment: Experiment): ParamRule[] {
  return Object.entries(experiment.optimizer.paramGroups).map(([key, m]) => ({
    key,
    lrMult: m.lrMult,
    decayMult: m.decayMult,
  }));
}

/** The segmentor spec and options of the experiment's model (the student, or a copy of it). */
export function networkPlan(experiment: Experiment, name: NetworkName = "student"): NetworkPlan {
  const { encoder, decoder, numClasses } = experiment.model;
  return {
    name,
    spec: {
      encoder: `mit_${encoder.variant}`,
      decoder: decoder.kind === "daformerHead" ? "daformer" : "segformer",
    },
    options: {
      numClasses,
      channels: decoder.channels,
      dropout: decoder.dropout,
      dropPathRate: encoder.dropPathRate,
    },
    pretrained: encoder.pretrained,
    frozen: name !== "student",
  };
}

/** The data roles a batch is made from. */
function rolesOf(batch: Batch): Role[] {
  return batch === "mixed" ? ["source", "target"] : [batch];
}

/** Lowers a validated experiment. */
export function compile(experiment: Experiment): Program {
  const passes = new Map<string, PassPlan>();
  const terms: TermPlan[] = [];
  const labelled = new Set<Role>();
  const roles = new Set<Role>();
  const networks = [networkPlan(experiment)];
  const addPass = (request: PassRequest, reader: string) => {
    const id = passId(request);
    if (!passes.has(id)) passes.set(id, { ...request, id, readBy: [] });
    passes.get(id)!.readBy.push(reader);
    rolesOf(request.input).forEach((r) => roles.add(r));
  };
  for (const [name, block] of Object.entries(experiment.losses)) {
    const implementation = TERM_IMPLEMENTATIONS[block.kind];
    const needs = implementation.needs(block);
    for (const request of needs.passes) addPass(request, name);
    // Ground truth is read for the source batch and, through the ClassMix masks, the mixed one.
    for (const batch of needs.supervision) {
      if (batch !== "target") labelled.add("source");
      rolesOf(batch).forEach((r) => roles.add(r));
    }
    if (needs.frozenFeatures && block.kind === "featureDistance") {
      addPass({ network: "frozen", input: "source", training: false }, name);
      if (!networks.some((n) => n.name === "frozen")) {
        networks.push({
          ...networkPlan(experiment, "frozen"),
          pretrained: block.encoder === "" ? experiment.model.encoder.pretrained : block.encoder,
        });
      }
    }
    terms.push({
      name,
      block,
      weight: block.weight,
      passes: needs.passes.map(passId),
      supervision: needs.supervision,
      implementation,
    });
  }
  if (experiment.teacher !== undefined) {
    networks.push(networkPlan(experiment, "teacher"));
    addPass({ network: "teacher", input: "target", training: false }, "pseudo-labels");
  }
  const train: DataPlan[] = (["source", "target"] as const).filter((r) => roles.has(r)).map((
    role,
  ) => ({
    role,
    block: experiment.data[role],
    source: {
      module: OPEN_DATASET,
      exportName: "openDataset",
      options: datasetRequest(experiment.data[role]),
    },
    pipeline: {
      ...pipelineOf(experiment.data[role]),
      // Under rare-class sampling the reference draws the target uniformly at random
      // (daformer_hrda_mic.md §3); otherwise each stream reads a permutation per epoch.
      order: role === "target" && experiment.data.sampling !== undefined ? "random" : "shuffle",
    },
    labelled: labelled.has(role),
    ...(role === "source" && experiment.data.sampling !== undefined
      ? { sampling: experiment.data.sampling }
      : {}),
  }));
  const sets: EvalSetPlan[] = [];
  for (const role of ["targetVal", "sourceVal"] as const) {
    const block = experiment.data[role];
    if (block === undefined) continue;
    sets.push({ role, block, request: datasetRequest(block), scale: block.scale });
  }
  const schedule: PolySchedule = {
    maxIters: experiment.run.iterations,
    power: experiment.schedule.power,
    minLr: experiment.schedule.minLr,
    warmupIters: experiment.schedule.warmupIters,
    warmupRatio: experiment.schedule.warmupRatio,
  };
  validateSchedule(schedule);
  const { lr, beta1, beta2, weightDecay, eps } = experiment.optimizer;
  return {
    experiment,
    hash: experimentHash(experiment),
    seed: experiment.run.seed,
    backend: experiment.run.backend,
    networks,
    passes: [...passes.values()],
    terms,
    selfTraining: { teacher: experiment.teacher, mixing: experiment.mixing },
    optimizer: { lr, beta1, beta2, weightDecay, eps, rules: rulesOf(experiment) },
    schedule,
    iterations: experiment.run.iterations,
    data: {
      train,
      batchSize: experiment.data.loader.batchSize,
      workers: experiment.data.loader.workers,
    },
    evaluation: { sets, settings: experiment.evaluation },
    kernels: mergeKernelUses([
      SEGMENTOR_KERNELS,
      ADAMW_KERNELS,
      EVALUATION_KERNELS,
      ...terms.map((t) => t.implementation.kernels),
      ...(experiment.teacher === undefined ? [] : [SELF_TRAINING_KERNELS]),
    ]),
  };
}

/**
 * FLOPs of one training step: each training pass counts 3× its forward FLOPs (forward, input
 * gradient, weight gradient), each evaluation-mode pass 1× (the frozen encoder's is counted with
 * a head, an upper bound).
 */
export function stepFlops(program: Program): number {
  const network = program.networks[0];
  let total = 0;
  for (const pass of program.passes) {
    const block = program.experiment.data[pass.input === "mixed" ? "source" : pass.input];
    const flops = countFlops(network.spec, network.options, {
      batch: program.data.batchSize,
      height: block.crop[0],
      width: block.crop[1],
    });
    total += pass.training ? 3 * flops : flops;
  }
  return total;
}
