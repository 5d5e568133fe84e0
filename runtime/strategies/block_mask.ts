/**
 * MIC's block mask (`BlockMaskGenerator`, `shared/reference/daformer_hrda_mic.md` §7): per image a
 * `round(H/b) × round(W/b)` grid (Python's `round`, halves to even) of U(0, 1) draws, a block kept where its draw exceeds the ratio
 * r, nearest-upsampled to H×W (PyTorch `interpolate` `nearest`: source cell ⌊y·gh/H⌋), one mask
 * for all channels. Multiplying the normalised image by it makes masked pixels 0, the ImageNet
 * mean colour.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";

/** Block masks `[N, H, W, 1]` (1 = kept), drawn image by image from `rng`. */
export function blockMasks(
  n: number,
  height: number,
  width: number,
  blockSize: number,
  ratio: number,
  rng: RandomStream,
): Float32Array {
  const gh = Math.max(1, roundHalfEven(height / blockSize));
  const gw = Math.max(1, roundHalfEven(width / blockSize));
  const out = new Float32Array(n * height * width);
  for (let k = 0; k < n; k++) {
    const kept = Array.from({ length: gh * gw }, () => rng.next() > ratio);
    for (let y = 0; y < height; y++) {
      const row = Math.floor((y * gh) / height);
      for (let x = 0; x < width; x++) {
        const column = Math.floor((x * gw) / width);
        out[(k * height + y) * width + x] = kept[row * gw + column] ? 1 : 0;
      }
    }
  }
  return out;
}

/** Python 3's `round`: to the nearest integer, halves to the even one (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `image` (normalised NHWC) with the blocks of a new mask set to 0; returns it and the mask. */
export function maskImage(
  image: tf.Tensor4D,
  blockSize: number,
  ratio: number,
  rng: RandomStream,
): { image: tf.Tensor4D; mask: tf.Tensor4D } {
  const [n, height, width] = image.shape;
  const mask = tf.tensor4d(blockMasks(n, height, width, blockSize, ratio, rng), [
    n,
    height,
    width,
    1,
  ]);
  return { image: tf.mul(image, mask) as tf.Tensor4D, mask };
}
