/**
 * The worker of a step split over two processes: it compiles the experiment again, builds its
 * networks (their values come from the main process each step), and for each step builds the
 * views its groups read, differentiates them and returns the term values, the gradients, the
 * metrics and the BatchNorm updates as typed arrays. It runs no hooks and keeps no state between
 * steps: every value it reads arrives with the step. At an evaluation it counts its share of each
 * validation set with the student's values sent along (`split_eval.ts`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { tf } from "../tf.ts";
import { useBackend } from "../backend/mod.ts";
import { checkKernels } from "../compile/kernels.ts";
import { compile, type Program } from "../compile/program.ts";
import { RandomStream } from "../random.ts";
import type { Network, Role, View } from "../blocks/types.ts";
import type { Param } from "../nn/params.ts";
import { type EvalSet, evaluate, loadEvalSet } from "../eval/evaluate.ts";
import { buildNetworks } from "./networks.ts";
import { disposeViews } from "./data.ts";
import { laneOf, type TermGroup, termGroups } from "./lanes.ts";
import {
  differentiate,
  prepareStep,
  RunningStatsLog,
  StepState,
  trainableParams,
} from "./step_state.ts";
import {
  type EvaluateRequest,
  type EvaluateResult,
  fromHost,
  type InitRequest,
  type LaneReply,
  type LaneRequest,
  type RemoteRunningStats,
  type StepRequest,
  type StepResult,
  viewFromHost,
} from "./lane_protocol.ts";

interface LaneState {
  program: Program;
  networks: Map<string, Network>;
  groups: TermGroup[];
  mine: number[];
  views: Set<string>;
  trainable: Param[];
  /** Each variable's network and parameter name, for the BatchNorm updates it records. */
  names: Map<tf.Variable, [string, string]>;
  /** The validation sets, loaded at the first evaluation. */
  evalSets?: Map<string, EvalSet>;
}

let lane: LaneState | undefined;

async function init(request: InitRequest): Promise<void> {
  const info = await useBackend(request.experiment.run.backend, {
    ...(request.experiment.run.backend === "wasm" ? { threads: request.threads } : {}),
  });
  const program = compile(request.experiment);
  if (program.hash !== request.hash) {
    throw new Error(
      `lane worker: the experiment compiled to ${program.hash}, the main process's to ` +
        `${request.hash}; both must run the same code`,
    );
  }
  checkKernels(program.kernels, info.name);
  // Random values: every parameter is overwritten from the main process before its first use.
  const networks = await buildNetworks(program, undefined, false);
  const groups = termGroups(program);
  const names = new Map<tf.Variable, [string, string]>();
  for (const [network, built] of networks) {
    for (const p of built.params.list()) names.set(p.variable, [network, p.name]);
  }
  lane = {
    program,
    networks,
    groups,
    mine: request.groups,
    views: laneOf(program, groups, request.groups).views,
    trainable: trainableParams(program, networks),
    names,
  };
}

function assignWeights(state: LaneState, weights: StepRequest["weights"]): void {
  for (const { network, values } of weights) {
    const params = state.networks.get(network)!.params.list();
    tf.tidy(() => params.forEach((p, i) => p.variable.assign(fromHost(values[i]))));
  }
}

async function step(state: LaneState, request: StepRequest): Promise<StepResult> {
  assignWeights(state, request.weights);
  const inputs = new Map<Role, View>(
    request.inputs.map((input) => [input.role, viewFromHost(input)]),
  );
  const log = new RunningStatsLog();
  const step = new StepState(
    state.program,
    state.networks,
    inputs,
    request.iteration,
    new RandomStream(request.rng),
    log,
  );
  const results: ReturnType<typeof differentiate>[] = [];
  try {
    const terms = state.mine.flatMap((g) => state.groups[g].terms);
    await prepareStep(step, terms, state.views);
    for (const g of state.mine) results.push(differentiate(step, state.groups[g], state.trainable));
    const stacked = tf.stack(results.flatMap((r) => r.values));
    const termValues = await stacked.data();
    stacked.dispose();
    const values: Record<string, number> = {};
    terms.forEach((term, i) => (values[term.name] = termValues[i]));
    const grads = state.mine.map((group, k) => ({
      group,
      values: results[k].grads.map((g) => g?.dataSync() as Float32Array | undefined),
    }));
    const metrics: Record<string, Float32Array> = {};
    for (const [key, tensor] of step.metrics) metrics[key] = (await tensor.data()) as Float32Array;
    const runningStats: RemoteRunningStats[] = [];
    for (const [pass, updates] of log.byPass) {
      for (const u of updates) {
        const [network, runningMean] = state.names.get(u.runningMean)!;
        runningStats.push({
          pass,
          network,
          runningMean,
          runningVar: state.names.get(u.runningVar)![1],
          mean: (await u.mean.data()) as Float32Array,
          variance: (await u.variance.data()) as Float32Array,
          count: u.count,
        });
      }
    }
    return { type: "result", values, grads, metrics, runningStats };
  } finally {
    tf.dispose(results.flatMap((r) => [...r.values, ...r.grads.filter((g) => g !== undefined)]));
    disposeViews(inputs);
    step.dispose();
  }
}

/** Counts the requested images of a validation set with the student's values sent along. */
async function evaluatePart(state: LaneState, request: EvaluateRequest): Promise<EvaluateResult> {
  const student = state.networks.get("student")!;
  const params = student.params.list();
  tf.tidy(() => params.forEach((p, i) => p.variable.assign(fromHost(request.weights[i]))));
  if (state.evalSets === undefined) {
    state.evalSets = new Map();
    for (const plan of state.program.evaluation.sets) {
      state.evalSets.set(plan.role, await loadEvalSet(plan));
    }
  }
  const set = state.evalSets.get(request.set);
  if (set === undefined) throw new Error(`lane worker: no validation set '${request.set}'`);
  const { settings } = state.program.evaluation;
  const result = await evaluate(
    student,
    { role: set.role, images: set.images.slice(request.start, request.end) },
    {
      batchSize: settings.batchSize,
      protocol: settings.protocol,
      pictures: 0,
      numClasses: state.program.experiment.model.numClasses,
    },
  );
  const consistency = result.consistency;
  return {
    type: "confusion",
    counts: result.confusion.counts,
    ...(consistency ? { consistency: { ...consistency } } : {}),
  };
}

self.onmessage = async (event: MessageEvent<LaneRequest>) => {
  let reply: LaneReply;
  try {
    const request = event.data;
    if (request.type === "init") {
      await init(request);
      reply = { type: "ready" };
    } else {
      if (lane === undefined) throw new Error(`lane worker: '${request.type}' before init`);
      reply = request.type === "step"
        ? await step(lane, request)
        : await evaluatePart(lane, request);
    }
  } catch (error) {
    reply = {
      type: "error",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  self.postMessage(reply);
};
