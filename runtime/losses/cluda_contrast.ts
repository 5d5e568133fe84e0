/**
 * The loss of CLUDA (`shared/reference/pipa_cluda.md` §5.4; the released `multi_resolution_cl`
 * and `contrastive_loss` of `mmseg/models/losses/contrastive_loss.py`): a full-batch supervised
 * contrast at temperature 1 where every pixel of the grid is an anchor and a contrast. For the
 * multi-resolution form, with l̂ the unit context (LR) features, ĥ the unit detail (HR) features
 * on a zero canvas, y the labels, w the learned LR/HR weight, m the crop indicator and q the
 * pixel confidence,
 *
 * ```
 * P_ij = [y_i = y_j, i ≠ j]              N_ij = [y_i ≠ y_j]
 * log p^L_ij = ⟨l̂_i,l̂_j⟩ − log(e^{⟨l̂_i,l̂_j⟩} + Σ_k N_ik e^{⟨l̂_i,l̂_k⟩})    (p^X: ĥ_j, ĥ_k)
 * W_ij = w_i w_j m_i                     Γ_ij = q_i q_j (Γ ≡ 1 without q)
 * L = ½ · mean_i −(1/max(1, Σ_j P_ij)) Σ_j P_ij Γ_ij (W_ij log p^L_ij + (1 − W_ij) log p^X_ij)
 * ```
 *
 * and the single-resolution form (DAFormer) `L = mean_i −(1/max(1, Σ_j P_ij)) Σ_j P_ij Γ_ij log
 * p^L_ij`, the released `contrastive_loss`. Every exponent is shifted by 1, the bound of a
 * similarity of unit vectors, where the reference subtracts a detached row maximum: the loss does
 * not depend on the shift. Anchor rows run in chunks, so no `N×N` matrix is ever whole.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** The 10 thing classes of the released `fdist_classes` (light, sign, person … bicycle). */
export const THING_CLASSES: readonly number[] = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18];

/** What the loss reads: `N` pixels, their features and weights, flat in one order. */
export interface ContrastPixels {
  /** Unit context features `[N, C]` (the anchors, and the contrasts of the LR term). */
  lr: tf.Tensor2D;
  /** Unit detail features `[N, C]`, zero rows outside the crop; absent: single resolution. */
  hr?: tf.Tensor2D;
  /** Class of each pixel (host). */
  labels: Int32Array;
  /** Learned LR/HR weight w `[N]` (multi-resolution only). */
  weight?: tf.Tensor1D;
  /** Crop indicator m (host, 1 inside the detail crop; multi-resolution only). */
  inside?: Float32Array;
  /** Pixel confidence q `[N]` (the mixed image's); absent: Γ ≡ 1. */
  confidence?: tf.Tensor1D;
}

/** Options of {@linkcode cludaContrastLoss}. */
export interface CludaLossOptions {
  /** Anchor rows per chunk. */
  rowChunk: number;
  /**
   * Multiply the positives by `[stuff_i = stuff_j]` as the released code does (a no-op: positives
   * share their class, so they share stuff/thing; kept so the released form is one line).
   */
  stuffThingMask: boolean;
}

/** `[rows, N]` 1 where pixel `start + r` and pixel j share a class. */
function sameClassRows(labels: Int32Array, start: number, rows: number): Float32Array {
  const n = labels.length;
  const same = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const y = labels[start + r];
    for (let j = 0; j < n; j++) if (labels[j] === y) same[r * n + j] = 1;
  }
  return same;
}

/** `[rows, N]` positives: same class, not itself, and (optionally) the same stuff/thing kind. */
function positiveRows(
  labels: Int32Array,
  start: number,
  rows: number,
  stuffThing: boolean,
): Float32Array {
  const n = labels.length;
  const positive = sameClassRows(labels, start, rows);
  const thing = new Set(THING_CLASSES);
  for (let r = 0; r < rows; r++) {
    positive[r * n + start + r] = 0;
    if (!stuffThing) continue;
    const kind = thing.has(labels[start + r]);
    for (let j = 0; j < n; j++) if (thing.has(labels[j]) !== kind) positive[r * n + j] = 0;
  }
  return positive;
}

/** `log p_ij` of anchor rows `a` (`[rows, C]`) against contrasts `c` (`[N, C]`). */
function logProbabilities(a: tf.Tensor2D, c: tf.Tensor2D, negative: tf.Tensor2D): tf.Tensor2D {
  const logits = tf.sub(tf.matMul(a, c, false, true), 1);
  const exp = tf.exp(logits);
  const negatives = tf.sum(tf.mul(exp, negative), 1, true);
  return tf.sub(logits, tf.log(tf.add(exp, negatives))) as tf.Tensor2D;
}

/** The CLUDA loss (see the module comment): multi-resolution with `hr`, else single. */
export function cludaContrastLoss(pixels: ContrastPixels, options: CludaLossOptions): tf.Scalar {
  const n = pixels.labels.length;
  const multi = pixels.hr !== undefined;
  if (multi && (pixels.weight === undefined || pixels.inside === undefined)) {
    throw new Error("cludaContrastLoss: the multi-resolution form needs the weight w and m");
  }
  return tf.tidy(() => {
    const rowSums: tf.Tensor[] = [];
    for (let start = 0; start < n; start += options.rowChunk) {
      const rows = Math.min(options.rowChunk, n - start);
      const sameHost = sameClassRows(pixels.labels, start, rows);
      const positiveHost = positiveRows(pixels.labels, start, rows, options.stuffThingMask);
      const count = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        let c = 0;
        for (let j = 0; j < n; j++) c += positiveHost[r * n + j];
        count[r] = 1 / Math.max(1, c);
      }
      const negative = tf.sub(1, tf.tensor2d(sameHost, [rows, n])) as tf.Tensor2D;
      let positive: tf.Tensor2D = tf.tensor2d(positiveHost, [rows, n]);
      if (pixels.confidence !== undefined) {
        const q = pixels.confidence;
        const qRows = tf.slice(q, [start], [rows]).reshape([rows, 1]);
        positive = tf.mul(positive, tf.mul(qRows, q.reshape([1, n]))) as tf.Tensor2D;
      }
      const anchors = tf.slice(pixels.lr, [start, 0], [rows, -1]) as tf.Tensor2D;
      const logL = logProbabilities(anchors, pixels.lr, negative);
      let weighted: tf.Tensor2D = logL;
      if (multi) {
        const logX = logProbabilities(anchors, pixels.hr!, negative);
        const w = pixels.weight!;
        const m = tf.tensor2d(pixels.inside!.subarray(start, start + rows), [rows, 1]);
        const W = tf.mul(
          tf.mul(tf.slice(w, [start], [rows]).reshape([rows, 1]), m),
          w.reshape([1, n]),
        );
        weighted = tf.add(tf.mul(W, logL), tf.mul(tf.sub(1, W), logX)) as tf.Tensor2D;
      }
      const perRow = tf.mul(tf.sum(tf.mul(positive, weighted), 1), tf.tensor1d(count));
      rowSums.push(tf.sum(perRow));
    }
    const mean = tf.div(tf.neg(tf.addN(rowSums)), n);
    return (multi ? tf.mul(mean, 0.5) : mean) as tf.Scalar;
  });
}

/**
 * The released code's row order (`torch.cat(torch.unbind(feats, dim=1))`): feature row r is
 * pixel ⌊r/B⌋ of image r mod B while the labels, weights and m stay image by image (row r is
 * pixel r mod P of image ⌊r/P⌋), so for B > 1 features meet other pixels' labels. The indices
 * that gather a batch-major `[B·P, C]` feature matrix into that order.
 */
export function releasedRowOrder(batch: number, pixelsPerImage: number): Int32Array {
  const n = batch * pixelsPerImage;
  return Int32Array.from(
    { length: n },
    (_, r) => (r % batch) * pixelsPerImage + Math.floor(r / batch),
  );
}
