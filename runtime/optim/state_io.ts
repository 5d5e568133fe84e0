/**
 * AdamW state as named tensors, for checkpoints: `NAME.exp_avg`, `NAME.exp_avg_sq` (float32, in
 * the parameter's TensorFlow.js layout) and `NAME.step` (int32 scalar), the keys of torch's
 * per-parameter optimiser state, plus metadata `optimizer: AdamW` and `step`.
 *
 * The moments stay in TensorFlow.js layout: they exist to resume our own runs bit-exactly, not
 * to be read by PyTorch.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { AdamWMoments, AdamWState } from "./adamw.ts";
import type { SafetensorsFile, StoredTensor } from "../io/safetensors.ts";

/** Named tensors and metadata ready for `writeSafetensors`. */
export interface SerialisedState {
  /** `NAME.exp_avg`, `NAME.exp_avg_sq`, `NAME.step` for every parameter. */
  tensors: [string, StoredTensor][];
  /** `optimizer` and `step`. */
  metadata: Record<string, string>;
}

/** Reads the tensors of `state` back from the device into named arrays. */
export async function serialiseAdamWState(state: AdamWState): Promise<SerialisedState> {
  const tensors: [string, StoredTensor][] = [];
  for (const [name, { m, v, step }] of state.moments) {
    tensors.push(
      [`${name}.exp_avg`, { dtype: "float32", shape: [...m.shape], data: await floats(m) }],
      [`${name}.exp_avg_sq`, { dtype: "float32", shape: [...v.shape], data: await floats(v) }],
      [`${name}.step`, { dtype: "int32", shape: [], data: Int32Array.of(step) }],
    );
  }
  return { tensors, metadata: { optimizer: "AdamW", step: String(state.step) } };
}

async function floats(t: tf.Tensor): Promise<Float32Array> {
  return new Float32Array(await t.data());
}

/**
 * Rebuilds an {@linkcode AdamWState} from a file written with {@linkcode serialiseAdamWState}
 * (the caller owns, and disposes, the returned tensors). `source` names the file in errors.
 */
export function deserialiseAdamWState(file: SafetensorsFile, source: string): AdamWState {
  const fail = (why: string): never => {
    throw new Error(
      `${source}: not an AdamW state: ${why}. Optimiser states are written by ` +
        `serialiseAdamWState with every parameter's exp_avg, exp_avg_sq and step.`,
    );
  };
  if (file.metadata.optimizer !== "AdamW") {
    fail(`metadata 'optimizer' is ${JSON.stringify(file.metadata.optimizer)}`);
  }
  const step = Number(file.metadata.step);
  if (!(Number.isInteger(step) && step >= 0)) fail(`metadata 'step' is '${file.metadata.step}'`);
  const parts = new Map<string, Partial<Record<"exp_avg" | "exp_avg_sq" | "step", StoredTensor>>>();
  for (const [key, tensor] of file.tensors) {
    const match = /^(.+)\.(exp_avg|exp_avg_sq|step)$/.exec(key);
    if (match === null) fail(`tensor '${key}' is none of NAME.exp_avg, NAME.exp_avg_sq, NAME.step`);
    const [, name, part] = match!;
    if (!parts.has(name)) parts.set(name, {});
    parts.get(name)![part as "exp_avg" | "exp_avg_sq" | "step"] = tensor;
  }
  const checked: [string, StoredTensor, StoredTensor, number][] = [];
  for (const [name, p] of parts) {
    if (!p.exp_avg || !p.exp_avg_sq || !p.step) fail(`parameter '${name}' lacks a part`);
    if (p.exp_avg!.dtype !== "float32" || p.exp_avg_sq!.dtype !== "float32") {
      fail(`the moments of '${name}' are not floating point`);
    }
    if (p.exp_avg!.shape.join() !== p.exp_avg_sq!.shape.join()) {
      fail(`'${name}.exp_avg' and '${name}.exp_avg_sq' differ in shape`);
    }
    if (p.step!.data.length !== 1) fail(`'${name}.step' is not a scalar`);
    checked.push([name, p.exp_avg!, p.exp_avg_sq!, Number(p.step!.data[0])]);
  }
  const moments = new Map<string, AdamWMoments>();
  for (const [name, m, v, s] of checked) {
    moments.set(name, {
      m: tf.tensor(m.data as Float32Array, m.shape, "float32"),
      v: tf.tensor(v.data as Float32Array, v.shape, "float32"),
      step: s,
    });
  }
  return { step, moments };
}
