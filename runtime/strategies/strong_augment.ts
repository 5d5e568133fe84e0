/**
 * DACS's strong augmentation of the mixed batch (`shared/reference/daformer_hrda_mic.md` §2.3):
 * colour jitter with kornia 0.5.8's semantics, then Gaussian blur.
 *
 * - Colour jitter: applied with probability 0.8, one decision for the batch. Each image draws
 *   its own brightness, contrast, saturation and hue factors (strength 0.2) and its own order of
 *   the four operations. The jitter runs in [0, 1] space: de-normalise, jitter, normalise again.
 * - Blur: applied with probability 0.5, one decision for the batch. σ ~ U(0.15, 1.15) per image;
 *   the kernel is the largest odd size ≤ ⌈0.1·size⌉ per axis, with reflect borders. It runs on the
 *   normalised image, as the reference does.
 *
 * The formulas are the tested CPU implementations of `runtime/data/transforms/photometric.ts`:
 * the batch is read into host memory and a new tensor is uploaded. On wasm that is a copy; on
 * GPU backends it is one asynchronous read (`strongAugmentAsync`); a GPU-resident version is
 * future work.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import {
  applyJitter,
  denormalizeToUnit,
  drawJitter,
  gaussianBlur,
  IMAGENET_MEAN,
  IMAGENET_STD,
} from "../data/transforms/photometric.ts";

/** Options of {@linkcode strongAugment} (DACS: 0.8, 0.2, 0.5, [0.15, 1.15]). */
export interface StrongAugmentOptions {
  /** Probability of colour jitter for the batch. */
  jitterProbability: number;
  /** Strength of brightness, contrast, saturation and hue jitter. */
  jitterStrength: number;
  /** Probability of blur for the batch. */
  blurProbability: number;
  /** Range of the per-image blur σ. */
  blurSigma: readonly [number, number];
}

/** Colour jitter then blur of an ImageNet-normalised NHWC batch; a new tensor. */
export function strongAugment(
  image: tf.Tensor4D,
  options: StrongAugmentOptions,
  rng: RandomStream,
): tf.Tensor4D {
  return augmentHost(image.dataSync() as Float32Array, image.shape, options, rng);
}

/**
 * {@linkcode strongAugment} with an asynchronous read of the batch, as GPU backends need
 * (`dataSync` on webgpu under Deno fails); the same draws and the same result.
 */
export async function strongAugmentAsync(
  image: tf.Tensor4D,
  options: StrongAugmentOptions,
  rng: RandomStream,
): Promise<tf.Tensor4D> {
  return augmentHost((await image.data()) as Float32Array, image.shape, options, rng);
}

/** The augmentation of a batch already in host memory. */
function augmentHost(
  data: Float32Array,
  shape: [number, number, number, number],
  options: StrongAugmentOptions,
  rng: RandomStream,
): tf.Tensor4D {
  const [n, height, width, channels] = shape;
  // One decision per batch for each (the reference draws cj and bl once per iteration).
  const jitter = rng.next() < options.jitterProbability;
  const blur = rng.next() < options.blurProbability;
  const out = new Float32Array(data.length);
  const size = height * width * channels;
  const s = options.jitterStrength;
  const strength = { brightness: s, contrast: s, saturation: s, hue: s };
  for (let k = 0; k < n; k++) {
    let x: Float32Array = new Float32Array(data.subarray(k * size, (k + 1) * size));
    if (jitter) {
      const unit = applyJitter(denormalizeToUnit(x), drawJitter(strength, rng));
      for (let i = 0; i < unit.length; i++) {
        const c = i % 3;
        x[i] = (unit[i] * 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      }
    }
    if (blur) {
      x = gaussianBlur(x, width, height, channels, rng.uniform(...options.blurSigma));
    }
    out.set(x, k * size);
  }
  return tf.tensor4d(out, [n, height, width, channels]);
}
