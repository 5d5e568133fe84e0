/**
 * The worker of a step split over two processes: it compiles the experiment again, builds its
 * networks (their values come from the main process each step), and for each step builds the
 * views its groups read, differentiates them and returns the term values, the gradients, the
 * metrics and the BatchNorm updates as typed arrays. It runs no hooks and keeps no state between
 * steps: every value it reads arrives with the step.
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
import { buildNetworks } from "./networks.ts";
import { laneOf, type TermGroup, termGroups } from "./lanes.ts";
import {
  differentiate,
  prepareStep,
  RunningStatsLog,
  StepState,
  trainableParams,
} from "./step_state.ts";
import {
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
    tf.dispose([...inputs.values()].flatMap((v) => [v.image, ...(v.label ? [v.label] : [])]));
    step.dispose();
  }
}

self.onmessage = async (event: MessageEvent<LaneRequest>) => {
  let reply: LaneReply;
  try {
    const request = event.data;
    if (request.type === "init") {
      await init(request);
      reply = { type: "ready" };
    } else {
      if (lane === undefined) throw new Error("lane worker: a step arrived before init");
      reply = await step(lane, request);
    }
  } catch (error) {
    reply = {
      type: "error",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  self.postMessage(reply);
};
