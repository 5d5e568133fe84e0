/**
 * DAFormer's thing-class ImageNet feature distance (DAFormer §3.5, Eq. 7–8;
 * `shared/reference/daformer_hrda_mic.md` §4).
 *
 * L_FD = mean over masked cells of ‖F_student − F_frozen‖₂ over channels (not squared), on the
 * last encoder stage. A cell counts when its labels (pooled with kernel = stride = the feature
 * stride) are at least 75% one class, that class is a thing class, and it is not the ignore
 * label. The weight λ = 0.005 is the term's weight in the experiment.
 *
 * Two guards the reference lacks: an empty mask gives 0 (the reference's mean of an empty tensor
 * is NaN, whose gradient it relies on being zero), and a cell where both features are equal has
 * gradient 0, as PyTorch's norm backward, not the NaN of d√x/dx at 0.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** Options of {@linkcode featureDistanceMask}. */
export interface FeatureDistanceMaskOptions {
  /** Classes whose cells count (the thing classes 6, 7, 11–18). */
  classes: readonly number[];
  /** Least share of a cell its class must cover (0.75). */
  majority: number;
  /** Classes of the label map (19); ids ≥ this are ignored. */
  numClasses?: number;
  /** Ignore label (255). */
  ignoreIndex?: number;
}

/**
 * The FD mask `[N, h, w]` (float32 0/1) of labels `[N, H, W]` for features of `featureSize`
 * `[h, w]` (mmseg `downscale_label_ratio`): one-hot with the ignore label as an extra class,
 * average-pooled over each cell, then the majority class and its share.
 */
export function featureDistanceMask(
  label: tf.Tensor3D,
  featureSize: readonly [number, number],
  options: FeatureDistanceMaskOptions,
): tf.Tensor3D {
  const [, height, width] = label.shape;
  const [h, w] = featureSize;
  const scale = height / h;
  if (!Number.isInteger(scale) || width / w !== scale) {
    throw new Error(
      `featureDistanceMask: labels ${height}×${width} are not an integer multiple of the ` +
        `features ${h}×${w} with the same factor on both axes`,
    );
  }
  const numClasses = options.numClasses ?? 19;
  const ignoreIndex = options.ignoreIndex ?? 255;
  return tf.tidy(() => {
    const ids = tf.cast(label, "int32");
    const invalid = tf.logicalOr(tf.equal(ids, ignoreIndex), tf.greaterEqual(ids, numClasses));
    const mapped = tf.where(invalid, tf.fill(ids.shape, numClasses, "int32"), ids);
    const oneHot = tf.oneHot(mapped, numClasses + 1) as unknown as tf.Tensor4D;
    const shares = tf.avgPool(tf.cast(oneHot, "float32") as tf.Tensor4D, scale, scale, "valid");
    const majority = tf.max(shares, -1);
    const cls = tf.argMax(shares, -1);
    const thing = new Float32Array(numClasses + 1);
    for (const c of options.classes) if (c >= 0 && c < numClasses) thing[c] = 1;
    const isThing = tf.gather(tf.tensor1d(thing), cls);
    // The share is compared with a small tolerance: 0.75 of a 32×32 cell is 768/1024 exactly,
    // but the pooled mean may round just below it.
    const enough = tf.greaterEqual(majority, options.majority - 1e-6);
    return tf.mul(isThing, tf.cast(enough, "float32")) as tf.Tensor3D;
  });
}

/** ‖x‖₂ over the last axis, with gradient 0 where the norm is 0 (as PyTorch's norm). */
const safeNorm = tf.customGrad(
  ((x: tf.Tensor, save: (tensors: tf.Tensor[]) => void) => {
    const norm = tf.sqrt(tf.sum(tf.square(x), -1));
    save([x, norm]);
    return {
      value: norm,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [input, n] = saved;
        const denominator = tf.where(tf.greater(n, 0), n, tf.onesLike(n));
        return tf.mul(input, tf.expandDims(tf.div(dy, denominator), -1));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
);

/**
 * Mean over the masked cells of the L2 distance between `student` and `frozen` features
 * `[N, h, w, C]`; 0 when `mask` `[N, h, w]` is empty. `frozen` must be a constant (computed
 * outside the gradient), as the reference's `no_grad` network.
 */
export function featureDistance(
  student: tf.Tensor4D,
  frozen: tf.Tensor4D,
  mask: tf.Tensor3D,
): tf.Scalar {
  return tf.tidy(() => {
    // `frozen` is computed outside the gradient tape, so it is a constant here.
    const distance = safeNorm(tf.sub(student, frozen)) as tf.Tensor3D;
    const count = tf.sum(mask);
    return tf.div(tf.sum(tf.mul(distance, mask)), tf.maximum(count, 1)) as tf.Scalar;
  });
}
