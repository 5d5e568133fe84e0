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
import { TemporalConsistency } from "./video.ts";
import type { FramePair, FramePairDataset } from "../data/video/pairs.ts";
import type { SegmentationDataset } from "../data/dataset.ts";

function isPairDataset(dataset: SegmentationDataset): dataset is FramePairDataset {
  return typeof (dataset as Partial<FramePairDataset>).getPair === "function";
}

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
  /**
   * Frame t−k, normalised at the test scale, where the set is a sequence with flow (the target
   * validation set): the temporal consistency compares the two frames' predictions.
   */
  previous?: Float32Array;
  /** Backward flow t → t−k at native size, (dx, dy) pixels interleaved H×W×2, with `previous`. */
  flow?: Float32Array;
  /** 1 where `flow` is valid, H×W. */
  flowValid?: Uint8Array;
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
  // The target set's frame pairs, where it has flow: its predictions' temporal consistency.
  const pairs = plan.role === "targetVal" && isPairDataset(dataset) && dataset.hasFlow
    ? dataset
    : undefined;
  const images: EvalImage[] = [];
  const [a, b] = plan.scale;
  for (let i = 0; i < dataset.size; i++) {
    const x = pairs ? await pairs.getPair(i) : await dataset.get(i);
    if (x.label === undefined) {
      throw new Error(
        `data.${plan.role}: '${x.name}' has no label; a validation set must be labelled.`,
      );
    }
    const [w, h] = a === 0 && b === 0
      ? [x.width, x.height]
      : keepRatioSize(x.width, x.height, Math.max(a, b), Math.min(a, b));
    const scaled = (image: Uint8Array) =>
      w === x.width && h === x.height ? image : resizeBilinear(image, x.width, x.height, 3, w, h);
    const pair = "previous" in x ? x as FramePair : undefined;
    images.push({
      name: x.name,
      input: normalize(scaled(x.image)),
      inputWidth: w,
      inputHeight: h,
      image: x.image,
      label: x.label,
      width: x.width,
      height: x.height,
      ...(pair?.flow
        ? {
          previous: normalize(scaled(pair.previous.image)),
          flow: pair.flow,
          flowValid: pair.flowValid ?? new Uint8Array(x.width * x.height).fill(1),
        }
        : {}),
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
  /**
   * The network's per-pixel maps (values in [0, 1] at native size) of the same images, by name,
   * where it has any (HRDA's scale attention).
   */
  maps: Record<string, Float32Array>[];
  /** The temporal consistency of the predictions, where the set has frame pairs with flow. */
  consistency?: TemporalConsistency;
}

/**
 * Whole-image inference: logits at stride 4 of a batch, from the network's own `predict` when it
 * has one (sliding-window or multi-resolution models), else its eval-mode forward pass.
 */
export function predictLogits(model: Network, image: tf.Tensor4D, output?: string): tf.Tensor4D {
  if (model.predict !== undefined) return model.predict(image, output);
  if (output !== undefined) throw new Error(`evaluation: this network has no '${output}' output`);
  const logits = model.forward?.(image, { training: false }).logits;
  if (logits === undefined) throw new Error("evaluation: the network predicts no logits");
  return logits;
}

/** A batch of equally sized images (or their frames t−k) as one normalised NHWC tensor. */
function batchTensor(batch: EvalImage[], frame: "input" | "previous" = "input"): tf.Tensor4D {
  const { inputWidth: w, inputHeight: h } = batch[0];
  const data = new Float32Array(batch.length * w * h * 3);
  batch.forEach((x, k) => data.set(x[frame]!, k * w * h * 3));
  return tf.tensor4d(data, [batch.length, h, w, 3]);
}

/** Predicted trainIds of a batch of equally sized images, at their native size. */
function predictBatch(
  model: Network,
  batch: EvalImage[],
  output?: string,
  frame: "input" | "previous" = "input",
): tf.Tensor3D {
  return tf.tidy(() => {
    const { width, height } = batch[0];
    const logits = predictLogits(model, batchTensor(batch, frame), output);
    const full = tf.image.resizeBilinear(logits, [height, width], false, true);
    return tf.cast(tf.argMax(full, -1), "int32") as tf.Tensor3D;
  });
}

/** The network's maps of one image at its native size (see {@linkcode EvalResult.maps}). */
async function mapsOf(model: Network, x: EvalImage): Promise<Record<string, Float32Array>> {
  if (model.maps === undefined) return {};
  const resized = tf.tidy(() =>
    Object.entries(model.maps!(batchTensor([x]))).map(([name, map]) =>
      [name, tf.image.resizeBilinear(map, [x.height, x.width], false, true)] as const
    )
  );
  const out: Record<string, Float32Array> = {};
  for (const [name, map] of resized) {
    out[name] = Float32Array.from(await map.data());
    map.dispose();
  }
  return out;
}

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Images per forward pass. */
  batchSize: number;
  /** The class protocol of the metrics. */
  protocol: Protocol;
  /** Predictions (and maps) kept for the first this many images. */
  pictures: number;
  /** Classes of the confusion matrix. */
  numClasses: number;
  /** One of the network's named predictions (`Network.outputs`), else its default. */
  output?: string;
}

/** Evaluates `model` on a set in batches of images of equal size. */
export async function evaluate(
  model: Network,
  set: EvalSet,
  options: EvaluateOptions,
): Promise<EvalResult> {
  const confusion = new ConfusionMatrix(options.numClasses);
  const predictions: Uint8Array[] = [];
  const maps: Record<string, Float32Array>[] = [];
  const { images } = set;
  const consistency = images.some((x) => x.previous !== undefined)
    ? new TemporalConsistency(options.numClasses)
    : undefined;
  let i = 0;
  while (i < images.length) {
    const first = images[i];
    const batch = [first];
    while (
      batch.length < options.batchSize && i + batch.length < images.length &&
      sameSize(images[i + batch.length], first)
    ) batch.push(images[i + batch.length]);
    const pred = predictBatch(model, batch, options.output);
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
        maps.push(await mapsOf(model, batch[k]));
      }
    }
    if (consistency !== undefined) await countConsistency(model, batch, pred, consistency, options);
    pred.dispose();
    i += batch.length;
  }
  return {
    confusion,
    metrics: confusion.metrics(options.protocol),
    predictions,
    maps,
    ...(consistency ? { consistency } : {}),
  };
}

/** Adds the batch's frame pairs (frame t−k predicted in the same batch) to `consistency`. */
async function countConsistency(
  model: Network,
  batch: EvalImage[],
  pred: tf.Tensor3D,
  consistency: TemporalConsistency,
  options: EvaluateOptions,
): Promise<void> {
  const earlier = predictBatch(model, batch, options.output, "previous");
  const [now, before] = [await pred.data(), await earlier.data()] as Int32Array[];
  earlier.dispose();
  const { width, height } = batch[0];
  const size = width * height;
  batch.forEach((x, k) => {
    consistency.update({
      previous: before.subarray(k * size, (k + 1) * size),
      current: now.subarray(k * size, (k + 1) * size),
      flow: x.flow!,
      flowValid: x.flowValid!,
      width,
      height,
    });
  });
}

function sameSize(a: EvalImage, b: EvalImage): boolean {
  return a.width === b.width && a.height === b.height && a.inputWidth === b.inputWidth &&
    a.inputHeight === b.inputHeight;
}
