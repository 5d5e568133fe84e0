/**
 * An independent float64 temporal contrast, written loop by loop from the formula in the module
 * documentation of `runtime/losses/temporal_contrast.ts` (no shift, no chunks, no masks as
 * matrices), and the examples and tensors the temporal tests share.
 */
import { tf } from "../../runtime/tf.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  type TemporalContrastOptions,
  type TemporalPairs,
} from "../../runtime/losses/temporal_contrast.ts";
import { toRowSets } from "../../runtime/losses/task_smart_sampling.ts";

/** A temporal example as plain numbers. */
export interface Example {
  anchors: number[][];
  partners: number[][];
  valid: number[];
  labels: number[];
  partnerLabels?: number[];
  confidence?: number[];
  memory?: number[][];
  memoryClasses?: number[];
  hardPositives?: number[][];
  hardNegatives?: number[][];
}

/** What the reference reads of the options. */
export type ReferenceOptions = Omit<TemporalContrastOptions, "rowChunk">;

const dot = (a: number[], b: number[]) => a.reduce((s, v, d) => s + v * b[d], 0);
const labelled = (c: number) => c >= 0 && c !== 255;

/** L in float64. */
export function reference(x: Example, o: ReferenceOptions): number {
  const n = x.labels.length;
  const partnerLabels = x.partnerLabels ?? x.labels;
  const columns = [...x.partners, ...(x.memory ?? [])];
  const classOf = [...partnerLabels, ...(x.memoryClasses ?? [])];
  const usable = (j: number) => (j >= n || x.valid[j] !== 0) && labelled(classOf[j]);
  let total = 0, active = 0, weights = 0;
  for (let i = 0; i < n; i++) {
    const agrees = !o.agreement || x.labels[i] === partnerLabels[i];
    if (x.valid[i] === 0 || !labelled(x.labels[i]) || !agrees) continue;
    const positives = new Set([i, ...(x.hardPositives?.[i] ?? []).filter(usable)]);
    const negatives: number[] = [];
    for (let j = 0; j < columns.length; j++) {
      if (!usable(j) || positives.has(j) || j === i) continue;
      const rule = x.hardNegatives !== undefined
        ? x.hardNegatives[i].includes(j)
        : (o.negatives === "otherLocation" && j < n) || classOf[j] !== x.labels[i];
      if (rule) negatives.push(j);
    }
    const s = (j: number) => dot(x.anchors[i], columns[j]) / o.temperature;
    const negativeSum = negatives.reduce((sum, j) => sum + Math.exp(s(j)), 0);
    let sum = 0;
    for (const p of positives) sum += s(p) - Math.log(Math.exp(s(p)) + negativeSum);
    const w = x.confidence?.[i] ?? 1;
    total += -w * sum / positives.size;
    active += 1;
    weights += w;
  }
  const z = o.normalise === "valid" ? Math.max(1, active) : weights;
  return z > 0 ? total / z : 0;
}

/** The tensors of an example (inside a tidy or disposed by the caller). */
export function pairsOf(x: Example, anchors?: tf.Tensor2D, partners?: tf.Tensor2D): TemporalPairs {
  const hard = {
    ...(x.hardPositives ? { positives: toRowSets(x.hardPositives) } : {}),
    ...(x.hardNegatives ? { negatives: toRowSets(x.hardNegatives) } : {}),
  };
  return {
    anchors: anchors ?? tf.tensor2d(x.anchors),
    partners: partners ?? tf.tensor2d(x.partners),
    valid: x.valid,
    labels: Int32Array.from(x.labels),
    ...(x.partnerLabels ? { partnerLabels: Int32Array.from(x.partnerLabels) } : {}),
    ...(x.confidence ? { confidence: Float32Array.from(x.confidence) } : {}),
    ...(x.memory
      ? {
        memory: {
          features: tf.tensor2d(x.memory, [x.memory.length, x.anchors[0].length]),
          classes: Int32Array.from(x.memoryClasses!),
        },
      }
      : {}),
    ...(Object.keys(hard).length > 0 ? { hard } : {}),
  };
}

/** `rows` unit vectors of `d` dimensions, float32-exact. */
export function unitRows(rng: RandomStream, rows: number, d: number): number[][] {
  return Array.from({ length: rows }, () => {
    const v = rng.normalArray(d);
    const norm = Math.hypot(...v);
    return Array.from(v, (e) => Math.fround(e / norm));
  });
}

/** A random subset of `[0, k)` (each index with probability p), ascending. */
function subset(rng: RandomStream, k: number, p: number): number[] {
  return [...Array(k).keys()].filter(() => rng.bernoulli(p));
}

/**
 * N rows, C dims, M memory rows over 3 classes, with an invalid row, an unlabelled anchor, two
 * partner labels that disagree, an empty memory slot and confidences; random hard sets if asked.
 */
export function randomExample(
  seed: number,
  n: number,
  c: number,
  m: number,
  hard: boolean,
): Example {
  const rng = new RandomStream(seed);
  const labels = Array.from({ length: n }, () => rng.int(3));
  labels[n - 1] = 255;
  const partnerLabels = labels.slice();
  partnerLabels[0] = (labels[0] + 1) % 3;
  partnerLabels[2] = (labels[2] + 2) % 3;
  const valid = labels.map((_, i) => (i === 1 ? 0 : 1));
  const memoryClasses = Array.from({ length: m }, (_, k) => (k === m - 1 ? -1 : k % 3));
  const x: Example = {
    anchors: unitRows(rng, n, c),
    partners: unitRows(rng, n, c),
    valid,
    labels,
    partnerLabels,
    confidence: labels.map(() => Math.fround(rng.uniform(0.3, 1))),
    memory: unitRows(rng, m, c),
    memoryClasses,
  };
  if (hard) {
    x.hardPositives = labels.map(() => subset(rng, n + m, 0.3));
    x.hardNegatives = labels.map(() => subset(rng, n + m, 0.5));
  }
  return x;
}
