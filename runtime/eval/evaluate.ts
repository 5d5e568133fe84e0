/**
 * Whole-image evaluation (mmseg `mode='whole'`): each validation image is resized keep-ratio to
 * the test scale, the network runs in eval mode, its logits are resized bilinearly to the
 * label's native size (`align_corners=False`), and the argmax is counted in a confusion matrix
 * on the device. Validation images are decoded and preprocessed once and kept in memory.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Network } from "../blocks/types.ts";
import { openDataset } from "../data/open.ts";
import { keepRatioSize, resizeBilinear } from "../data/transforms/geometry.ts";
import { normalize } from "../data/transforms/photometric.ts";
import { ConfusionMatrix, type Protocol, type SegmentationMetrics } from "../eval/confusion.ts";
import { confusionFromTensors } from "../eval/confusion_tensor.ts";
import type { EvalSetPlan } from "../blocks/types.ts";

/** One preprocessed validation image. */
export interface EvalImage {
  /** The example's name. */
  name: string;
  /** Normalised image at the test scale, H×W×3. */
  input: Float32Array;
  /** Test-scale size. */
  inputWidth: number;
  /** Test-scale size. */
  inputHeight: number;
  /** The original 8-bit RGB (for prediction pictures). */
  image: Uint8Array;
  /** trainIds at native size. */
  label: Uint8Array;
  /** Native width. */
  width: number;
  /** Native height. */
  height: number;
}

/** A validation set in memory. */
export interface EvalSet {
  /** `targetVal` or `sourceVal`. */
  role: string;
  /** Its images. */
  images: EvalImage[];
}

/**
 * Loads and preprocesses a validation set. A missing or empty dataset folder is reported with the
 * experiment fields to correct (`data.targetVal.root`), since an eval set always comes from one.
 */
export async function loadEvalSet(plan: EvalSetPlan): Promise<EvalSet> {
  const field = plan.request.field ?? `data.${plan.role}`;
  const dataset = await openDataset({ ...plan.request, field });
  const images: EvalImage[] = [];
  const [a, b] = plan.scale;
  for (let i = 0; i < dataset.size; i++) {
    const x = await dataset.get(i);
    if (x.label === undefined) {
      throw new Error(
        `data.${plan.role}: '${x.name}' has no label; a validation set must be labelled.`,
      );
    }
    const [w, h] = a === 0 && b === 0
      ? [x.width, x.height]
      : keepRatioSize(x.width, x.height, Math.max(a, b), Math.min(a, b));
    const scaled = w === x.width && h === x.height
      ? x.image
      : resizeBilinear(x.image, x.width, x.height, 3, w, h);
    images.push({
      name: x.name,
      input: normalize(scaled),
      inputWidth: w,
      inputHeight: h,
      image: x.image,
      label: x.label,
      width: x.width,
      height: x.height,
    });
  }
  return { role: plan.role, images };
}

/** The metrics of one evaluation, and the predictions asked for. */
export interface EvalResult {
  /** The confusion matrix over the whole set. */
  confusion: ConfusionMatrix;
  /** Metrics under the requested protocol. */
  metrics: SegmentationMetrics;
  /** Predictions (trainIds at native size) of the first `pictures` images. */
  predictions: Uint8Array[];
}

/**
 * Whole-image inference: logits at stride 4 of a batch, from the network's own `predict` when it
 * has one (sliding-window or multi-resolution models), else its eval-mode forward pass.
 */
export function predictLogits(model: Network, image: tf.Tensor4D): tf.Tensor4D {
  if (model.predict !== undefined) return model.predict(image);
  const logits = model.forward?.(image, { training: false }).logits;
  if (logits === undefined) throw new Error("evaluation: the network predicts no logits");
  return logits;
}

/** Predicted trainIds of a batch of equally sized images, at their native size. */
function predictBatch(model: Network, batch: EvalImage[]): tf.Tensor3D {
  return tf.tidy(() => {
    const { inputWidth: w, inputHeight: h, width, height } = batch[0];
    const data = new Float32Array(batch.length * w * h * 3);
    batch.forEach((x, k) => data.set(x.input, k * w * h * 3));
    const logits = predictLogits(model, tf.tensor4d(data, [batch.length, h, w, 3]));
    const full = tf.image.resizeBilinear(logits, [height, width], false, true);
    return tf.cast(tf.argMax(full, -1), "int32") as tf.Tensor3D;
  });
}

/** Evaluates `model` on a set in batches of images of equal size. */
export async function evaluate(
  model: Network,
  set: EvalSet,
  options: { batchSize: number; protocol: Protocol; pictures: number; numClasses: number },
): Promise<EvalResult> {
  const confusion = new ConfusionMatrix(options.numClasses);
  const predictions: Uint8Array[] = [];
  const { images } = set;
  let i = 0;
  while (i < images.length) {
    const first = images[i];
    const batch = [first];
    while (
      batch.length < options.batchSize && i + batch.length < images.length &&
      sameSize(images[i + batch.length], first)
    ) batch.push(images[i + batch.length]);
    const pred = predictBatch(model, batch);
    const labelData = new Int32Array(batch.length * first.width * first.height);
    batch.forEach((x, k) => labelData.set(x.label, k * first.width * first.height));
    const label = tf.tensor3d(labelData, [batch.length, first.height, first.width], "int32");
    confusion.merge(await confusionFromTensors(pred, label, options.numClasses));
    label.dispose();
    if (predictions.length < options.pictures) {
      const values = await pred.data();
      const size = first.width * first.height;
      for (let k = 0; k < batch.length && predictions.length < options.pictures; k++) {
        predictions.push(Uint8Array.from(values.subarray(k * size, (k + 1) * size)));
      }
    }
    pred.dispose();
    i += batch.length;
  }
  return { confusion, metrics: confusion.metrics(options.protocol), predictions };
}

function sameSize(a: EvalImage, b: EvalImage): boolean {
  return a.width === b.width && a.height === b.height && a.inputWidth === b.inputWidth &&
    a.inputHeight === b.inputHeight;
}
