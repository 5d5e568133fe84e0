/**
 * Where the patch contrast's negatives come from and go: this step's sample of each crop's map,
 * PiPa's FIFO bank (`patchBank` buffers) and PiPa++'s semantic memory entries.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "../nn/params.ts";
import type { Negatives } from "../losses/patch_contrast.ts";
import { entriesTensor, type MemoryEntries } from "../strategies/semantic_memory.ts";

/** `k` distinct flat indices of `[0, count)`, at most `count`, in random order. */
export function sampleIndices(count: number, k: number, rng: RandomStream): Int32Array {
  return Int32Array.from(rng.shuffle([...Array(count).keys()]).slice(0, Math.min(k, count)));
}

/** Rows `[rows, d]` padded with zero features and label −1 to `size` rows. */
export function padNegatives(features: tf.Tensor2D, labels: tf.Tensor1D, size: number): Negatives {
  const missing = size - features.shape[0];
  if (missing === 0) return { features, labels };
  return {
    features: tf.concat([features, tf.zeros([missing, features.shape[1]])]) as tf.Tensor2D,
    labels: tf.concat([labels, tf.fill([missing], -1, "int32")]) as tf.Tensor1D,
  };
}

/** `stored` with rows `[at, at + fresh rows)` replaced by `fresh` (one bank block). */
export function spliceRows(stored: tf.Tensor, fresh: tf.Tensor, at: number): tf.Tensor {
  const end = at + fresh.shape[0];
  const parts = [tf.slice(stored, 0, at), fresh, tf.slice(stored, end)];
  return tf.concat(parts.filter((p) => p.shape[0] > 0));
}

/** The bank as it is after this step's block is written at row `at`. */
export function spliceBank(bank: ParamStore, current: Negatives, at: number): Negatives {
  return {
    features: spliceRows(bank.get("bank.features"), current.features, at) as tf.Tensor2D,
    labels: spliceRows(
      tf.cast(bank.get("bank.labels"), "int32"),
      current.labels,
      at,
    ) as tf.Tensor1D,
  };
}

/** The semantic memory's entries followed by this step's negatives (padding rows stay −1). */
export function withMemory(current: Negatives, memory: MemoryEntries, dim: number): Negatives {
  if (memory.rows === 0) return current;
  const stored = entriesTensor(memory, dim);
  return {
    features: tf.concat([stored.features, current.features]) as tf.Tensor2D,
    labels: tf.concat([tf.tensor1d(stored.classes, "int32"), current.labels]) as tf.Tensor1D,
  };
}
