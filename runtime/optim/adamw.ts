/**
 * AdamW with per-parameter-group learning rate and weight decay, exactly as PyTorch 1.7's
 * `torch.optim.AdamW` (the DAFormer/HRDA/MIC pin, torch 1.7.1):
 *
 * ```
 * p ← p·(1 − lr·wd)                                  decoupled decay, first
 * m ← β1·m + (1−β1)·g
 * v ← β2·v + (1−β2)·g²
 * p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)         ε added after the bias-corrected root
 * ```
 *
 * Defaults lr 6e-5, betas (0.9, 0.999), weight decay 0.01, ε 1e-8 (torch default), no gradient
 * clipping (`shared/reference/daformer_hrda_mic.md` §1.4, DAFormer `schedules/adamw.py`). Groups
 * follow mmcv's `custom_keys` rules (`param_groups.ts`). Like torch, every parameter keeps its own
 * step count t, advanced only on steps where it receives a gradient.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Param } from "../nn/params.ts";
import { type AdamWCall, fusedAdamWGroup } from "../backend/kernels/adamw.ts";
import {
  assignGroup,
  DAFORMER_PARAM_RULES,
  type ParamGroupAssignment,
  type ParamRule,
  validateRules,
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

/** The published DAFormer optimiser settings (§1.4, `schedules/adamw.py`). */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze({
  lr: 6e-5,
  beta1: 0.9,
  beta2: 0.999,
  weightDecay: 0.01,
  eps: 1e-8,
  rules: DAFORMER_PARAM_RULES,
});

/**
 * The learning rate of one update: either the scheduled rate of the base group (each group uses
 * it × its `lrMult`; exact for the published schedule, whose min lr is 0), or a function from a
 * group's initial rate (`options.lr × lrMult`) to its scheduled rate, as mmcv schedules each
 * group: `(base) => learningRate(schedule, base, t)`.
 */
export type LearningRate = number | ((groupBaseLr: number) => number);

/** One parameter's optimiser state (torch `exp_avg`, `exp_avg_sq`, `step`). */
export interface AdamWMoments {
  /** First moment, in the parameter's TensorFlow.js layout. */
  m: tf.Tensor;
  /** Second moment, same layout. */
  v: tf.Tensor;
  /** Updates this parameter has received. */
  step: number;
}

/** The optimiser state a checkpoint stores. */
export interface AdamWState {
  /** Calls of `apply` so far. */
  step: number;
  /** Moments and step count by parameter name. */
  moments: Map<string, AdamWMoments>;
}

/** AdamW over a fixed list of trainable parameters. */
export class AdamW {
  /** The hyperparameters in use. */
  readonly options: Readonly<AdamWOptions>;
  /** Each parameter's group, in the order the parameters were given. */
  readonly groups: readonly ParamGroupAssignment[];
  #params: Param[];
  #index = new Map<string, number>();
  #m: tf.Variable[];
  #v: tf.Variable[];
  #steps: number[];
  #step = 0;

  /** Creates zero moments for every parameter in `params` (trainable ones only are accepted). */
  constructor(params: readonly Param[], options: Partial<AdamWOptions> = {}) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    checkOptions(this.options);
    const untrainable = params.filter((p) => !p.trainable).map((p) => p.name);
    if (untrainable.length > 0) {
      throw new Error(
        `AdamW: buffers cannot be optimised (${untrainable.slice(0, 5).join(", ")}). ` +
          `Pass params.trainable(), not params.list().`,
      );
    }
    this.#params = [...params];
    this.#params.forEach((p, i) => {
      if (this.#index.has(p.name)) throw new Error(`AdamW: parameter '${p.name}' is given twice`);
      this.#index.set(p.name, i);
    });
    this.groups = this.#params.map((p) => assignGroup(p.name, this.options.rules));
    // tf.variable keeps its own handle on the initial value: the zeros are disposed here.
    const zeros = (p: Param) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false));
    this.#m = this.#params.map(zeros);
    this.#v = this.#params.map(zeros);
    this.#steps = this.#params.map(() => 0);
  }

  /** Calls of {@linkcode apply} so far. */
  get step(): number {
    return this.#step;
  }

  /** Each group's learning rate for `lr` (see {@linkcode LearningRate}), by parameter index. */
  learningRates(lr: LearningRate): number[] {
    return this.groups.map((g) =>
      typeof lr === "number" ? lr * g.lrMult : lr(this.options.lr * g.lrMult)
    );
  }

  /**
   * One update from gradients by parameter name, inside one `tf.tidy` (no tensor survives it
   * except the updated variables). A parameter without a gradient is left alone and its step
   * count does not advance, as torch skips parameters whose `.grad` is None. A gradient for an
   * unknown name or of the wrong shape is an error, so a renamed parameter cannot go unnoticed.
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: LearningRate): void {
    for (const [name, grad] of Object.entries(grads)) {
      const i = this.#index.get(name);
      if (i === undefined) {
        throw new Error(`AdamW.apply: gradient for '${name}', which this optimiser does not own`);
      }
      if (grad.shape.join() !== this.#params[i].variable.shape.join()) {
        throw new Error(
          `AdamW.apply: gradient of '${name}' has shape [${grad.shape}], the parameter [${
            this.#params[i].variable.shape
          }]`,
        );
      }
    }
    const rates = this.learningRates(lr);
    const { beta1, beta2, eps, weightDecay } = this.options;
    this.#step += 1;
    tf.tidy(() => {
      const updates: number[] = [];
      const calls: AdamWCall[] = [];
      this.#params.forEach((param, i) => {
        const grad = grads[param.name];
        if (grad === undefined) return;
        const t = ++this.#steps[i];
        const groupLr = rates[i];
        const decay = weightDecay * this.groups[i].decayMult;
        // torch 1.7 AdamW: bias_correction1 = 1 − β1ᵗ, denom = √v/√(1 − β2ᵗ) + ε,
        // step_size = lr / bias_correction1.
        // One fused kernel per parameter, bit-identical on cpu and wasm to the tfjs chain
        // m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p = p·(1 − lr·wd) − (m/denom)·step_size
        // (`backend/kernels/adamw.ts`); decay factor 1 stands for "no decay" (p·1 is exact).
        // All parameters in one dispatch (`UdaAdamWGroup`), each computed as its own call.
        updates.push(i);
        calls.push({
          param: param.variable,
          grad,
          m: this.#m[i],
          v: this.#v[i],
          attrs: {
            beta1,
            beta2,
            eps,
            stepSize: groupLr / (1 - beta1 ** t),
            sqrtCorrection2: Math.sqrt(1 - beta2 ** t),
            decayFactor: decay === 0 ? 1 : 1 - groupLr * decay,
          },
        });
      });
      fusedAdamWGroup(calls).forEach(([updated, m, v], k) => {
        const i = updates[k];
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        this.#params[i].variable.assign(updated);
      });
    });
  }

  /** A copy of the state (the caller owns the returned tensors). */
  state(): AdamWState {
    const moments = new Map<string, AdamWMoments>();
    this.#params.forEach((p, i) =>
      moments.set(p.name, { m: this.#m[i].clone(), v: this.#v[i].clone(), step: this.#steps[i] })
    );
    return { step: this.#step, moments };
  }

  /**
   * Restores a state saved by {@linkcode state} (the caller still owns `state`'s tensors). Every
   * parameter must have moments of its shape, and the state may hold no other parameter; the
   * error names the offending parameters.
   */
  loadState(state: AdamWState): void {
    const problems: string[] = [];
    if (!(Number.isInteger(state.step) && state.step >= 0)) {
      problems.push(`step ${state.step} is not an integer ≥ 0`);
    }
    for (const p of this.#params) {
      const saved = state.moments.get(p.name);
      if (saved === undefined) {
        problems.push(`no moments for '${p.name}'`);
        continue;
      }
      for (const key of ["m", "v"] as const) {
        if (saved[key].shape.join() !== p.variable.shape.join()) {
          problems.push(
            `'${p.name}' ${key} has shape [${
              saved[key].shape
            }], the parameter [${p.variable.shape}]`,
          );
        }
      }
      if (!(Number.isInteger(saved.step) && saved.step >= 0)) {
        problems.push(`'${p.name}' has step ${saved.step}`);
      }
    }
    for (const name of state.moments.keys()) {
      if (!this.#index.has(name)) problems.push(`moments for unknown parameter '${name}'`);
    }
    if (problems.length > 0) {
      throw new Error(
        `AdamW.loadState: the saved state does not fit this optimiser: ${
          problems.slice(0, 10).join("; ")
        }${
          problems.length > 10 ? `; and ${problems.length - 10} more` : ""
        }. Resume with the same model and trainable parameters the checkpoint was written with.`,
      );
    }
    this.#params.forEach((p, i) => {
      const saved = state.moments.get(p.name)!;
      this.#m[i].assign(saved.m);
      this.#v[i].assign(saved.v);
      this.#steps[i] = saved.step;
    });
    this.#step = state.step;
  }

  /** Frees the moment variables. */
  dispose(): void {
    tf.dispose([...this.#m, ...this.#v]);
  }
}

function checkOptions(o: Readonly<AdamWOptions>): void {
  const problems: string[] = [];
  if (!(Number.isFinite(o.lr) && o.lr >= 0)) problems.push(`lr must be ≥ 0, got ${o.lr}`);
  for (const key of ["beta1", "beta2"] as const) {
    if (!(o[key] >= 0 && o[key] < 1)) problems.push(`${key} must lie in [0, 1), got ${o[key]}`);
  }
  if (!(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) {
    problems.push(`weightDecay must be ≥ 0, got ${o.weightDecay}`);
  }
  if (!(o.eps > 0)) problems.push(`eps must be > 0, got ${o.eps}`);
  if (problems.length > 0) {
    throw new Error(
      `AdamW: ${problems.join("; ")}. The published values are lr 6e-5, betas (0.9, 0.999), ` +
        `weightDecay 0.01, eps 1e-8 (DAFormer schedules/adamw.py).`,
    );
  }
  validateRules(o.rules);
}
