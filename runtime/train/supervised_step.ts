/**
 * One supervised training step: forward in training mode, cross-entropy, gradients of every
 * trainable parameter, one AdamW update. Shared by the benchmark and the training loop.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { Segmentor } from "../nn/segmentor.ts";
import type { AdamW } from "../optim/adamw.ts";
import { crossEntropy } from "../losses/cross_entropy.ts";

/** Runs one step on a batch and returns the loss (the caller disposes it). */
export function supervisedStep(
  model: Segmentor,
  optimizer: AdamW,
  image: tf.Tensor4D,
  label: tf.Tensor3D,
  lr: number,
  rng: RandomStream,
): tf.Scalar {
  const trainable = model.params.trainable();
  const { value, grads } = tf.variableGrads(
    () => crossEntropy(model.forward(image, { training: true, rng }).logits, label),
    trainable.map((p) => p.variable),
  );
  const byName: Record<string, tf.Tensor> = {};
  for (const p of trainable) byName[p.name] = grads[p.variable.name];
  optimizer.apply(byName, lr);
  tf.dispose(Object.values(grads));
  return value;
}
