/**
 * Pixel-wise softmax cross-entropy as the DAFormer/mmseg reference computes it.
 *
 * `shared/reference/daformer_hrda_mic.md` §2.5: logits at stride 4 are bilinearly upsampled
 * (`align_corners=False`) to the label size; ignored pixels (255) contribute 0; the optional
 * per-pixel weight multiplies each pixel's loss; the mean runs over ALL B·H·W pixels, ignored
 * ones included (no renormalisation by the number of valid pixels).
 *
 * @module
 */
import { tf } from "../tf.ts";
import { IGNORE_LABEL } from "../data/labels.ts";

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-pixel weights, `[N, H, W]` float32 (the pseudo-label confidence map). */
  weight?: tf.Tensor3D;
  /** Label value that contributes no loss (mmseg `ignore_index`). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy of `logits` (`[N, h, w, C]`, any stride) against `label` (`[N, H, W]`
 * int32 class ids). Logits are resized to `H×W` first when their size differs.
 */
export function crossEntropy(
  logits: tf.Tensor4D,
  label: tf.Tensor3D,
  options: CrossEntropyOptions = {},
): tf.Scalar {
  const ignoreIndex = options.ignoreIndex ?? IGNORE_LABEL;
  return tf.tidy(() => {
    const [n, height, width] = label.shape;
    const classes = logits.shape[3];
    const full = logits.shape[1] === height && logits.shape[2] === width
      ? logits
      : tf.image.resizeBilinear(logits, [height, width], false, true);
    const logProbs = tf.logSoftmax(full, -1);
    // Ignored pixels map to class -1, whose one-hot row is all zeros: they contribute 0.
    const ids = tf.where(tf.equal(label, ignoreIndex), tf.fill(label.shape, -1, "int32"), label);
    const target = tf.oneHot(tf.reshape(ids, [-1]), classes).reshape([n, height, width, classes]);
    let perPixel = tf.neg(tf.sum(tf.mul(logProbs, target), -1));
    if (options.weight !== undefined) perPixel = tf.mul(perPixel, options.weight);
    return tf.mean(perPixel) as tf.Scalar;
  });
}

/** A prediction to train and its weight; `box` `[top, left, height, width]` cuts the labels. */
export interface WeightedLogits {
  /** Class scores of the region, any stride, NHWC. */
  logits: tf.Tensor4D;
  /** Weight in the sum. */
  weight: number;
  /** The region of the label map the logits cover (the whole map if absent). */
  box?: readonly [number, number, number, number];
}

/**
 * Σ weight × cross-entropy over predictions that each cover the whole crop or a box of it, with
 * the labels and weights cut to the box: HRDA's `(1 − λ_d)·CE(fused, y) + λ_d·CE(detail,
 * crop(y))` (`HRDAHead.losses`, `shared/reference/daformer_hrda_mic.md` §6.2). Each part is a
 * mean over its own pixels, as the reference computes it.
 */
export function weightedCrossEntropy(
  parts: readonly WeightedLogits[],
  label: tf.Tensor3D,
  options: CrossEntropyOptions = {},
): tf.Scalar {
  if (parts.length === 1 && parts[0].box === undefined && parts[0].weight === 1) {
    return crossEntropy(parts[0].logits, label, options);
  }
  return tf.tidy(() => {
    const terms = parts.filter((p) => p.weight > 0).map((part) => {
      if (part.box === undefined) {
        return tf.mul(crossEntropy(part.logits, label, options), part.weight);
      }
      const [top, left, height, width] = part.box;
      const cut = <T extends tf.Tensor3D>(t: T) =>
        tf.slice(t, [0, top, left], [-1, height, width]) as T;
      const weight = options.weight === undefined ? undefined : cut(options.weight);
      return tf.mul(crossEntropy(part.logits, cut(label), { ...options, weight }), part.weight);
    });
    // Pairwise adds: the same sum without one more kernel (AddN) to differentiate.
    return terms.reduce((a, b) => tf.add(a, b)) as tf.Scalar;
  });
}
