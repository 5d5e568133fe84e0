/**
 * The confusion matrix computed on the device from prediction and label tensors, so evaluation
 * reads back n² counts instead of every pixel. `Bincount` exists on every backend we support.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { IGNORE_LABEL } from "../data/labels.ts";
import { ConfusionMatrix } from "./confusion.ts";

/** Counts (label, prediction) pairs of int32 tensors of equal shape, skipping `ignoreIndex`. */
export async function confusionFromTensors(
  pred: tf.Tensor,
  label: tf.Tensor,
  numClasses: number,
  ignoreIndex = IGNORE_LABEL,
): Promise<ConfusionMatrix> {
  const counts = tf.tidy(() => {
    const valid = tf.notEqual(label, ignoreIndex);
    // Ignored pixels go to bin 0 with weight 0; every other pixel to label·n + prediction.
    const index = tf.where(valid, tf.add(tf.mul(label, numClasses), pred), tf.zerosLike(label));
    return tf.bincount(
      tf.reshape(tf.cast(index, "int32"), [-1]) as tf.Tensor1D,
      tf.reshape(tf.cast(valid, "float32"), [-1]) as tf.Tensor1D,
      numClasses * numClasses,
    );
  });
  const values = await counts.data();
  counts.dispose();
  const matrix = new ConfusionMatrix(numClasses);
  matrix.counts.set(values);
  return matrix;
}
