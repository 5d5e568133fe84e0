/**
 * The arithmetic of HRDA's multi-resolution segmentation (`shared/reference/daformer_hrda_mic.md`
 * §6): the random detail box, the grid of sliding windows, the attention mask, the fusion of
 * context and detail logits, and the overlap averaging of window predictions. Pure functions of
 * tensors and numbers, so each is tested on hand-made inputs (`tests/hrda/`).
 *
 * Boxes are `[top, left, height, width]` in pixels of the full-resolution crop.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";

/** A region `[top, left, height, width]` in pixels. */
export type Box = readonly [number, number, number, number];

/**
 * The detail box of one training forward (§6.1), shared by every image of the batch: offsets
 * `randint(0, (margin + 1) // k) · k` per axis, as the reference draws them (so with margin 512
 * and k = 8 the offsets are 0, 8, …, 504: the last multiple of k is unreachable, a quirk kept
 * because the paper does not say otherwise).
 */
export function sampleDetailBox(
  rng: RandomStream,
  crop: readonly [number, number],
  detail: readonly [number, number],
  divisible: number,
): Box {
  const offset = (size: number, window: number) => {
    const margin = size - window;
    if (margin < 0) {
      throw new Error(`the detail crop (${window}) is larger than the training crop (${size})`);
    }
    return rng.int(Math.max(1, Math.floor((margin + 1) / divisible))) * divisible;
  };
  const top = offset(crop[0], detail[0]);
  const left = offset(crop[1], detail[1]);
  return [top, left, detail[0], detail[1]];
}

/**
 * Sliding windows of `window` at `stride` over an image of `size` (mmseg's `slide_inference`):
 * `max(H − h + s − 1, 0) // s + 1` rows, each window clipped so it ends inside the image and
 * starts at 0 or later (a window larger than the image becomes the image).
 */
export function slidingWindows(
  size: readonly [number, number],
  window: readonly [number, number],
  stride: readonly [number, number],
): Box[] {
  const starts = (length: number, win: number, step: number) => {
    const count = Math.floor(Math.max(length - win + step - 1, 0) / step) + 1;
    return Array.from({ length: count }, (_, i) => {
      const end = Math.min(i * step + win, length);
      return [Math.max(end - win, 0), end] as const;
    });
  };
  const boxes: Box[] = [];
  for (const [y0, y1] of starts(size[0], window[0], stride[0])) {
    for (const [x0, x1] of starts(size[1], window[1], stride[1])) {
      boxes.push([y0, x0, y1 - y0, x1 - x0]);
    }
  }
  return boxes;
}

/** `box` divided by `factor` (each coordinate must divide exactly). */
export function scaleBox(box: Box, factor: number): Box {
  const scaled = box.map((v) => v / factor);
  if (scaled.some((v) => !Number.isInteger(v))) {
    throw new Error(`box [${box}] does not fall on whole cells of ${factor} pixels`);
  }
  return scaled as unknown as Box;
}

/** A `[1, H, W, 1]` mask that is 1 inside `box` (in cells of the grid) and 0 elsewhere. */
export function boxMask(grid: readonly [number, number], box: Box): tf.Tensor4D {
  return tf.tidy(() => placeOnCanvas(tf.ones([1, box[2], box[3], 1]), grid, box));
}

/** `x` (`[N, h, w, C]`) placed at `box` (cells) on a zero canvas of `grid` cells. */
export function placeOnCanvas(
  x: tf.Tensor4D,
  grid: readonly [number, number],
  box: Box,
): tf.Tensor4D {
  const [top, left, height, width] = box;
  if (x.shape[1] !== height || x.shape[2] !== width) {
    throw new Error(`placing [${x.shape}] at box [${box}]: sizes differ`);
  }
  return tf.pad(x, [
    [0, 0],
    [top, grid[0] - top - height],
    [left, grid[1] - left - width],
    [0, 0],
  ]) as tf.Tensor4D;
}

/**
 * HRDA's fusion (§6.2): `fused = up(a) · hr + up((1 − a) · lr)`, with the context logits `lr`
 * and the attention `a` at the context's grid, each upsampled separately (bilinear, half-pixel
 * centres) to the grid of `hr`, the detail logits on a canvas of the whole crop (zero where no
 * detail prediction exists). `a` has one channel per class or one for all. With
 * `afterUpsampling`, CLUDA's released order: `up(a) · hr + (1 − up(a)) · up(lr)`.
 */
export function fuseScales(
  context: tf.Tensor4D,
  attention: tf.Tensor4D,
  detail: tf.Tensor4D,
  afterUpsampling = false,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [height, width] = [detail.shape[1], detail.shape[2]];
    const up = (x: tf.Tensor4D) =>
      x.shape[1] === height && x.shape[2] === width
        ? x
        : tf.image.resizeBilinear(x, [height, width], false, true);
    const a = up(attention);
    const weightedContext = afterUpsampling
      ? tf.mul(tf.sub(1, a), up(context))
      : up(tf.mul(tf.sub(1, attention), context) as tf.Tensor4D);
    return tf.add(tf.mul(a, detail), weightedContext) as tf.Tensor4D;
  });
}

/**
 * Window predictions (`[B · W, h, w, C]`, windows in `boxes` order for each image, images
 * outermost) placed on a canvas of `grid` cells and divided by how many windows cover each cell
 * (the reference's `count_mat`, §6.3 and §6.4). Boxes are in cells.
 */
export function averageWindows(
  windows: tf.Tensor4D,
  boxes: readonly Box[],
  grid: readonly [number, number],
): tf.Tensor4D {
  const images = windows.shape[0] / boxes.length;
  if (!Number.isInteger(images)) {
    throw new Error(`${windows.shape[0]} window predictions for ${boxes.length} windows`);
  }
  const counts = coverage(boxes, grid);
  return tf.tidy(() => {
    const [, h, w, c] = windows.shape;
    const perWindow = tf.unstack(windows.reshape([images, boxes.length, h, w, c]), 1);
    const placed = boxes.map((box, k) => placeOnCanvas(perWindow[k] as tf.Tensor4D, grid, box));
    const sum = placed.reduce((a, b) => tf.add(a, b) as tf.Tensor4D);
    return tf.div(sum, tf.tensor4d(counts, [1, grid[0], grid[1], 1])) as tf.Tensor4D;
  });
}

/** How many of `boxes` cover each cell of `grid`; fails if a cell is left uncovered. */
export function coverage(boxes: readonly Box[], grid: readonly [number, number]): Float32Array {
  const counts = new Float32Array(grid[0] * grid[1]);
  for (const [top, left, height, width] of boxes) {
    for (let y = top; y < top + height; y++) {
      for (let x = left; x < left + width; x++) counts[y * grid[1] + x]++;
    }
  }
  if (counts.some((n) => n === 0)) {
    throw new Error(`windows [${boxes.map((b) => `[${b}]`)}] leave cells of ${grid} uncovered`);
  }
  return counts;
}

/** The windows of every image of a batch, cut at `boxes`, images outermost. */
export function cutWindows(image: tf.Tensor4D, boxes: readonly Box[]): tf.Tensor4D {
  return tf.tidy(() => {
    const windows = boxes.map(([top, left, height, width]) =>
      tf.slice(image, [0, top, left, 0], [-1, height, width, -1])
    );
    const [n] = image.shape;
    const [, h, w, c] = windows[0].shape;
    // [W, N, h, w, C] → [N, W, h, w, C] → [N·W, h, w, C]
    return tf.stack(windows, 1).reshape([n * boxes.length, h, w, c]) as tf.Tensor4D;
  });
}

/** The context crop: the crop resized by `scale` (bilinear, half-pixel centres, no antialias). */
export function contextCrop(image: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [height, width] = [image.shape[1] * scale, image.shape[2] * scale];
  if (!Number.isInteger(height) || !Number.isInteger(width)) {
    throw new Error(`a [${image.shape.slice(1, 3)}] crop × ${scale} is not whole pixels`);
  }
  return tf.image.resizeBilinear(image, [height, width], false, true);
}

/**
 * The detail window of highest mean normalised entropy (§5.6): `entropy` `[H, W]` (host, one
 * map, the batch's mean for HRDA's one box per call) and candidate boxes `[top, left, h, w]`;
 * the first of equal means wins.
 */
export function maxEntropyWindow(
  entropy: Float32Array,
  size: readonly [number, number],
  boxes: readonly (readonly [number, number, number, number])[],
): number {
  const [, width] = size;
  let best = 0;
  let bestMean = -Infinity;
  boxes.forEach(([top, left, h, w], k) => {
    let sum = 0;
    for (let y = top; y < top + h; y++) {
      for (let x = left; x < left + w; x++) sum += entropy[y * width + x];
    }
    const mean = sum / (h * w);
    if (mean > bestMean) [best, bestMean] = [k, mean];
  });
  return best;
}

/** Per-pixel entropy of the softmax of `logits` `[B, h, w, K]`, divided by K·ln K, `[B, h, w]`. */
export function normalisedEntropy(logits: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const k = logits.shape[3];
    const softmax = tf.softmax(logits, -1);
    // The released `get_entropy` replaces exact zeros only.
    const p = tf.where(tf.equal(softmax, 0), tf.fill(softmax.shape, 1e-8), softmax);
    return tf.div(tf.neg(tf.sum(tf.mul(p, tf.log(p)), -1)), k * Math.log(k)) as tf.Tensor3D;
  });
}
