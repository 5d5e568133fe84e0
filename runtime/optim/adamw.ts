/**
 * AdamW with per-parameter-group learning rate and weight decay, exactly as PyTorch 1.7's
 * `torch.optim.AdamW` (the DAFormer/HRDA/MIC pin): decoupled decay `p ← p·(1 − lr·wd)`, then
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
 * Defaults lr 6e-5, betas (0.9, 0.999), weight decay 0.01, ε 1e-8
 * (`shared/reference/daformer_hrda_mic.md` §1.4, `schedules/adamw.py`).
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Param } from "../nn/params.ts";
import {
  assignGroup,
  DAFORMER_PARAM_RULES,
  type ParamGroupAssignment,
  type ParamRule,
} from "./param_groups.ts";

/** Hyperparameters of {@linkcode AdamW}. */
export interface AdamWOptions {
  /** Base learning rate (6e-5). */
  lr: number;
  /** First-moment decay (0.9). */
  beta1: number;
  /** Second-moment decay (0.999). */
  beta2: number;
  /** Base weight decay (0.01). */
  weightDecay: number;
  /** Added to the denominator (1e-8, PyTorch's default). */
  eps: number;
  /** Parameter-group rules (DAFormer's by default). */
  rules: readonly ParamRule[];
}

/** The published DAFormer optimiser settings. */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze({
  lr: 6e-5,
  beta1: 0.9,
  beta2: 0.999,
  weightDecay: 0.01,
  eps: 1e-8,
  rules: DAFORMER_PARAM_RULES,
});

/** The optimiser state a checkpoint stores. */
export interface AdamWState {
  /** Steps taken so far (PyTorch keeps one per parameter; ours all step together). */
  step: number;
  /** First and second moments by parameter name. */
  moments: Map<string, { m: tf.Tensor; v: tf.Tensor }>;
}

/** AdamW over a fixed list of trainable parameters. */
export class AdamW {
  readonly options: Readonly<AdamWOptions>;
  readonly groups: readonly ParamGroupAssignment[];
  #params: Param[];
  #m: tf.Variable[];
  #v: tf.Variable[];
  #step = 0;

  /** Creates zero moments for every parameter in `params` (trainable ones only are accepted). */
  constructor(params: readonly Param[], options: Partial<AdamWOptions> = {}) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    const untrainable = params.filter((p) => !p.trainable).map((p) => p.name);
    if (untrainable.length > 0) {
      throw new Error(`AdamW: buffers cannot be optimised: ${untrainable.slice(0, 5).join(", ")}`);
    }
    this.#params = [...params];
    this.groups = this.#params.map((p) => assignGroup(p.name, this.options.rules));
    this.#m = this.#params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.#v = this.#params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /**
   * One update with gradients by parameter name. `lr` is the scheduled base learning rate for
   * this step (each group scales it by its multiplier). Missing gradients leave a parameter as it is
   * but still advance the step, as PyTorch skips parameters whose `.grad` is None.
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    this.#step += 1;
    const { beta1, beta2, eps, weightDecay } = this.options;
    const correction1 = 1 - beta1 ** this.#step;
    const sqrtCorrection2 = Math.sqrt(1 - beta2 ** this.#step);
    tf.tidy(() => {
      this.#params.forEach((param, i) => {
        const grad = grads[param.name];
        if (grad === undefined) return;
        const group = this.groups[i];
        const groupLr = lr * group.lrMult;
        const decay = weightDecay * group.decayMult;
        const m = tf.add(tf.mul(this.#m[i], beta1), tf.mul(grad, 1 - beta1));
        const v = tf.add(tf.mul(this.#v[i], beta2), tf.mul(tf.square(grad), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtCorrection2), eps);
        const decayed = decay === 0 ? param.variable : tf.mul(param.variable, 1 - groupLr * decay);
        const updated = tf.sub(decayed, tf.mul(tf.div(m, denom), groupLr / correction1));
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        param.variable.assign(updated);
      });
    });
  }

  /** A copy of the state (the caller owns the returned tensors). */
  state(): AdamWState {
    const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
    this.#params.forEach((p, i) =>
      moments.set(p.name, { m: this.#m[i].clone(), v: this.#v[i].clone() })
    );
    return { step: this.#step, moments };
  }

  /** Restores a state saved by {@linkcode state}; every parameter's moments must be present. */
  loadState(state: AdamWState): void {
    this.#params.forEach((p, i) => {
      const saved = state.moments.get(p.name);
      if (saved === undefined) throw new Error(`AdamW.loadState: no moments for '${p.name}'`);
      if (
        saved.m.shape.join() !== p.variable.shape.join() ||
        saved.v.shape.join() !== p.variable.shape.join()
      ) {
        throw new Error(`AdamW.loadState: moments of '${p.name}' have the wrong shape`);
      }
      this.#m[i].assign(saved.m);
      this.#v[i].assign(saved.v);
    });
    this.#step = state.step;
  }

  /** Frees the moment variables. */
  dispose(): void {
    tf.dispose([...this.#m, ...this.#v]);
  }
}
