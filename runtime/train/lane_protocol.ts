/**
 * The messages between the main process and a lane worker (`lane_worker.ts`), and the copies of
 * views and parameters they carry. Only typed arrays and plain data cross: each side keeps its own
 * TensorFlow.js engine.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Experiment } from "../../dsl/mod.ts";
import type { Role, View } from "../blocks/types.ts";
import type { RandomState } from "../random.ts";

/** A tensor's values with its shape and dtype. */
export interface HostTensor {
  /** Values, row-major. */
  data: Float32Array | Int32Array;
  /** Shape. */
  shape: number[];
  /** `float32` or `int32`. */
  dtype: "float32" | "int32";
}

/** Starts a worker: the experiment (compiled again there) and the groups it runs. */
export interface InitRequest {
  type: "init";
  /** The experiment, as the main process compiled it. */
  experiment: Experiment;
  /** Its hash, checked against the worker's compilation. */
  hash: string;
  /** Compute threads of the worker's wasm backend. */
  threads: number;
  /** Indices of the term groups the worker differentiates. */
  groups: number[];
}

/** One step's work for the worker. */
export interface StepRequest {
  type: "step";
  /** Zero-based iteration. */
  iteration: number;
  /** The state of the step's random stream (`root.fork("step:t")`) before anything drew. */
  rng: RandomState;
  /** The data batches by role (with their frame-pair planes, where loaded). */
  inputs: {
    role: Role;
    image: HostTensor;
    label?: HostTensor;
    hostLabel?: Int32Array;
    previous?: HostTensor;
    flow?: HostTensor;
    flowValid?: HostTensor;
  }[];
  /** Parameter values per network, in its store's order (networks that did not change left out). */
  weights: { network: string; values: HostTensor[] }[];
}

/**
 * Evaluating part of a validation set: the worker loads the program's validation sets once and
 * counts images `[start, end)` of one with the student's values sent along.
 */
export interface EvaluateRequest {
  type: "evaluate";
  /** The validation set's role (`targetVal`, `sourceVal`). */
  set: string;
  /** First image. */
  start: number;
  /** One past the last image. */
  end: number;
  /** The student's parameter values, in its store's order. */
  weights: HostTensor[];
}

/** The worker's part of an evaluation: its confusion counts (row = label, column = prediction). */
export interface EvaluateResult {
  type: "confusion";
  /** `numClasses²` counts. */
  counts: Float64Array;
  /** The temporal-consistency counts per class, where the set has frame pairs. */
  consistency?: { counted: Float64Array; agreeing: Float64Array };
}

/** A BatchNorm update the worker recorded: the buffers by name and the batch statistics. */
export interface RemoteRunningStats {
  /** The pass that made it. */
  pass: string;
  /** The network whose buffers it moves. */
  network: string;
  /** The `running_mean` buffer's name. */
  runningMean: string;
  /** The `running_var` buffer's name. */
  runningVar: string;
  /** Batch mean. */
  mean: Float32Array;
  /** Batch biased variance. */
  variance: Float32Array;
  /** Values per channel. */
  count: number;
}

/** What the worker returns for a step. */
export interface StepResult {
  type: "result";
  /** Unweighted term values by name (float32 values). */
  values: Record<string, number>;
  /**
   * Per group it ran (its index), the gradient per trainable parameter (program order), undefined
   * where none reached it: the main process sums all groups in one order.
   */
  grads: { group: number; values: (Float32Array | undefined)[] }[];
  /** Metric values by key, for the metrics its views and terms reported. */
  metrics: Record<string, Float32Array>;
  /** The BatchNorm updates its passes made, in order. */
  runningStats: RemoteRunningStats[];
}

/** A worker's message. */
export type LaneReply =
  | { type: "ready" }
  | StepResult
  | EvaluateResult
  | { type: "error"; message: string };

/** A worker's request. */
export type LaneRequest = InitRequest | StepRequest | EvaluateRequest;

/** The host copy of a tensor. */
export function toHost(tensor: tf.Tensor): HostTensor {
  const dtype = tensor.dtype === "int32" ? "int32" : "float32";
  const data = tensor.dataSync() as Float32Array | Int32Array;
  return { data, shape: [...tensor.shape], dtype };
}

/** A tensor from its host copy. */
export function fromHost(host: HostTensor): tf.Tensor {
  return tf.tensor(host.data, host.shape, host.dtype);
}

/** The tensor planes of a data view besides its image (weights are not inputs). */
const PLANES = ["label", "previous", "flow", "flowValid"] as const;

/** The host copy of a data view (image, labels and their host copy, frame-pair planes). */
export function viewToHost(role: Role, view: View): StepRequest["inputs"][number] {
  const input: StepRequest["inputs"][number] = { role, image: toHost(view.image) };
  for (const plane of PLANES) {
    const tensor = view[plane];
    if (tensor !== undefined) input[plane] = toHost(tensor);
  }
  if (view.hostLabel !== undefined) input.hostLabel = view.hostLabel;
  return input;
}

/** A data view from its host copy. */
export function viewFromHost(input: StepRequest["inputs"][number]): View {
  const view: View = { image: fromHost(input.image) as tf.Tensor4D };
  if (input.label !== undefined) view.label = fromHost(input.label) as tf.Tensor3D;
  if (input.previous !== undefined) view.previous = fromHost(input.previous) as tf.Tensor4D;
  if (input.flow !== undefined) view.flow = fromHost(input.flow) as tf.Tensor4D;
  if (input.flowValid !== undefined) view.flowValid = fromHost(input.flowValid) as tf.Tensor3D;
  if (input.hostLabel !== undefined) view.hostLabel = input.hostLabel;
  return view;
}
