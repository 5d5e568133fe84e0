/**
 * The heads PiPa adds to the segmentor (`shared/reference/pipa_cluda.md` §1.3), with the
 * reference's parameter names and PyTorch's default initialisation (no init of their own):
 *
 * - `proj_head` ("convmlp"): 1×1 conv C→C (bias) → BatchNorm → ReLU → 1×1 conv C→D (bias), the
 *   output L2-normalised by the caller;
 * - `cls_head`: 3×3 conv C→C (bias) → BatchNorm → ReLU → Dropout2d(0.1) → 1×1 conv C→classes (no
 *   bias) — the released code's classifier that no loss trains (used only for the hard/easy split).
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import type { ParamStore } from "./params.ts";
import { addBatchNorm } from "./init.ts";
import { batchNorm, conv2d, dropout2d, type ForwardMode } from "./layers.ts";

/** `nn.Conv2d`'s default init: weight and bias U(−1/√fan_in, 1/√fan_in) (kaiming_uniform, a = √5). */
function addTorchConv(
  params: ParamStore,
  rng: RandomStream,
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
  bias: boolean,
): void {
  const bound = 1 / Math.sqrt(kernel * kernel * inChannels);
  const w = rng.fork(name).uniformArray(kernel * kernel * inChannels * outChannels, -bound, bound);
  params.add(`${name}.weight`, tf.tensor4d(w, [kernel, kernel, inChannels, outChannels]), "conv");
  if (bias) {
    const b = rng.fork(`${name}.bias`).uniformArray(outChannels, -bound, bound);
    params.add(`${name}.bias`, tf.tensor1d(b), "plain");
  }
}

/** Adds `proj_head.proj.{0,1.0,2}`: C → C → `dim`. */
export function initProjectionHead(
  params: ParamStore,
  rng: RandomStream,
  channels: number,
  dim: number,
): void {
  addTorchConv(params, rng, "proj_head.proj.0", 1, channels, channels, true);
  addBatchNorm(params, "proj_head.proj.1.0", channels);
  addTorchConv(params, rng, "proj_head.proj.2", 1, channels, dim, true);
}

/** The projection (before normalisation) of `x` `[N, h, w, C]`. */
export function projectionHead(params: ParamStore, x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
  const hidden = tf.relu(
    batchNorm(params, "proj_head.proj.1.0", conv2d(params, "proj_head.proj.0", x), mode),
  );
  return conv2d(params, "proj_head.proj.2", hidden as tf.Tensor4D);
}

/** Adds `cls_head.{0,1.0,3}`: the released code's untrained hard/easy classifier. */
export function initUntrainedClassifier(
  params: ParamStore,
  rng: RandomStream,
  channels: number,
  classes: number,
): void {
  addTorchConv(params, rng, "cls_head.0", 3, channels, channels, true);
  addBatchNorm(params, "cls_head.1.0", channels);
  addTorchConv(params, rng, "cls_head.3", 1, channels, classes, false);
}

/** Its logits: BatchNorm in training mode and dropout active, as the released forward runs it. */
export function untrainedClassifier(
  params: ParamStore,
  x: tf.Tensor4D,
  mode: ForwardMode,
): tf.Tensor4D {
  const y = conv2d(params, "cls_head.0", x, { padding: [1, 1] });
  const hidden = tf.relu(batchNorm(params, "cls_head.1.0", y, mode)) as tf.Tensor4D;
  return conv2d(params, "cls_head.3", dropout2d(hidden, 0.1, mode));
}

/**
 * The encoder's four stages upsampled to the first one's size (bilinear, `align_corners=True`,
 * as the reference) and concatenated: the pixel features of PiPa's contrast (§1.2).
 */
export function concatenatedStages(features: tf.Tensor4D[]): tf.Tensor4D {
  const [h, w] = [features[0].shape[1], features[0].shape[2]];
  return tf.concat(
    features.map((f) =>
      f.shape[1] === h && f.shape[2] === w ? f : tf.image.resizeBilinear(f, [h, w], true)
    ),
    3,
  ) as tf.Tensor4D;
}
