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
 * not depend on the shift. Anchor rows run in chunks, forward and backward (the gradient is
 * written out), so no `N×N` matrix is ever whole and the tape keeps none of them.
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

/** The host-side masks of anchor rows `start … start + rows`. */
interface RowMasks {
  /** `[rows, N]` 1 where the classes differ (the negatives). */
  negative: Float32Array;
  /** `[rows, N]` positives (same class, not itself, optionally same stuff/thing kind). */
  positive: Float32Array;
  /** `[rows]` 1 / max(1, number of positives). */
  inverseCount: Float32Array;
}

function rowMasks(labels: Int32Array, start: number, rows: number, stuffThing: boolean): RowMasks {
  const n = labels.length;
  const negative = sameClassRows(labels, start, rows).map((v) => 1 - v);
  const positive = positiveRows(labels, start, rows, stuffThing);
  const inverseCount = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (let j = 0; j < n; j++) c += positive[r * n + j];
    inverseCount[r] = 1 / Math.max(1, c);
  }
  return { negative, positive, inverseCount };
}

/**
 * One branch's `log p_ij` of anchor rows `a` (`[rows, C]`) against contrasts `c` (`[N, C]`), with
 * what its gradient needs: `E = e^{S − 1}` and `D = E + Σ_k N_ik E_ik`.
 */
function branch(a: tf.Tensor2D, c: tf.Tensor2D, negative: tf.Tensor2D) {
  const logits = tf.sub(tf.matMul(a, c, false, true), 1) as tf.Tensor2D;
  const exp = tf.exp(logits) as tf.Tensor2D;
  const negatives = tf.sum(tf.mul(exp, negative), 1, true) as tf.Tensor2D;
  const denominator = tf.add(exp, negatives) as tf.Tensor2D;
  const logP = tf.sub(logits, tf.log(denominator)) as tf.Tensor2D;
  return { exp, negatives, denominator, logP };
}

/**
 * `∂(Σ_ij G_ij log p_ij)/∂S_ij = G_ij·A_i/D_ij − N_ij·E_ij·Σ_m G_im/D_im` (A_i the negatives'
 * sum): the positive pairs pull through their own softmax, the negatives through every positive
 * of the row.
 */
function branchLogitGrad(
  b: ReturnType<typeof branch>,
  coefficient: tf.Tensor2D,
  negative: tf.Tensor2D,
): tf.Tensor2D {
  const perDenominator = tf.div(coefficient, b.denominator);
  return tf.sub(
    tf.mul(perDenominator, b.negatives),
    tf.mul(tf.mul(negative, b.exp), tf.sum(perDenominator, 1, true)),
  ) as tf.Tensor2D;
}

/**
 * The CLUDA loss (see the module comment): multi-resolution with `hr`, else single. The value and
 * the gradients (to `lr`, `hr` and `w`; the labels, m and q are constants) are computed anchor
 * chunk by anchor chunk with the gradient written out (`branchLogitGrad`), so neither pass keeps
 * more than a few `rowChunk × N` matrices alive: the tape holds only the inputs, not the
 * 15-odd N×N matrices of the released code (`pipa_cluda.md` §5.9).
 */
export function cludaContrastLoss(pixels: ContrastPixels, options: CludaLossOptions): tf.Scalar {
  const n = pixels.labels.length;
  const multi = pixels.hr !== undefined;
  if (multi && (pixels.weight === undefined || pixels.inside === undefined)) {
    throw new Error("cludaContrastLoss: the multi-resolution form needs the weight w and m");
  }
  // L = −scale/N · Σ_i c_i Σ_j P_ij Γ_ij (·): ½ for the multi-resolution form (§5.4).
  const factor = -(multi ? 0.5 : 1) / n;
  const inside = pixels.inside;
  const chunks: [number, number][] = [];
  for (let start = 0; start < n; start += options.rowChunk) {
    chunks.push([start, Math.min(options.rowChunk, n - start)]);
  }
  /** The chunk's tensors: branches, the positive coefficient K = c_i P_ij Γ_ij, and W. */
  const chunkTerms = (
    lr: tf.Tensor2D,
    hr: tf.Tensor2D | undefined,
    w: tf.Tensor1D | undefined,
    q: tf.Tensor1D | undefined,
    start: number,
    rows: number,
  ) => {
    const masks = rowMasks(pixels.labels, start, rows, options.stuffThingMask);
    const negative = tf.tensor2d(masks.negative, [rows, n]);
    let coefficient = tf.mul(
      tf.tensor2d(masks.positive, [rows, n]),
      tf.tensor2d(masks.inverseCount, [rows, 1]),
    ) as tf.Tensor2D;
    if (q !== undefined) {
      const qRows = tf.slice(q, [start], [rows]).reshape([rows, 1]);
      coefficient = tf.mul(coefficient, tf.mul(qRows, q.reshape([1, n]))) as tf.Tensor2D;
    }
    const anchors = tf.slice(lr, [start, 0], [rows, -1]) as tf.Tensor2D;
    const low = branch(anchors, lr, negative);
    if (!multi) return { negative, coefficient, anchors, low };
    const high = branch(anchors, hr!, negative);
    // W_ij = u_i w_j with u_i = w_i m_i.
    const m = tf.tensor2d(inside!.subarray(start, start + rows), [rows, 1]);
    const u = tf.mul(tf.slice(w!, [start], [rows]).reshape([rows, 1]), m) as tf.Tensor2D;
    const W = tf.mul(u, w!.reshape([1, n])) as tf.Tensor2D;
    return { negative, coefficient, anchors, low, high, m, u, W };
  };
  const hasQ = pixels.confidence !== undefined;
  /** `[lr, hr, w]` (multi) or `[lr]`, then q where there is one: what the gradient re-reads. */
  const unpack = (tensors: tf.Tensor[]) => {
    const lr = tensors[0] as tf.Tensor2D;
    const hr = multi ? tensors[1] as tf.Tensor2D : undefined;
    const w = multi ? tensors[2] as tf.Tensor1D : undefined;
    const q = hasQ ? tensors[multi ? 3 : 1] as tf.Tensor1D : undefined;
    return { lr, hr, w, q };
  };
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    // The forward's intermediates are disposed when it returns: the gradient keeps its inputs.
    save(inputs);
    const { lr, hr, w, q } = unpack(inputs);
    const value = tf.tidy(() => {
      const sums = chunks.map(([start, rows]) =>
        tf.tidy(() => {
          const t = chunkTerms(lr, hr, w, q, start, rows);
          const weighted = t.high === undefined ? t.low.logP : tf.add(
            tf.mul(t.W!, t.low.logP),
            tf.mul(tf.sub(1, t.W!), t.high.logP),
          );
          return tf.sum(tf.mul(t.coefficient, weighted));
        })
      );
      return tf.mul(tf.addN(sums), factor) as tf.Scalar;
    });
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const { lr, hr, w, q } = unpack(saved);
        const g = tf.mul(dy, factor);
        let dLr = tf.zerosLike(lr) as tf.Tensor2D;
        let dHr = hr === undefined ? undefined : tf.zerosLike(hr) as tf.Tensor2D;
        let dW = w === undefined ? undefined : tf.zerosLike(w) as tf.Tensor1D;
        const anchorGrads: tf.Tensor2D[] = [];
        const accumulate = <T extends tf.Tensor>(total: T, part: tf.Tensor): T => {
          const next = tf.add(total, part) as T;
          total.dispose();
          return next;
        };
        for (const [start, rows] of chunks) {
          const parts = tf.tidy(() => {
            const t = chunkTerms(lr, hr, w, q, start, rows);
            const lowCoefficient = t.W === undefined ? t.coefficient : tf.mul(t.coefficient, t.W);
            const dLow = tf.mul(
              branchLogitGrad(t.low, lowCoefficient as tf.Tensor2D, t.negative),
              g,
            );
            // S^L = A·lrᵀ: the anchors (rows of lr) and the contrasts (all of lr).
            let dAnchors = tf.matMul(dLow, lr) as tf.Tensor2D;
            const dContrastLr = tf.matMul(dLow, t.anchors, true, false);
            if (t.high === undefined) return { dAnchors, dContrastLr };
            const highCoefficient = tf.mul(t.coefficient, tf.sub(1, t.W!)) as tf.Tensor2D;
            const dHigh = tf.mul(branchLogitGrad(t.high, highCoefficient, t.negative), g);
            dAnchors = tf.add(dAnchors, tf.matMul(dHigh, hr!)) as tf.Tensor2D;
            const dContrastHr = tf.matMul(dHigh, t.anchors, true, false);
            // ∂/∂W_ij = K_ij (log p^L_ij − log p^X_ij); W_ij = u_i w_j.
            const dWPairs = tf.mul(tf.mul(t.coefficient, tf.sub(t.low.logP, t.high.logP)), g);
            const dWColumns = tf.sum(tf.mul(dWPairs, t.u!), 0);
            const dU = tf.sum(tf.mul(dWPairs, w!.reshape([1, n])), 1, true);
            const dWRows = tf.reshape(tf.mul(dU, t.m!), [rows]);
            const dWAll = tf.add(dWColumns, tf.pad(dWRows, [[start, n - start - rows]]));
            return { dAnchors, dContrastLr, dContrastHr, dWAll };
          });
          anchorGrads.push(parts.dAnchors);
          dLr = accumulate(dLr, parts.dContrastLr);
          parts.dContrastLr.dispose();
          if (parts.dContrastHr !== undefined) {
            dHr = accumulate(dHr!, parts.dContrastHr);
            dW = accumulate(dW!, parts.dWAll!);
            parts.dContrastHr.dispose();
            parts.dWAll!.dispose();
          }
        }
        const dLrTotal = tf.add(dLr, tf.concat(anchorGrads, 0));
        // q is a constant (the teacher's confidence): a zero gradient for its place.
        const dQ = q === undefined ? [] : [tf.zerosLike(q)];
        return [...(multi ? [dLrTotal, dHr!, dW!] : [dLrTotal]), ...dQ];
      });
    return { value, gradFunc };
  });
  const inputs = multi ? [pixels.lr, pixels.hr!, pixels.weight!] : [pixels.lr];
  return loss(...inputs, ...(hasQ ? [pixels.confidence!] : [])) as tf.Scalar;
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
