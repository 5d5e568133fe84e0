/**
 * Warping frame t−k onto frame t with a backward flow (`runtime/data/synthcity/flow.ts` states
 * the convention): output pixel p = (x, y) reads the source at (x + dx, y + dy), in pixel-index
 * coordinates, so a whole-pixel flow moves values exactly. Values are interleaved H×W×channels;
 * the flow is interleaved H×W×2.
 *
 * @module
 */
import { IGNORE_LABEL } from "../labels.ts";

/** Warped values and where they came from inside the source (1) or not (0). */
export interface Warped<T> {
  /** The warped values, H×W×channels. */
  values: T;
  /** 1 where the source position lies inside the source image and the flow is finite. */
  valid: Uint8Array;
}

function checkSizes(
  what: string,
  values: ArrayLike<number>,
  flow: Float32Array,
  width: number,
  height: number,
  channels: number,
): void {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(`${what}: size ${width}×${height} is not a positive integer size.`);
  }
  if (!(Number.isInteger(channels) && channels > 0)) {
    throw new RangeError(`${what}: channels must be a positive integer, got ${channels}.`);
  }
  const n = width * height;
  if (values.length !== n * channels || flow.length !== n * 2) {
    throw new RangeError(
      `${what}: expected ${n * channels} values (${width}×${height}×${channels}) and ${n * 2} ` +
        `flow components (${width}×${height}×2), got ${values.length} and ${flow.length}.`,
    );
  }
}

/**
 * Nearest-neighbour warp, for labels and predictions: output pixel p takes the source pixel
 * nearest to p + flow(p) (`floor(x + dx + 0.5)`, the rounding `flow.ts` checks visibility with).
 * Where that pixel lies outside the image, or the flow is not finite, the output is `fill`
 * (255, the ignore label) and `valid` is 0.
 */
export function warpNearest<T extends Uint8Array | Int32Array>(
  values: T,
  flow: Float32Array,
  width: number,
  height: number,
  channels = 1,
  fill = IGNORE_LABEL,
): Warped<T> {
  checkSizes("warpNearest", values, flow, width, height, channels);
  const out =
    (values instanceof Uint8Array
      ? new Uint8Array(values.length)
      : new Int32Array(values.length)) as T;
  out.fill(fill);
  const valid = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const xs = Math.floor(x + flow[2 * i] + 0.5);
      const ys = Math.floor(y + flow[2 * i + 1] + 0.5);
      // NaN fails every comparison, so a non-finite flow stays invalid.
      if (!(xs >= 0 && xs < width && ys >= 0 && ys < height)) continue;
      const j = ys * width + xs;
      for (let c = 0; c < channels; c++) out[i * channels + c] = values[j * channels + c];
      valid[i] = 1;
    }
  }
  return { values: out, valid };
}

/**
 * Bilinear warp, for images and probabilities: output pixel p interpolates the four source
 * pixels around p + flow(p). It is valid where that position lies within the pixel centres,
 * 0 ≤ x + dx ≤ W − 1 and 0 ≤ y + dy ≤ H − 1 (no value is extrapolated); elsewhere the output is 0.
 */
export function warpBilinear(
  values: Float32Array | Uint8Array,
  flow: Float32Array,
  width: number,
  height: number,
  channels = 1,
): Warped<Float32Array> {
  checkSizes("warpBilinear", values, flow, width, height, channels);
  const out = new Float32Array(values.length);
  const valid = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const sx = x + flow[2 * i];
      const sy = y + flow[2 * i + 1];
      if (!(sx >= 0 && sx <= width - 1 && sy >= 0 && sy <= height - 1)) continue;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, width - 1);
      const y1 = Math.min(y0 + 1, height - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const a = (y0 * width + x0) * channels;
      const b = (y0 * width + x1) * channels;
      const d = (y1 * width + x0) * channels;
      const e = (y1 * width + x1) * channels;
      for (let c = 0; c < channels; c++) {
        out[i * channels + c] = w00 * values[a + c] + w01 * values[b + c] +
          w10 * values[d + c] + w11 * values[e + c];
      }
      valid[i] = 1;
    }
  }
  return { values: out, valid };
}
