/**
 * The phases of a training step that the main process and a lane worker share: the state a step's
 * views, passes and terms read ({@linkcode StepState}), building the views and untrained passes a
 * set of terms needs ({@linkcode prepareStep}), and differentiating one group of terms on its own
 * tape ({@linkcode differentiate}).
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { Program } from "../compile/program.ts";
import { type ModelOutputs, outputTensors } from "../nn/segmentor.ts";
import type { Param } from "../nn/params.ts";
import type { RunningStatsUpdate } from "../nn/layers.ts";
import {
  type Network,
  passId,
  type PassRequest,
  type Role,
  type StepContext,
  type TermPlan,
  type View,
} from "../blocks/types.ts";
import type { TermGroup } from "./lanes.ts";

/** The networks of a run by name (the student, and what the modules add). */
export type Networks = ReadonlyMap<string, Network>;

/** The data batches of a step, by role. */
export type StepInputs = ReadonlyMap<Role, View>;

/** The parameters AdamW updates: every trained network's, in program order. */
export function trainableParams(program: Program, networks: Networks): Param[] {
  return program.networks.filter((n) => n.trainable).flatMap((n) =>
    networks.get(n.name)!.params.trainable()
  );
}

/** BatchNorm running-statistics updates held back for a replay, by the pass that made them. */
export class RunningStatsLog {
  /** The updates of each pass, in the order the pass made them. */
  readonly byPass = new Map<string, RunningStatsUpdate[]>();

  /** Records an update of pass `pass`. */
  add(pass: string, update: RunningStatsUpdate): void {
    this.byPass.set(pass, [...(this.byPass.get(pass) ?? []), update]);
  }

  /** Disposes the recorded batch statistics. */
  dispose(): void {
    for (const updates of this.byPass.values()) {
      tf.dispose(updates.flatMap((u) => [u.mean, u.variance]));
    }
    this.byPass.clear();
  }
}

/** The state one step shares between its phases. */
export class StepState implements StepContext {
  readonly owned: tf.Tensor[] = [];
  readonly metrics = new Map<string, tf.Tensor>();
  readonly #views = new Map<string, View>();
  readonly #inputs: StepInputs;
  readonly #fixed = new Map<string, ModelOutputs>();
  #gradientPasses: Map<string, ModelOutputs> | undefined;

  /**
   * `runningStats`, where given, receives the BatchNorm updates of every pass instead of the
   * buffers (a step split over two processes replays them in one-process order).
   */
  constructor(
    readonly program: Program,
    readonly networks: Networks,
    inputs: StepInputs,
    readonly iteration: number,
    readonly stepRng: RandomStream,
    readonly runningStats?: RunningStatsLog,
  ) {
    this.#inputs = inputs;
    for (const [role, view] of inputs) this.#views.set(role, view);
  }

  rng(label: string): RandomStream {
    return this.stepRng.fork(label);
  }
  network(name: string): Network {
    const network = this.networks.get(name);
    if (network === undefined) throw new Error(`no network '${name}' in this program`);
    return network;
  }
  view(name: string): View {
    const view = this.#views.get(name);
    if (view === undefined) throw new Error(`no view '${name}' at this point of the step`);
    return view;
  }
  input(role: Role): View {
    const view = this.#inputs.get(role);
    if (view === undefined) throw new Error(`no '${role}' batch in this step`);
    return view;
  }
  setView(name: string, view: View): void {
    this.#views.set(name, view);
  }
  own(...tensors: tf.Tensor[]): void {
    this.owned.push(...tensors);
  }
  metric(key: string, values: tf.Tensor): void {
    this.metrics.set(key, values);
  }

  /** Whether the pass's network receives gradients. */
  trained(request: PassRequest): boolean {
    return this.program.networks.find((n) => n.name === request.network)?.trainable ?? false;
  }

  pass(request: PassRequest): ModelOutputs {
    const id = passId(request);
    // A trained network's pass inside the gradient is recorded on the tape; outside it (a view
    // reading the student) it is a constant and must not be reused by a term.
    const cache = this.#gradientPasses !== undefined && this.trained(request)
      ? this.#gradientPasses
      : this.#fixed;
    let out = cache.get(id);
    if (out === undefined) {
      const network = this.network(request.network);
      if (network.forward === undefined) throw new Error(`'${request.network}' has no forward`);
      const image = this.view(request.view).image;
      const log = this.runningStats;
      const settings = this.program.passSettings.filter((s) =>
        s.network === request.network && s.view === request.view &&
        s.fromIteration <= this.iteration
      );
      const mode = {
        ...Object.assign({}, ...settings.map((s) => s.mode)),
        training: request.training,
        batchStatistics: request.batchStatistics,
        rng: this.stepRng.fork(id),
        ...(log === undefined ? {} : {
          deferRunningStats: (update: RunningStatsUpdate) => log.add(id, update),
        }),
      };
      if (cache === this.#fixed) {
        // Kept tensors outlive the scope; the record itself is returned outside tidy's typing.
        let result: ModelOutputs = {};
        tf.tidy(() => {
          result = network.forward!(image, mode);
          outputTensors(result).forEach((x) => tf.keep(x));
        });
        out = result;
        this.own(...outputTensors(out));
      } else out = network.forward(image, mode);
      cache.set(id, out);
    }
    return out;
  }

  /** Starts a gradient tape (trained passes from here on are differentiated, once per tape). */
  enterGradient(): void {
    this.#gradientPasses = new Map();
  }

  /** Disposes what the step's phases created. */
  dispose(): void {
    tf.dispose(this.owned);
    this.runningStats?.dispose();
  }
}

/**
 * The before-gradient phase for `terms`: the views they read (`views`; every view when
 * undefined), in program order, then their untrained passes that have started.
 */
export async function prepareStep(
  step: StepState,
  terms: readonly TermPlan[],
  views?: ReadonlySet<string>,
): Promise<void> {
  const { program, iteration } = step;
  for (const view of program.views) {
    if (views === undefined || views.has(view.name)) {
      step.setView(view.name, await view.build(step));
    }
  }
  const passes = views === undefined ? program.passes : terms.flatMap((term) => term.passes);
  for (const pass of passes) {
    if (!step.trained(pass) && (pass.startIteration ?? 0) <= iteration) step.pass(pass);
  }
}

/** A group's unweighted term values (kept) and its gradient per trainable parameter. */
export interface GroupGradient {
  /** The group's term values, in its order (kept: the caller disposes them). */
  values: tf.Scalar[];
  /** The gradient of Σ weight × term for each parameter, undefined where none reaches it. */
  grads: (tf.Tensor | undefined)[];
}

/** Differentiates one group's weighted term sum on its own tape. */
export function differentiate(
  step: StepState,
  group: TermGroup,
  trainable: readonly Param[],
): GroupGradient {
  step.enterGradient();
  const values: tf.Scalar[] = [];
  // The engine's form of variableGrads: a group may reach no parameter (a loss before its
  // start), which variableGrads rejects.
  const { value, grads } = tf.engine().gradients(
    () => {
      let total: tf.Scalar | undefined;
      for (const term of group.terms) {
        const v = term.compute(step);
        values.push(tf.keep(v));
        const weighted = tf.mul(v, term.weight) as tf.Scalar;
        total = total === undefined ? weighted : tf.add(total, weighted);
      }
      return total!;
    },
    trainable.map((p) => p.variable),
    undefined,
    true,
  );
  value.dispose();
  return { values, grads: grads.map((g) => g ?? undefined) };
}

/**
 * The step's gradient for each parameter from the groups' gradients: summed from the last group
 * to the first, the order one tape over all terms accumulates them in, so splitting the tape
 * changes no bit where each group reads a parameter once. Disposes the inputs it sums.
 */
export function sumGroupGradients(
  perGroup: readonly (readonly (tf.Tensor | undefined)[])[],
  count: number,
): (tf.Tensor | undefined)[] {
  const out: (tf.Tensor | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    let acc: tf.Tensor | undefined;
    for (let g = perGroup.length - 1; g >= 0; g--) {
      const grad = perGroup[g][i];
      if (grad === undefined) continue;
      if (acc === undefined) acc = grad;
      else {
        const next = tf.add(acc, grad);
        tf.dispose([acc, grad]);
        acc = next;
      }
    }
    out.push(acc);
  }
  return out;
}

/**
 * The weighted total of the term values as float32 arithmetic gives it (each product and each sum
 * rounded to float32, in term order): what the one-tape step computed on the device.
 */
export function weightedTotal(terms: readonly TermPlan[], values: Record<string, number>): number {
  let total: number | undefined;
  for (const term of terms) {
    const weighted = Math.fround(Math.fround(values[term.name]) * Math.fround(term.weight));
    total = total === undefined ? weighted : Math.fround(total + weighted);
  }
  return total ?? 0;
}
