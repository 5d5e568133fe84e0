/**
 * PiPa's overlapping-crop pair (`shared/reference/pipa_cluda.md` §2.2, `PairCityDataset`): the
 * target image rescaled by s ~ U[low, high], two S×S crops whose offset is a multiple of 8 and
 * whose IoU lies in a range (50 draws of the second crop, else the two are the same), each
 * flipped with p 0.5 and colour-augmented on its own; and the overlap as a box in each crop's
 * un-flipped coordinates, so that row r, column c of one box and of the other are the same image
 * location.
 *
 * @module
 */
import type { PatchContrastParams } from "../../dsl/mod.ts";
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

/** A box `[top, left, bottom, right)` in pixels. */
export type Box = readonly [number, number, number, number];

/** Where the two crops of one image are. */
export interface PairGeometry {
  /** The rescaled image's `[height, width]`. */
  size: readonly [number, number];
  /** Top-left `[y, x]` of each crop in the rescaled image. */
  origins: readonly [readonly [number, number], readonly [number, number]];
  /** The overlap in each crop's own, un-flipped coordinates. */
  overlaps: readonly [Box, Box];
  /** Whether each crop is mirrored. */
  flips: readonly [boolean, boolean];
  /** IoU of the two crops. */
  iou: number;
}

/**
 * How the pair is drawn: the block's fields (PiPa: scale [0.8, 2], offsets ×8, IoU [0.1, 1], 50
 * draws, flip 0.5) and the crop side S, a multiple of `offsetMultiple`.
 */
export type PairOptions =
  & Pick<PatchContrastParams, "scale" | "offsetMultiple" | "iou" | "attempts" | "flipProbability">
  & { cropSize: number };

/** IoU of two S×S squares offset by (dy, dx): inter / (2S² − inter). */
export function squareIou(size: number, dy: number, dx: number): number {
  const inter = Math.max(0, size - Math.abs(dy)) * Math.max(0, size - Math.abs(dx));
  return inter / (2 * size * size - inter);
}

/** Draws the pair of one `height × width` image. */
export function samplePairGeometry(
  height: number,
  width: number,
  options: PairOptions,
  rng: RandomStream,
): PairGeometry {
  const { cropSize: s, offsetMultiple: m } = options;
  const scale = rng.uniform(options.scale[0], options.scale[1]);
  const size = [Math.round(height * scale), Math.round(width * scale)] as const;
  if (size[0] < s || size[1] < s) {
    throw new Error(
      `patch contrast: a ${s}-px crop does not fit the ${size[0]}×${size[1]} rescale of a ` +
        `${height}×${width} image; lower cropFraction or raise scale[0]`,
    );
  }
  const [y1, x1] = [rng.int(size[0] - s + 1), rng.int(size[1] - s + 1)];
  let [y2, x2] = [y1, x1];
  for (let attempt = 0; attempt < options.attempts; attempt++) {
    // The second corner, snapped so that the offsets are multiples of m (§2.2 step 3).
    let [y, x] = [rng.int(size[0] - s + 1), rng.int(size[1] - s + 1)];
    y = y1 + m * Math.floor((y - y1) / m);
    x = x1 + m * Math.floor((x - x1) / m);
    if (y < 0) y += m;
    if (x < 0) x += m;
    if (y > size[0] - s || x > size[1] - s) continue;
    const iou = squareIou(s, y - y1, x - x1);
    if (iou > 0 && iou >= options.iou[0] && iou <= options.iou[1]) {
      [y2, x2] = [y, x];
      break;
    }
  }
  const [dy, dx] = [y2 - y1, x2 - x1];
  const overlaps: [Box, Box] = [
    [Math.max(0, dy), Math.max(0, dx), Math.min(s, s + dy), Math.min(s, s + dx)],
    [Math.max(0, -dy), Math.max(0, -dx), Math.min(s, s - dy), Math.min(s, s - dx)],
  ];
  const flips = [
    rng.next() < options.flipProbability,
    rng.next() < options.flipProbability,
  ] as const;
  return {
    size,
    origins: [[y1, x1], [y2, x2]],
    overlaps,
    flips,
    iou: squareIou(s, dy, dx),
  };
}

/** PiPa's photometric augmentation of each crop (torchvision, §2.2 step 6): the block's fields. */
export type CropAugmentOptions = Pick<
  PatchContrastParams,
  | "jitterProbability"
  | "jitterStrength"
  | "blurProbability"
  | "blurKernel"
  | "blurSigma"
  | "grayscaleProbability"
>;

/**
 * Blur, colour jitter and grayscale, each with its probability, of one ImageNet-normalised HWC
 * crop, in [0, 1] space as torchvision applies them to the PIL image before `ToTensor`.
 */
export function augmentCrop(
  crop: Float32Array,
  size: number,
  options: CropAugmentOptions,
  rng: RandomStream,
): Float32Array {
  let unit = denormalizeToUnit(crop);
  if (rng.next() < options.blurProbability) {
    const sigma = rng.uniform(options.blurSigma[0], options.blurSigma[1]);
    unit = gaussianBlur(unit, size, size, 3, sigma, options.blurKernel);
  }
  if (rng.next() < options.jitterProbability) {
    const [brightness, contrast, saturation, hue] = options.jitterStrength;
    unit = applyJitter(unit, drawJitter({ brightness, contrast, saturation, hue }, rng));
  }
  if (rng.next() < options.grayscaleProbability) {
    // torchvision's luma (ITU-R 601-2), the same value in all three channels.
    for (let i = 0; i < unit.length; i += 3) {
      const y = 0.299 * unit[i] + 0.587 * unit[i + 1] + 0.114 * unit[i + 2];
      unit[i] = unit[i + 1] = unit[i + 2] = y;
    }
  }
  const out = new Float32Array(unit.length);
  for (let i = 0; i < unit.length; i++) {
    const c = i % 3;
    out[i] = (unit[i] * 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
  }
  return out;
}

/**
 * The two crop batches `[N, S, S, 3]` of an ImageNet-normalised batch, one geometry per image:
 * each image rescaled (bilinear, half-pixel centres), cropped, flipped and augmented.
 */
export async function cropPairs(
  images: tf.Tensor4D,
  options: PairOptions & CropAugmentOptions,
  rng: RandomStream,
): Promise<{ crops: [tf.Tensor4D, tf.Tensor4D]; geometries: PairGeometry[] }> {
  const [n, height, width] = images.shape;
  const s = options.cropSize;
  const geometries: PairGeometry[] = [];
  const host = [new Float32Array(n * s * s * 3), new Float32Array(n * s * s * 3)];
  for (let k = 0; k < n; k++) {
    const g = samplePairGeometry(height, width, options, rng.fork(`pair:${k}`));
    geometries.push(g);
    const crops = tf.tidy(() => {
      const image = tf.slice(images, [k, 0, 0, 0], [1, height, width, 3]);
      const rescaled = tf.image.resizeBilinear(image, [g.size[0], g.size[1]], false, true);
      return g.origins.map(([y, x], c) => {
        const crop = tf.slice(rescaled, [0, y, x, 0], [1, s, s, 3]);
        return g.flips[c] ? tf.reverse(crop, 2) : crop;
      });
    });
    for (const [c, crop] of crops.entries()) {
      const values = (await crop.data()) as Float32Array;
      crop.dispose();
      host[c].set(augmentCrop(values, s, options, rng.fork(`augment:${k}:${c}`)), k * s * s * 3);
    }
  }
  return {
    crops: [tf.tensor4d(host[0], [n, s, s, 3]), tf.tensor4d(host[1], [n, s, s, 3])],
    geometries,
  };
}

/**
 * Flat indices into the `[N, g, g]` grid of each crop (stride `stride` px) of the overlap
 * positions, in the same order for both crops, so index i of one and of the other is one image
 * location; a flipped crop's columns are read mirrored.
 */
export function overlapIndices(
  geometries: readonly PairGeometry[],
  grid: number,
  stride: number,
): [Int32Array, Int32Array] {
  const out: [number[], number[]] = [[], []];
  geometries.forEach((g, k) => {
    const [a, b] = g.overlaps.map((box) => box.map((v) => v / stride));
    const rows = a[2] - a[0], cols = a[3] - a[1];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        [a, b].forEach((box, crop) => {
          const row = box[0] + r;
          const col = box[1] + c;
          const stored = g.flips[crop] ? grid - 1 - col : col;
          out[crop].push((k * grid + row) * grid + stored);
        });
      }
    }
  });
  return [Int32Array.from(out[0]), Int32Array.from(out[1])];
}
