/**
 * One training step, knowing no block kinds: the modules' before-step hooks; the views they
 * derive, in dependency order, outside the gradient; the passes of networks that are not
 * trained (a frozen encoder), also outside; then, inside the gradient, the terms — each
 * distinct pass of a trained network once, shared by the terms that read it — and their
 * weighted sum; one read of every term value and metric; the AdamW update of every trained
 * network's parameters; the after-step hooks.
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
import { type ModelOutputs, outputTensors } from "../nn/segmentor.ts";
import type { Param } from "../nn/params.ts";
import {
  type Network,
  passId,
  type PassRequest,
  type Role,
  type StepContext,
  type View,
} from "../blocks/types.ts";

/** The networks of a run by name (the student, and what the modules add). */
export type Networks = ReadonlyMap<string, Network>;

/** A loss that became NaN or Inf. */
export class DivergedError extends Error {
  override name = "DivergedError";
}

/** The data batches of a step, by role. */
export type StepInputs = ReadonlyMap<Role, View>;

/** The parameters AdamW updates: every trained network's, in program order. */
export function trainableParams(program: Program, networks: Networks): Param[] {
  return program.networks.filter((n) => n.trainable).flatMap((n) =>
    networks.get(n.name)!.params.trainable()
  );
}

/** The state one step shares between its phases. */
class Step implements StepContext {
  readonly owned: tf.Tensor[] = [];
  readonly metrics = new Map<string, tf.Tensor>();
  readonly #views = new Map<string, View>();
  readonly #fixed = new Map<string, ModelOutputs>();
  #gradientPasses: Map<string, ModelOutputs> | undefined;

  constructor(
    readonly program: Program,
    readonly networks: Networks,
    inputs: StepInputs,
    readonly iteration: number,
    readonly stepRng: RandomStream,
  ) {
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
      const mode = {
        training: request.training,
        batchStatistics: request.batchStatistics,
        rng: this.stepRng.fork(id),
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

  /** Marks the start of the gradient phase (trained passes from here on are differentiated). */
  enterGradient(): void {
    this.#gradientPasses = new Map();
  }
}

/**
 * One training step: returns each term's unweighted value, the weighted total (`loss`) and
 * the modules' metrics, or throws {@linkcode DivergedError} before updating anything when a
 * term is not finite.
 */
export async function trainStep(
  program: Program,
  networks: Networks,
  optimizer: AdamW,
  inputs: StepInputs,
  iteration: number,
  root: RandomStream,
): Promise<Record<string, number>> {
  const step = new Step(program, networks, inputs, iteration, root.fork(`step:${iteration}`));
  const kept: tf.Scalar[] = [];
  try {
    for (const hook of program.hooks) await hook.beforeStep?.(step);
    for (const view of program.views) step.setView(view.name, await view.build(step));
    for (const pass of program.passes) {
      if (!step.trained(pass) && (pass.startIteration ?? 0) <= iteration) step.pass(pass);
    }
    step.enterGradient();
    const trainable = trainableParams(program, networks);
    const { value, grads } = tf.variableGrads(() => {
      let total: tf.Scalar | undefined;
      for (const term of program.terms) {
        const v = term.compute(step);
        kept.push(tf.keep(v));
        const weighted = tf.mul(v, term.weight) as tf.Scalar;
        total = total === undefined ? weighted : tf.add(total, weighted);
      }
      return total!;
    }, trainable.map((p) => p.variable));
    try {
      const out = await readValues(program, step, kept, value);
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
      // A parameter no term reached this step (a loss before its start) has no gradient, and
      // AdamW leaves it and its step count alone, as torch does with a `.grad` of None.
      for (const p of trainable) {
        const grad = grads[p.variable.name];
        if (grad !== undefined) byName[p.name] = grad;
      }
      optimizer.apply(byName, (base) => learningRate(program.schedule, base, iteration));
      for (const hook of program.hooks) await hook.afterStep?.(step);
      return out;
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    tf.dispose([...kept, ...step.owned]);
  }
}

/**
 * Reads every term value, the total and the metrics in one asynchronous transfer from the device
 * (GPU backends cannot read synchronously under Deno).
 */
async function readValues(
  program: Program,
  step: Step,
  kept: tf.Scalar[],
  total: tf.Scalar,
): Promise<Record<string, number>> {
  const metrics = program.metrics.filter((m) => step.metrics.has(m.key));
  const flat = tf.tidy(() =>
    tf.concat([
      tf.stack([...kept, total]),
      ...metrics.map((m) => tf.reshape(step.metrics.get(m.key)!, [-1])),
    ])
  );
  let values: Float32Array;
  try {
    values = (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
  const out: Record<string, number> = {};
  program.terms.forEach((t, i) => (out[t.name] = values[i]));
  out.loss = values[kept.length];
  let offset = kept.length + 1;
  for (const m of metrics) {
    const n = step.metrics.get(m.key)!.size;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[offset + i];
    out[m.key] = sum / n;
    offset += n;
  }
  return out;
}
