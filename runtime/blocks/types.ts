/**
 * What a block's runtime module declares. Every published idea is one module
 * (`runtime/blocks/<family or kind>.ts`): the compiler hands each block of an experiment to the
 * module registered for its kind, and the module *lowers* it by declaring, through a
 * {@linkcode ProgramBuilder}, the networks and trainable modules it adds, the views it derives
 * each step, the loss it computes, its hooks, metrics, data preparation, kernels and `plan`
 * lines. The loop, `plan`, checkpoints, the optimiser and weight export iterate over those
 * declarations and never ask which kind a block is.
 *
 * @module
 */
import type { tf } from "../tf.ts";
import type { AnyBlock, Experiment } from "../../dsl/mod.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "../nn/params.ts";
import type { ForwardMode } from "../nn/layers.ts";
import type { ModelOutputs, Segmentor } from "../nn/segmentor.ts";
import type { HeadConfig } from "../nn/heads.ts";
import type { KernelUse } from "../compile/kernels.ts";
import type { ParamRule } from "../optim/param_groups.ts";
import type { PipelineSpec } from "../data/transforms/pipeline.ts";
import type { SourceSpec } from "../data/prefetch/protocol.ts";
import type { DatasetRequest } from "../data/open.ts";

/** A training-data role: the batches the loaders deliver. */
export type Role = "source" | "target";

/**
 * A batch a pass or a loss reads, by name: the data roles `source` and `target`, or a view a
 * module derives each step (`mixed`, later a masked target, a detail crop, the previous frame).
 */
export interface View {
  /** Normalised images `[N, H, W, 3]`. */
  image: tf.Tensor4D;
  /** Class ids `[N, H, W]` int32 (255 = ignore): ground truth or pseudo-labels. */
  label?: tf.Tensor3D;
  /** Per-pixel loss weights `[N, H, W]`, or undefined for weight 1 everywhere. */
  weight?: tf.Tensor3D;
  /**
   * The labels' host copy (`N·H·W` class ids), where the view was made on the host (the data
   * roles): a term that plans with the labels (which pixels to sample) reads it inside the
   * gradient without a device read, which GPU backends cannot do synchronously.
   */
  hostLabel?: Int32Array;
  /** Frame pairs (`PipelineSpec.pairs`): frame t−k of each image, normalised, `[N, H, W, 3]`. */
  previous?: tf.Tensor4D;
  /** Backward flow t → t−k in pixels, `[N, H, W, 2]` (dx, dy), where the dataset has flow. */
  flow?: tf.Tensor4D;
  /** 1 where `flow` is valid, `[N, H, W]` int32. */
  flowValid?: tf.Tensor3D;
}

/** A forward pass: a network on a view in a mode. Each distinct pass runs once per step. */
export interface PassRequest {
  /** The network's name (`student`, `teacher`, `frozen`, or one a module adds). */
  network: string;
  /** The view it runs on. */
  view: string;
  /** Training mode (dropout, drop-path, BatchNorm batch statistics) or not. */
  training: boolean;
  /** BatchNorm on batch statistics in eval mode (DAFormer's teacher). */
  batchStatistics?: boolean;
  /**
   * The first iteration the pass runs at (a loss that starts after a warm-up); before it, a
   * network that is not trained does not run its pass ahead of the gradient.
   */
  startIteration?: number;
}

/** The id of a pass, as `plan` prints it: `student@source`, `frozen@source:eval`. */
export function passId(request: PassRequest): string {
  const mode = request.training ? "" : request.batchStatistics ? ":eval+bn" : ":eval";
  return `${request.network}@${request.view}${mode}`;
}

/** A built network or trainable module: its parameters and, for networks, a forward pass. */
export interface Network {
  /** Parameters and buffers by their reference state-dict names. */
  readonly params: ParamStore;
  /** Runs it on normalised NHWC images, returning its named outputs. */
  forward?(image: tf.Tensor4D, mode: ForwardMode): ModelOutputs;
  /**
   * Inference logits at stride 4 (whole image here), or at the input's resolution where a
   * multi-resolution model averages full-resolution windows: what evaluation calls (it resizes
   * them to the label's size).
   */
  predict?(image: tf.Tensor4D, output?: string): tf.Tensor4D;
  /**
   * The predictions `predict` can return by name, the default first, where it has more than one
   * (HRDA: `fused`, `lr`, `hr`, as the reference's `--hrda-out`).
   */
  readonly outputs?: readonly string[];
  /**
   * Per-pixel maps in [0, 1] a report draws beside the prediction, by name, one channel each, at
   * the input's resolution or a stride of it (HRDA: the scale attention).
   */
  maps?(image: tf.Tensor4D): Record<string, tf.Tensor4D>;
}

/** What building a network may use. */
export interface BuildContext {
  /** The run's root seed (each network forks `init:<name>` from it). */
  seed: number;
  /** Turns a weights reference into a safetensors path (experiment files → their run). */
  resolve(reference: string): Promise<string>;
  /** False for `plan`, which builds networks only to count their parameters. */
  loadWeights: boolean;
  /** The networks built so far (a teacher copies the student's architecture). */
  networks: ReadonlyMap<string, Network>;
}

/** A network or trainable module a block adds. */
export interface NetworkPlan {
  /** Its name in passes, checkpoints (`<name>.<param>`) and `plan`. */
  name: string;
  /** Its parameters receive gradients and AdamW updates. */
  trainable: boolean;
  /** Its parameters and buffers are saved in checkpoints (and restored on resume). */
  checkpointed: boolean;
  /** Its parameters go into the exported `weights.safetensors` (the trained model). */
  exported: boolean;
  /** Optimiser groups for its parameters, applied unless the experiment names the same key. */
  paramGroups?: readonly ParamRule[];
  /** Its `plan` line (after its name), from its built parameters. */
  describe(params: ParamStore): string;
  /** Shape facts `plan` and FLOP counts read (encoder and decoder names, widths). */
  facts?: Readonly<Record<string, unknown>>;
  /** Builds it (after the networks before it in the program). */
  build(context: BuildContext): Promise<Network>;
  /**
   * FLOPs of one forward pass over `batch` images of `height × width` in training mode or not
   * (0 when unknown): a multi-resolution network's passes differ by mode.
   */
  flops?(input: FlopsInput): number;
}

/** What a FLOP count is for: `batch` images of `height × width`, in training mode or not. */
export interface FlopsInput {
  /** Images. */
  batch: number;
  /** Their height. */
  height: number;
  /** Their width. */
  width: number;
  /** Training-mode pass (else an evaluation-mode one). */
  training: boolean;
}

/** A segmentor's forward, inference and encoder, as a wrapper makes them. */
export interface WrappedSegmentor {
  /** The network's forward pass. */
  forward(image: tf.Tensor4D, mode: ForwardMode): ModelOutputs;
  /** Inference logits (stride 4, or full resolution when the wrapper averages windows there). */
  predict(image: tf.Tensor4D, output?: string): tf.Tensor4D;
  /** The named predictions `predict` returns, the default first (see {@linkcode Network}). */
  readonly outputs?: readonly string[];
  /** Per-pixel maps a report draws (see {@linkcode Network}). */
  maps?(image: tf.Tensor4D): Record<string, tf.Tensor4D>;
  /** The encoder features the network's forward reports (a frozen copy compares them). */
  encode(image: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[];
}

/** Which pass of a wrapped segmentor a FLOP count is for. */
export type WrappedPass = "train" | "eval" | "predict" | "encode";

/**
 * How a resolution block (HRDA's multi-resolution) changes the segmentor: its parameter names,
 * its forward pass and inference, and their cost. The student, the teacher and every copy of the
 * student's architecture are wrapped alike.
 */
export interface ResolutionWrapper {
  /** The decode head's parameter-name prefix under the wrapper (`decode_head.head`). */
  readonly headPrefix: string;
  /** Adds the wrapper's parameters to `model` (initialised from `rng`) and wraps it. */
  wrap(model: Segmentor, rng: RandomStream): WrappedSegmentor;
  /** FLOPs of a pass, given those of the plain segmentor and its head's shape. */
  flops(
    base: (batch: number, height: number, width: number) => number,
    head: HeadConfig,
    input: { batch: number; height: number; width: number },
    pass: WrappedPass,
  ): number;
  /** Its `plan` phrase, after the model's line. */
  describe: string;
}

/**
 * A change a module makes to how one pass runs from some iteration on, without a second pass:
 * CLUDA places the detail box of the student's mixed pass by entropy after 30% of training.
 */
export interface PassSettingPlan {
  /** The declaring module (its block path). */
  by: string;
  /** The pass's network. */
  network: string;
  /** The pass's view. */
  view: string;
  /** First iteration it applies to. */
  fromIteration: number;
  /** What changes in the pass's forward mode. */
  mode: Pick<ForwardMode, "detailBox">;
}

/** What a step's derived views, hooks and losses may read. */
export interface StepContext {
  /** Zero-based iteration of this step. */
  readonly iteration: number;
  /** The step's stream for `label` (forked from `step:t`, so consumers never shift others). */
  rng(label: string): RandomStream;
  /** A network by name. */
  network(name: string): Network;
  /** A view by name (data roles and the views built before the one asking). */
  view(name: string): View;
  /** A data role's batch as loaded, before any module re-provided the role (see `ViewPlan.inputs`). */
  input(role: Role): View;
  /** The outputs of a pass (run once, then shared). */
  pass(request: PassRequest): ModelOutputs;
  /** Registers tensors to dispose when the step ends. */
  own(...tensors: tf.Tensor[]): void;
  /** Reports a per-step metric: the mean of the tensor's elements, read with the losses. */
  metric(key: string, values: tf.Tensor): void;
}

/** A view a module derives each step, outside the gradient. */
export interface ViewPlan {
  /** Its name; a module may re-provide a view it reads (the teacher adds pseudo-labels). */
  name: string;
  /** Views it reads (the data roles count). */
  reads: readonly string[];
  /**
   * Data roles it reads as loaded (`context.input`), before any module re-provides them: PiPa's
   * crops need the target image, not the teacher's pseudo-labels, so a lane that builds them
   * need not run the teacher's pass over the target.
   */
  inputs?: readonly Role[];
  /** Who provides it, for `plan`. */
  by: string;
  /** One `plan` line. */
  describe: string;
  /** Passes it runs while it is built (outside the gradient). */
  passes?: readonly PassRequest[];
  /** Data roles whose ground-truth labels it reads (their loaders then load labels). */
  labels?: readonly Role[];
  /**
   * Builds it; tensors it creates must be handed to `context.own`. Asynchronous so a view that
   * needs host data reads it with `await tensor.data()`, which GPU backends require.
   */
  build(context: StepContext): View | Promise<View>;
}

/** A step hook (outside the gradient). */
export interface HookPlan {
  /** Who declared it, for `plan`. */
  by: string;
  /** Runs before the step's views (e.g. the EMA update of a teacher for iteration t). */
  beforeStep?(context: StepContext): void | Promise<void>;
  /** Runs after the optimiser update. */
  afterStep?(context: StepContext): void | Promise<void>;
}

/** A loss term of every step. */
export interface TermPlan {
  /** Its name in the experiment (and in metrics). */
  name: string;
  /** Its block. */
  block: AnyBlock;
  /** Weight in the total loss. */
  weight: number;
  /** The passes it reads. */
  passes: PassRequest[];
  /** The views whose supervision it reads. */
  views: string[];
  /** What it reads, as `plan` prints it. */
  reads: string[];
  /**
   * Its compute leaves state its module's hooks read (the patch contrast's new bank entries), so
   * it runs in the process that runs the hooks when a step is split over two.
   */
  feedsHooks?: boolean;
  /** Its unweighted value for one step (inside the gradient). */
  compute(context: StepContext): tf.Scalar;
}

/** A per-step metric a module reports, and its name in `metrics.jsonl`. */
export interface MetricPlan {
  /** Key in the logging window (checkpointed). */
  key: string;
  /** Field of the `train` record. */
  logAs: string;
  /** The report's chart that draws it over the iterations; metrics naming one chart share it. */
  chart?: MetricChart;
}

/** A chart of module metrics in `report.md`. */
export interface MetricChart {
  /** File-name stem under `plots/`. */
  name: string;
  /** Its title. */
  title: string;
  /** The y axis. */
  yLabel: string;
}

/** What a data stream's preparation may read and report. */
export interface DataContext {
  /** Progress lines for the user. */
  write(text: string): void;
}

/** A training data stream. */
export interface DataPlan {
  /** Which role it feeds. */
  role: Role;
  /** The dataset block. */
  block: AnyBlock;
  /** What the loader opens (in a worker). */
  source: SourceSpec;
  /** Crop and augmentation. */
  pipeline: PipelineSpec;
  /** Whether the step reads its labels. */
  labelled: boolean;
  /** Changes to the pipeline computed when the run starts (rare-class statistics). */
  prepare: ((pipeline: PipelineSpec, context: DataContext) => Promise<PipelineSpec>)[];
}

/** A validation set. */
export interface EvalSetPlan {
  /** `targetVal` or `sourceVal`. */
  role: "targetVal" | "sourceVal";
  /** The dataset block. */
  block: AnyBlock;
  /** How to open it. */
  request: DatasetRequest;
  /** Keep-ratio test scale `[long, short]` (`[0, 0]` = native). */
  scale: readonly [number, number];
}

/** A dataset block's runtime facts. */
export interface DatasetFacts {
  /** What `openDataset` needs. */
  request: DatasetRequest;
  /** The training pipeline (resize, crop, flip). */
  pipeline: PipelineSpec;
  /** One `plan` phrase: `synthCity game (500 images, seed 0)`. */
  describe: string;
  /** Crop `[height, width]` of training samples. */
  crop: readonly [number, number];
}

/** A `plan` section a module adds. */
export interface PlanSection {
  /** Its title. */
  title: string;
  /** Its lines. */
  lines: string[];
}

/** An RGB picture, row-major `height × width × 3`. */
export interface Picture {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 8-bit RGB. */
  data: Uint8Array;
}

/** What a report figure may read at an evaluation. */
export interface FigureContext {
  /** The iteration evaluated. */
  readonly iteration: number;
  /** A network by name. */
  network(name: string): Network;
  /** The first image of a validation set (`targetVal`), normalised at its test scale, `[1, H, W, 3]`. */
  evalImage(role: "targetVal" | "sourceVal"): tf.Tensor4D;
  /** How many images a validation set has (0 when the experiment has none). */
  evalCount(role: "targetVal" | "sourceVal"): number;
  /** Image `index` of a validation set as `evalImage` gives it, with its native-size label. */
  evalSample(role: "targetVal" | "sourceVal", index: number): EvalSample;
  /** A stream for `label`, the same at every evaluation (a figure shows the same draw each time). */
  rng(label: string): RandomStream;
}

/** A validation image with its label, for a figure. */
export interface EvalSample {
  /** Normalised at the test scale, `[1, H, W, 3]` (the caller disposes it). */
  image: tf.Tensor4D;
  /** trainIds at native size, row-major. */
  label: Uint8Array;
  /** Native width of `label`. */
  width: number;
  /** Native height of `label`. */
  height: number;
}

/**
 * A picture a module adds to the report at every evaluation (MIC's masked input and its
 * prediction, PiPa's class-similarity heat map): `pictures/<name>_<iteration>.png`, or `.svg`
 * where `draw` returns an SVG document, listed in `report.md` under its caption.
 */
export interface FigurePlan {
  /** File-name stem. */
  name: string;
  /** Who declared it. */
  by: string;
  /** What its panels show, left to right. */
  caption: string;
  /** Draws it (tensors it makes are its own to dispose): a raster picture or SVG text. */
  draw(context: FigureContext): Promise<Picture | string>;
}

/** Where a block stands in the experiment. */
export interface Place {
  /** Dotted path: `losses.ce`, `teacher`, `data.sampling`. */
  path: string;
  /** The term's name, for loss blocks. */
  term?: string;
}

/** What a module may declare while lowering its block. */
export interface ProgramBuilder {
  /** The experiment being lowered. */
  readonly experiment: Experiment;
  /** Adds a network or trainable module (once per name; later declarations are ignored). */
  addNetwork(plan: NetworkPlan): void;
  /** Adds a derived view. */
  addView(plan: ViewPlan): void;
  /** Adds a loss term. */
  addTerm(plan: TermPlan): void;
  /** Adds a hook. */
  addHook(plan: HookPlan): void;
  /** Changes how a pass runs from an iteration on. */
  addPassSetting(plan: PassSettingPlan): void;
  /** Adds a per-step metric. */
  addMetric(plan: MetricPlan): void;
  /** Kernels the block runs. */
  addKernels(use: KernelUse): void;
  /** Lines for `plan`. */
  addPlanSection(section: PlanSection): void;
  /** A picture for the report at every evaluation. */
  addFigure(plan: FigurePlan): void;
  /** Prepares a data stream when the run starts (only if some pass reads the role). */
  prepareData(role: Role, prepare: DataPlan["prepare"][number]): void;
  /** Changes a data stream's pipeline at compile time (e.g. target order under RCS). */
  adjustPipeline(role: Role, adjust: (pipeline: PipelineSpec) => PipelineSpec): void;
  /** Lowers a nested block (a model's encoder, a wrapper's inner segmentor). */
  lower(block: AnyBlock, place: Place): void;
  /** The runtime facts of a dataset block (from its module). */
  dataset(block: AnyBlock, path: string): DatasetFacts;
}

/** A block kind's runtime module. */
export interface BlockModule<B extends AnyBlock = AnyBlock> {
  /** The block kind it lowers. */
  readonly kind: B["kind"];
  /** Declares what the block adds to the program. */
  lower?(block: B, builder: ProgramBuilder, place: Place): void;
  /** For dataset blocks: how to open and preprocess the data. */
  dataset?(block: B, path: string): DatasetFacts;
  /** For encoder and decoder blocks: their part of the segmentor's spec and options. */
  modelPart?(block: B): ModelPart;
  /** For resolution blocks: how they wrap the segmentor of `experiment`. */
  resolution?(block: B, experiment: Experiment): ResolutionWrapper;
}

/** What an encoder or decoder block contributes to a segmentor. */
export interface ModelPart {
  /** Encoder variant (`mit_b5`), for encoder blocks. */
  encoder?: string;
  /** Decoder kind (`daformer`), for decoder blocks. */
  decoder?: "segformer" | "daformer";
  /** Segmentor options it sets (widths, dropout, drop-path). */
  options: Record<string, number>;
  /** Encoder weights to start from ("" = none), for encoder blocks. */
  pretrained?: string;
}
