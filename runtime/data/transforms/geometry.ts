/**
 * Geometric transforms of the published pipelines (mmseg 0.16 `Resize`, `RandomCrop`,
 * `RandomFlip`, `Pad`; `shared/reference/daformer_hrda_mic.md` §1.4 and §3), on interleaved 8-bit
 * images (H×W×C) and label maps (H×W). Pure TypeScript, so they run in workers.
 *
 * @module
 */
import { IGNORE_LABEL } from "../labels.ts";
import type { RandomStream } from "../../random.ts";

/** An image with its label map; `label` is absent for unlabelled target images. */
export interface Example {
  /** Interleaved samples, H×W×channels. */
  image: Uint8Array;
  /** trainIds, H×W (255 ignored). */
  label?: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Samples per pixel of `image` (3 for RGB). */
  channels: number;
}

/**
 * mmcv `rescale_size` for `keep_ratio=True`: the factor that fits the long edge into
 * `maxLong` and the short edge into `maxShort`; sizes round half up (`int(x + 0.5)`).
 * GTA's 1914×1052 with (1280, 720) → 1280×704.
 */
export function keepRatioSize(
  width: number,
  height: number,
  maxLong: number,
  maxShort: number,
): [number, number] {
  const factor = Math.min(maxLong / Math.max(width, height), maxShort / Math.min(width, height));
  return [Math.floor(width * factor + 0.5), Math.floor(height * factor + 0.5)];
}

/** Bilinear resize with half-pixel centres (cv2 `INTER_LINEAR`, as mmcv `imresize`). */
export function resizeBilinear(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight * channels);
  const sx = width / outWidth;
  const sy = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.max((y + 0.5) * sy - 0.5, 0);
    const y0 = Math.min(Math.floor(fy), height - 1);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.max((x + 0.5) * sx - 0.5, 0);
      const x0 = Math.min(Math.floor(fx), width - 1);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = data[(y0 * width + x0) * channels + c];
        const b = data[(y0 * width + x1) * channels + c];
        const d = data[(y1 * width + x0) * channels + c];
        const e = data[(y1 * width + x1) * channels + c];
        const top = a + (b - a) * wx;
        const bottom = d + (e - d) * wx;
        out[(y * outWidth + x) * channels + c] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize for label maps (cv2 `INTER_NEAREST`: source = ⌊dst·scale⌋). */
export function resizeNearest(
  data: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(Math.floor((y * height) / outHeight), height - 1);
    for (let x = 0; x < outWidth; x++) {
      out[y * outWidth + x] =
        data[sy * width + Math.min(Math.floor((x * width) / outWidth), width - 1)];
    }
  }
  return out;
}

/** Resizes an example to exactly `outWidth × outHeight` (bilinear image, nearest label). */
export function resize(example: Example, outWidth: number, outHeight: number): Example {
  if (example.width === outWidth && example.height === outHeight) return example;
  const { image, label, width, height, channels } = example;
  return {
    image: resizeBilinear(image, width, height, channels, outWidth, outHeight),
    label: label && resizeNearest(label, width, height, outWidth, outHeight),
    width: outWidth,
    height: outHeight,
    channels,
  };
}

/** A crop box: top-left corner and size. */
export interface Box {
  /** Left column. */
  x: number;
  /** Top row. */
  y: number;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
}

/** Copies a box out of an example (the box must lie inside it). */
export function crop(example: Example, box: Box): Example {
  const { channels } = example;
  const image = new Uint8Array(box.width * box.height * channels);
  const label = example.label && new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    const src = (box.y + y) * example.width + box.x;
    image.set(
      example.image.subarray(src * channels, (src + box.width) * channels),
      y * box.width * channels,
    );
    label?.set(example.label!.subarray(src, src + box.width), y * box.width);
  }
  return { image, label, width: box.width, height: box.height, channels };
}

/** mmseg `RandomCrop.get_crop_bbox`: offsets uniform integers in [0, margin]. */
export function randomBox(
  example: Example,
  cropWidth: number,
  cropHeight: number,
  rng: RandomStream,
): Box {
  const marginX = Math.max(example.width - cropWidth, 0);
  const marginY = Math.max(example.height - cropHeight, 0);
  const y = rng.int(marginY + 1);
  const x = rng.int(marginX + 1);
  return {
    x,
    y,
    width: Math.min(cropWidth, example.width),
    height: Math.min(cropHeight, example.height),
  };
}

/** True when a label crop has more than one valid class and none over `maxRatio` of valid pixels. */
export function passesCategoryRatio(label: Uint8Array, maxRatio: number): boolean {
  const counts = new Map<number, number>();
  let valid = 0;
  for (const v of label) {
    if (v === IGNORE_LABEL) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    valid++;
  }
  if (counts.size <= 1) return false;
  return Math.max(...counts.values()) / valid < maxRatio;
}

/**
 * mmseg `RandomCrop` with `cat_max_ratio` (§3): draw a box; while the crop fails
 * {@linkcode passesCategoryRatio}, re-draw, at most 10 times, keeping the last draw unchecked.
 * `maxRatio` ≥ 1 disables the check (the target pipeline).
 */
export function randomCrop(
  example: Example,
  cropWidth: number,
  cropHeight: number,
  maxRatio: number,
  rng: RandomStream,
): Example {
  const box = randomCropBox(example, cropWidth, cropHeight, maxRatio, rng);
  return pad(crop(example, box), cropWidth, cropHeight);
}

/**
 * The box {@linkcode randomCrop} cuts, with the same draws, for callers that cut further planes
 * with it (a frame pair's previous frame and flow).
 */
export function randomCropBox(
  example: Example,
  cropWidth: number,
  cropHeight: number,
  maxRatio: number,
  rng: RandomStream,
): Box {
  let box = randomBox(example, cropWidth, cropHeight, rng);
  if (maxRatio < 1 && example.label !== undefined) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const candidate = crop({ ...example, image: new Uint8Array(0), channels: 0 }, box);
      if (passesCategoryRatio(candidate.label!, maxRatio)) break;
      box = randomBox(example, cropWidth, cropHeight, rng);
    }
  }
  return box;
}

/** mmseg `Pad` to a size: image zeros and label 255 added at the bottom and right. */
export function pad(example: Example, width: number, height: number): Example {
  if (example.width >= width && example.height >= height) return example;
  const { channels } = example;
  const w = Math.max(width, example.width);
  const h = Math.max(height, example.height);
  const image = new Uint8Array(w * h * channels);
  const label = example.label && new Uint8Array(w * h).fill(IGNORE_LABEL);
  for (let y = 0; y < example.height; y++) {
    image.set(
      example.image.subarray(y * example.width * channels, (y + 1) * example.width * channels),
      y * w * channels,
    );
    label?.set(example.label!.subarray(y * example.width, (y + 1) * example.width), y * w);
  }
  return { image, label, width: w, height: h, channels };
}

/** Mirrors an example left–right. */
export function flipHorizontal(example: Example): Example {
  const { width, height, channels } = example;
  const image = new Uint8Array(example.image.length);
  const label = example.label && new Uint8Array(example.label.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = y * width + x;
      const dst = y * width + (width - 1 - x);
      for (let c = 0; c < channels; c++) {
        image[dst * channels + c] = example.image[src * channels + c];
      }
      if (label) label[dst] = example.label![src];
    }
  }
  return { image, label, width, height, channels };
}

/** mmseg `RandomFlip(prob)`: mirrors with probability `probability`. */
export function randomFlip(example: Example, probability: number, rng: RandomStream): Example {
  return rng.next() < probability ? flipHorizontal(example) : example;
}
