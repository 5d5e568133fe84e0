/**
 * The loss of PiPa's patch contrast (`shared/reference/pipa_cluda.md` §2.4), the directional
 * InfoNCE of CAC: for overlap position i of crop 1, with f¹ᵢ its projected feature, f²ᵢ its
 * partner's (a constant), and negatives n of the bank whose pseudo-label differs from ŷ¹ᵢ,
 *
 * ```
 * ℓ¹ᵢ = −log( e^{⟨f¹ᵢ, f²ᵢ⟩/τ} / (e^{⟨f¹ᵢ, f²ᵢ⟩/τ} + Σₙ e^{⟨f¹ᵢ, fₙ⟩/τ}) + 1e−8 )
 * m¹ᵢ = [c²ᵢ > threshold ∧ c¹ᵢ < c²ᵢ],   L¹ = Σ m¹ᵢ ℓ¹ᵢ / (Σ m¹ᵢ + 1e−12)
 * ```
 *
 * and L² with the crops' roles swapped; the term is L¹ + L². Every exponent is shifted by the
 * constant 1/τ (the bound of a similarity of unit vectors) where the reference subtracts a row
 * maximum: the loss is the same and nothing overflows. The bank similarities run in column chunks
 * so memory stays bounded.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { type SamplingOptions, taskSmartSample } from "./task_smart_sampling.ts";

/** x as a constant: its value, and no gradient to what produced it. */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad(
  ((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as <T extends tf.Tensor>(x: T) => T;

/**
 * `[N, h, w, C]` to the `[N, grid, grid, C]` positions the overlap is indexed at: average pooling
 * by the integer ratio (PiPa's 2×2 pooling of stride-4 decoder features), else a bilinear resize.
 */
export function toGrid(x: tf.Tensor4D, grid: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === grid && w === grid) return x;
  const factor = h / grid;
  if (Number.isInteger(factor) && w / grid === factor) {
    return tf.avgPool(x, factor, factor, "valid");
  }
  return tf.image.resizeBilinear(x, [grid, grid], false, true);
}

/** Pseudo-labels ŷ and confidences c (the softmax's argmax and max) at each grid position, flat. */
export function gridPseudoLabels(
  logits: tf.Tensor4D,
  grid: number,
): { label: tf.Tensor1D; confidence: tf.Tensor1D } {
  return tf.tidy(() => {
    const probabilities = toGrid(tf.softmax(logits, -1) as tf.Tensor4D, grid);
    const flat = tf.reshape(probabilities, [-1, probabilities.shape[3]]) as tf.Tensor2D;
    return {
      label: tf.argMax(flat, -1).toInt() as tf.Tensor1D,
      confidence: tf.max(flat, -1) as tf.Tensor1D,
    };
  });
}

/** What one direction of the loss reads: the anchors' side and their partners'. */
export interface Direction {
  /** Projected, L2-normalised features of the anchors `[n, d]` (differentiated). */
  anchor: tf.Tensor2D;
  /** The partners' `[n, d]` (a constant in this direction). */
  partner: tf.Tensor2D;
  /** The anchors' pseudo-labels `[n]` int32. */
  label: tf.Tensor1D;
  /** The anchors' confidences `[n]`. */
  confidence: tf.Tensor1D;
  /** The partners' confidences `[n]`. */
  partnerConfidence: tf.Tensor1D;
  /**
   * `[n, m]` 1 where a negative may count for an anchor (PiPa++'s task-smart selection); absent:
   * every other-class negative counts (PiPa).
   */
  negativeMask?: tf.Tensor2D;
}

/** The negatives: bank features `[m, d]` (constants) and pseudo-labels `[m]` (−1: empty slot). */
export interface Negatives {
  features: tf.Tensor2D;
  labels: tf.Tensor1D;
}

/** Options of {@linkcode directionalContrast}. */
export interface ContrastOptions {
  /** τ (0.1). */
  temperature: number;
  /** Partner confidence above which a position is pulled (0.9). */
  threshold: number;
  /** Bank columns per chunk (8000). */
  chunk: number;
}

/** L¹ of one direction (module documentation); a scalar. */
export function directionalContrast(
  direction: Direction,
  negatives: Negatives,
  options: ContrastOptions,
): tf.Scalar {
  const { temperature: tau, threshold, chunk } = options;
  const shift = 1 / tau;
  const { anchor, label, confidence, partnerConfidence } = direction;
  const partner = stopGradient(direction.partner);
  const positive = tf.exp(tf.sub(tf.div(tf.sum(tf.mul(anchor, partner), -1), tau), shift));
  let negativeSum: tf.Tensor = tf.zerosLike(positive);
  const m = negatives.features.shape[0];
  for (let start = 0; start < m; start += chunk) {
    const size = Math.min(chunk, m - start);
    const bank = stopGradient(tf.slice(negatives.features, [start, 0], [size, -1]));
    const bankLabels = tf.slice(negatives.labels, [start], [size]);
    const similarity = tf.matMul(anchor, bank, false, true);
    const other = tf.logicalAnd(
      tf.notEqual(tf.expandDims(label, 1), tf.expandDims(bankLabels, 0)),
      tf.expandDims(tf.greaterEqual(bankLabels, 0), 0),
    );
    const counted = direction.negativeMask === undefined ? tf.cast(other, "float32") : tf.mul(
      tf.cast(other, "float32"),
      tf.slice(direction.negativeMask, [0, start], [-1, size]),
    );
    const terms = tf.mul(tf.exp(tf.sub(tf.div(similarity, tau), shift)), counted);
    negativeSum = tf.add(negativeSum, tf.sum(terms, 1));
  }
  const loss = tf.neg(tf.log(tf.add(tf.div(positive, tf.add(positive, negativeSum)), 1e-8)));
  const mask = tf.cast(
    tf.logicalAnd(tf.greater(partnerConfidence, threshold), tf.less(confidence, partnerConfidence)),
    "float32",
  );
  return tf.div(tf.sum(tf.mul(mask, loss)), tf.add(tf.sum(mask), 1e-12)) as tf.Scalar;
}

/**
 * What the report draws of one direction (no gradient): each overlap position's cosine similarity
 * to its partner `[n]`, and the mean similarity of the anchors to the bank entries the loss counts
 * as their negatives (other pseudo-label, filled slot; 0 when there are none), in column chunks.
 */
export function contrastSimilarities(
  direction: Pick<Direction, "anchor" | "partner" | "label">,
  negatives: Negatives,
  chunk: number,
): { positive: tf.Tensor1D; negative: tf.Scalar } {
  return tf.tidy(() => {
    const anchor = stopGradient(direction.anchor);
    const positive = tf.sum(tf.mul(anchor, stopGradient(direction.partner)), -1) as tf.Tensor1D;
    let sum: tf.Tensor = tf.scalar(0);
    let count: tf.Tensor = tf.scalar(0);
    const m = negatives.features.shape[0];
    for (let start = 0; start < m; start += chunk) {
      const size = Math.min(chunk, m - start);
      const bank = stopGradient(tf.slice(negatives.features, [start, 0], [size, -1]));
      const bankLabels = tf.slice(negatives.labels, [start], [size]);
      const other = tf.cast(
        tf.logicalAnd(
          tf.notEqual(tf.expandDims(direction.label, 1), tf.expandDims(bankLabels, 0)),
          tf.expandDims(tf.greaterEqual(bankLabels, 0), 0),
        ),
        "float32",
      );
      sum = tf.add(sum, tf.sum(tf.mul(tf.matMul(anchor, bank, false, true), other)));
      count = tf.add(count, tf.sum(other));
    }
    return { positive, negative: tf.div(sum, tf.maximum(count, 1)) as tf.Scalar };
  });
}

/**
 * PiPa++'s task-smart selection of the negatives (`task_smart_sampling.ts`): for each anchor the
 * `fraction` of its other-class negatives (filled slots) of highest similarity, as an `[n, m]`
 * mask for {@linkcode Direction.negativeMask}. Read on the host synchronously, so that a term can
 * select inside its gradient: CPU backends (wasm, cpu) only. No gradient flows through it.
 */
export function taskSmartNegatives(
  anchor: tf.Tensor2D,
  label: tf.Tensor1D,
  negatives: Negatives,
  options: Pick<SamplingOptions, "fraction" | "minimum">,
): tf.Tensor2D {
  const [n, m] = [anchor.shape[0], negatives.features.shape[0]];
  const similarity = tf.tidy(() =>
    tf.matMul(stopGradient(anchor), stopGradient(negatives.features), false, true)
  );
  const values = similarity.dataSync() as Float32Array;
  similarity.dispose();
  const classes = Int32Array.from(negatives.labels.dataSync());
  const { negatives: chosen } = taskSmartSample({
    similarity: values,
    anchorClasses: Int32Array.from(label.dataSync()),
    candidateClasses: classes,
    negativeValid: classes.map((c) => (c >= 0 ? 1 : 0)),
  }, { ...options, negativeQuota: "pooled" });
  const mask = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let k = chosen.offsets[i]; k < chosen.offsets[i + 1]; k++) {
      mask[i * m + chosen.indices[k]] = 1;
    }
  }
  return tf.tensor2d(mask, [n, m]);
}
