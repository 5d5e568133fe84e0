/**
 * Named parameters: every weight and buffer of a network, keyed by its mmseg state-dict name.
 *
 * Networks are functions over a {@linkcode ParamStore}; the names are the keys of the official
 * PyTorch checkpoints (`backbone.block1.0.attn.q.weight`, `decode_head.linear_fuse.bn.running_mean`),
 * so converted weights load by name. Values are stored in TensorFlow.js layouts (NHWC world:
 * dense `[in, out]`, conv `[kh, kw, in, out]`, depthwise `[kh, kw, in, multiplier]`); `layout`
 * records how to transpose to and from PyTorch's layout.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * How a parameter's TensorFlow.js layout relates to PyTorch's:
 * - `linear`: tfjs `[in, out]` ↔ torch `nn.Linear.weight` `[out, in]`;
 * - `conv`: tfjs `[kh, kw, in, out]` ↔ torch `[out, in, kh, kw]`;
 * - `depthwise`: tfjs `[kh, kw, in, multiplier]` ↔ torch `[in·multiplier, 1, kh, kw]`;
 * - `plain`: identical (biases, norm scales, running statistics).
 */
export type TorchLayout = "linear" | "conv" | "depthwise" | "plain";

/** One named parameter or buffer. */
export interface Param {
  /** The mmseg state-dict key. */
  readonly name: string;
  /** The value, in TensorFlow.js layout. */
  readonly variable: tf.Variable;
  /** How to transpose to PyTorch layout. */
  readonly layout: TorchLayout;
  /** False for buffers such as BatchNorm running statistics (never given to the optimiser). */
  readonly trainable: boolean;
}

/** An ordered collection of named parameters. */
export class ParamStore {
  #params = new Map<string, Param>();

  /** Adds a parameter initialised to `value` (the store takes ownership of `value`). */
  add(name: string, value: tf.Tensor, layout: TorchLayout, trainable = true): tf.Variable {
    if (this.#params.has(name)) {
      value.dispose();
      throw new Error(`ParamStore: parameter '${name}' is defined twice`);
    }
    // Unique variable names keep several stores (student, teacher) apart in tfjs's registry.
    const variable = tf.variable(value, trainable, `${name}#${crypto.randomUUID()}`);
    value.dispose();
    this.#params.set(name, { name, variable, layout, trainable });
    return variable;
  }

  /** The variable named `name`; throws naming the key when it does not exist. */
  get(name: string): tf.Variable {
    const param = this.#params.get(name);
    if (param === undefined) throw new Error(`ParamStore: no parameter named '${name}'`);
    return param.variable;
  }

  /** The full entry named `name`, or undefined. */
  entry(name: string): Param | undefined {
    return this.#params.get(name);
  }

  /** True when a parameter named `name` exists. */
  has(name: string): boolean {
    return this.#params.has(name);
  }

  /** All entries in definition order. */
  list(): Param[] {
    return [...this.#params.values()];
  }

  /** The trainable entries in definition order. */
  trainable(): Param[] {
    return this.list().filter((p) => p.trainable);
  }

  /** Number of scalar values over all trainable parameters. */
  countTrainable(): number {
    return this.trainable().reduce((n, p) => n + p.variable.size, 0);
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const p of this.#params.values()) p.variable.dispose();
    this.#params.clear();
  }
}
