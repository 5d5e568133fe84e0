/**
 * Pseudo-labels of the mean teacher and their confidence weight (DAFormer Eq. 9;
 * `shared/reference/daformer_hrda_mic.md` §2.1 step 5 and §2.4).
 *
 * The teacher's logits are upsampled to the crop (bilinear, `align_corners=False`), ŷ = argmax and
 * p = max of the softmax. The weight of every pixel is q, the share of pixels with p ≥ τ
 * (τ = 0.968): per image as the paper writes it, or one value over the whole batch as the released
 * code computes it. Low-confidence pixels are not ignored; they weigh q like the others. The
 * weight is then 0 in the margins, DAFormer's top 15 and bottom 120 rows of a 512 crop, as
 * fractions of the crop so they scale with it.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** Where q is pooled: each image (the paper) or the whole batch (the released code). */
export type ConfidenceScope = "image" | "batch";

/** Options of {@linkcode pseudoLabels}. */
export interface PseudoLabelOptions {
  /** Confidence threshold τ (0.968). */
  threshold: number;
  /** Pooling of q. */
  confidence: ConfidenceScope;
  /** Zero-weight margins `[top, bottom, left, right]` as fractions of the crop. */
  margins: readonly [number, number, number, number];
}

/** The margins in pixels of an `[H, W]` crop: `[top, bottom, left, right]` rows and columns. */
export function marginPixels(
  size: readonly [number, number],
  margins: readonly [number, number, number, number],
): [number, number, number, number] {
  const [height, width] = size;
  const [top, bottom, left, right] = margins;
  return [
    Math.round(top * height),
    Math.round(bottom * height),
    Math.round(left * width),
    Math.round(right * width),
  ];
}

function checkOptions(options: PseudoLabelOptions): void {
  const { threshold, margins } = options;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new RangeError(`pseudoLabels: threshold must be in (0, 1], got ${threshold}`);
  }
  if (
    margins.length !== 4 || margins.some((m) => !(m >= 0 && m < 1)) ||
    margins[0] + margins[1] >= 1 || margins[2] + margins[3] >= 1
  ) {
    throw new RangeError(
      `pseudoLabels: margins [top, bottom, left, right] are fractions in [0, 1) that leave part ` +
        `of the crop, got [${margins}]`,
    );
  }
}

/** The 0/1 map of an `[H, W]` crop that is 0 in the margins. */
function marginMask(
  size: readonly [number, number],
  margins: readonly [number, number, number, number],
): tf.Tensor2D {
  const [height, width] = size;
  const [top, bottom, left, right] = marginPixels(size, margins);
  const mask = new Float32Array(height * width);
  for (let y = top; y < height - bottom; y++) {
    mask.fill(1, y * width + left, y * width + width - right);
  }
  return tf.tensor2d(mask, [height, width]);
}

/**
 * Pseudo-labels and weights from teacher logits `[N, h, w, C]` for crops of `size` `[H, W]`:
 * `label` `[N, H, W]` int32, `weight` `[N, H, W]` float32, and `confidence`, q of each image
 * (`batch`: the batch's q repeated).
 */
export function pseudoLabels(
  logits: tf.Tensor4D,
  size: readonly [number, number],
  options: PseudoLabelOptions,
): { label: tf.Tensor3D; weight: tf.Tensor3D; confidence: tf.Tensor1D } {
  checkOptions(options);
  return tf.tidy(() => {
    const [height, width] = size;
    const n = logits.shape[0];
    const full = logits.shape[1] === height && logits.shape[2] === width
      ? logits
      : tf.image.resizeBilinear(logits, [height, width], false, true);
    const probabilities = tf.softmax(full, -1);
    const label = tf.argMax(probabilities, -1).toInt() as tf.Tensor3D;
    const confident = tf.greaterEqual(tf.max(probabilities, -1), options.threshold).toFloat();
    const perImage = tf.mean(confident, [1, 2]) as tf.Tensor1D;
    const confidence = options.confidence === "image"
      ? perImage
      : tf.mul(tf.onesLike(perImage), tf.mean(confident)) as tf.Tensor1D;
    const weight = tf.mul(
      tf.reshape(confidence, [n, 1, 1]),
      tf.expandDims(marginMask(size, options.margins), 0),
    ) as tf.Tensor3D;
    return { label, weight, confidence };
  });
}
