/**
 * One training step, knowing no block kinds: the modules' before-step hooks; the views they
 * derive, in dependency order, outside the gradient; the passes of networks that are not
 * trained (a frozen encoder), also outside; then, inside the gradient, the terms — each
 * distinct pass of a trained network once, shared by the terms that read it — and their
 * weighted sum; one read of every term value and metric; the AdamW update of every trained
 * network's parameters; the after-step hooks.
 *
 * Terms that share no trained pass are differentiated on separate tapes (`lanes.ts`), their
 * gradients summed in the order one tape would sum them; with a {@linkcode LaneWorker}, the groups
 * of its lane run in a second process at the same time as the rest, on the same values, and the
 * BatchNorm updates of both are replayed in one-process order, so the step's result does not
 * depend on how it was run.
 *
 * Every random decision of step t draws from `root.fork("step:t")` forked again by name (a
 * pass by its id, a view by the label it asks for), so no stream state is carried between
 * steps and a resumed run draws exactly what an uninterrupted one draws.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { AdamW } from "../optim/adamw.ts";
import { learningRate } from "../optim/schedule.ts";
import type { Program } from "../compile/program.ts";
import { applyRunningStats } from "../nn/layers.ts";
import type { TermPlan } from "../blocks/types.ts";
import { passOrder, type TermGroup, termGroups } from "./lanes.ts";
import type { LaneWorker } from "./lane_client.ts";
import type { StepResult } from "./lane_protocol.ts";
import {
  differentiate,
  type GroupGradient,
  type Networks,
  prepareStep,
  RunningStatsLog,
  type StepInputs,
  StepState,
  sumGroupGradients,
  trainableParams,
  weightedTotal,
} from "./step_state.ts";

export { trainableParams };
export type { Networks, StepInputs };

/** A loss that became NaN or Inf. */
export class DivergedError extends Error {
  override name = "DivergedError";
}

const groupsCache = new WeakMap<Program, { groups: TermGroup[]; order: string[] }>();

function groupsOf(program: Program): { groups: TermGroup[]; order: string[] } {
  let cached = groupsCache.get(program);
  if (cached === undefined) {
    const groups = termGroups(program);
    cached = { groups, order: passOrder(program, groups) };
    groupsCache.set(program, cached);
  }
  return cached;
}

/**
 * One training step: returns each term's unweighted value, the weighted total (`loss`) and
 * the modules' metrics, or throws {@linkcode DivergedError} before updating anything when a
 * term is not finite. With `lanes`, the worker's groups run in its process meanwhile.
 */
export async function trainStep(
  program: Program,
  networks: Networks,
  optimizer: AdamW,
  inputs: StepInputs,
  iteration: number,
  root: RandomStream,
  lanes?: LaneWorker,
): Promise<Record<string, number>> {
  const { groups, order } = groupsOf(program);
  const trainable = trainableParams(program, networks);
  const stepRng = root.fork(`step:${iteration}`);
  // Taken before any phase draws, so the worker's copy starts where this one does.
  const rngState = stepRng.state;
  const step = new StepState(
    program,
    networks,
    inputs,
    iteration,
    stepRng,
    lanes === undefined ? undefined : new RunningStatsLog(),
  );
  const mine = lanes?.plan.main.groups ?? groups.map((g) => g.index);
  const local = new Map<number, GroupGradient>();
  let remote: Promise<StepResult> | undefined;
  let summed: (tf.Tensor | undefined)[] = [];
  try {
    for (const hook of program.hooks) await hook.beforeStep?.(step);
    remote = lanes?.run(iteration, rngState, inputs, networks);
    const terms = mine.flatMap((g) => groups[g].terms);
    await prepareStep(step, terms, lanes?.plan.main.views);
    for (const g of mine) local.set(g, differentiate(step, groups[g], trainable));
    const worker = remote === undefined ? undefined : await remote;
    remote = undefined;
    const out = await readValues(
      program,
      step,
      terms,
      mine.flatMap((g) => local.get(g)!.values),
      worker,
    );
    if (step.runningStats !== undefined) {
      replayRunningStats(networks, order, step.runningStats, worker?.runningStats ?? []);
    }
    for (const t of program.terms) {
      if (!Number.isFinite(out[t.name])) {
        throw new DivergedError(
          `iteration ${iteration + 1}: loss term '${t.name}' (${t.block.kind}) is ` +
            `${out[t.name]}. The update was not applied; the last good checkpoint is kept. ` +
            `Lower optimizer.lr or check the term's inputs.`,
        );
      }
    }
    const perGroup = groups.map((g) =>
      local.get(g.index)?.grads ??
        worker!.grads.find((r) => r.group === g.index)!.values.map((grad, i) =>
          grad === undefined ? undefined : tf.tensor(grad, trainable[i].variable.shape)
        )
    );
    for (const g of local.values()) g.grads = [];
    summed = sumGroupGradients(perGroup, trainable.length);
    const byName: Record<string, tf.Tensor> = {};
    // A parameter no term reached this step (a loss before its start) has no gradient, and
    // AdamW leaves it and its step count alone, as torch does with a `.grad` of None.
    trainable.forEach((p, i) => {
      if (summed[i] !== undefined) byName[p.name] = summed[i]!;
    });
    optimizer.apply(byName, (base) => learningRate(program.schedule, base, iteration));
    for (const hook of program.hooks) await hook.afterStep?.(step);
    return out;
  } finally {
    // A failed step still waits for the worker, so its next request finds it idle.
    if (remote !== undefined) await remote.catch(() => undefined);
    tf.dispose(summed.filter((g) => g !== undefined));
    for (const g of local.values()) {
      tf.dispose([...g.values, ...g.grads.filter((grad) => grad !== undefined)]);
    }
    step.dispose();
  }
}

/**
 * Replays the BatchNorm updates of both processes in one-process pass order; a pass both ran (a
 * view both lanes read) counts once, from the main process.
 */
function replayRunningStats(
  networks: Networks,
  order: readonly string[],
  local: RunningStatsLog,
  remote: StepResult["runningStats"],
): void {
  const passes = [...new Set([...order, ...local.byPass.keys(), ...remote.map((u) => u.pass)])];
  for (const pass of passes) {
    const mine = local.byPass.get(pass);
    if (mine !== undefined) {
      mine.forEach(applyRunningStats);
      continue;
    }
    for (const u of remote.filter((r) => r.pass === pass)) {
      const params = networks.get(u.network)!.params;
      const [mean, variance] = [tf.tensor(u.mean), tf.tensor(u.variance)];
      applyRunningStats({
        runningMean: params.get(u.runningMean),
        runningVar: params.get(u.runningVar),
        mean,
        variance,
        count: u.count,
      });
      tf.dispose([mean, variance]);
    }
  }
}

/**
 * Reads the term values of this process and the metrics in one asynchronous transfer from the
 * device (GPU backends cannot read synchronously under Deno), adds the worker's, and forms the
 * weighted total as float32 arithmetic does.
 */
async function readValues(
  program: Program,
  step: StepState,
  terms: readonly TermPlan[],
  kept: readonly tf.Scalar[],
  worker: StepResult | undefined,
): Promise<Record<string, number>> {
  const metrics = program.metrics.filter((m) => step.metrics.has(m.key));
  const flat = tf.tidy(() =>
    tf.concat([
      ...(kept.length === 0 ? [] : [tf.stack(kept as tf.Scalar[])]),
      ...metrics.map((m) => tf.reshape(step.metrics.get(m.key)!, [-1])),
    ])
  );
  let values: Float32Array;
  try {
    values = (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
  const termValues: Record<string, number> = { ...worker?.values };
  terms.forEach((t, i) => (termValues[t.name] = values[i]));
  const out: Record<string, number> = {};
  for (const t of program.terms) out[t.name] = termValues[t.name];
  out.loss = weightedTotal(program.terms, termValues);
  const mean = (array: ArrayLike<number>, offset: number, n: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += array[offset + i];
    return sum / n;
  };
  let offset = kept.length;
  for (const m of metrics) {
    const n = step.metrics.get(m.key)!.size;
    out[m.key] = mean(values, offset, n);
    offset += n;
  }
  for (const m of program.metrics) {
    const remote = worker?.metrics[m.key];
    if (!step.metrics.has(m.key) && remote !== undefined) {
      out[m.key] = mean(remote, 0, remote.length);
    }
  }
  return out;
}
