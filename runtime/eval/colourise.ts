/**
 * Colourised label and prediction pictures (Cityscapes palette; ignored pixels black) and the
 * `image | label | prediction` strips reports show.
 *
 * @module
 */
import { IGNORE_COLOUR, PALETTE } from "../data/labels.ts";
import { writePng } from "../data/png.ts";

/** RGB (H×W×3) of a trainId map; ids without a colour are drawn black like ignored pixels. */
export function colourise(label: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(label.length * 3);
  for (let i = 0; i < label.length; i++) {
    const colour = PALETTE[label[i]] ?? IGNORE_COLOUR;
    out[3 * i] = colour[0];
    out[3 * i + 1] = colour[1];
    out[3 * i + 2] = colour[2];
  }
  return out;
}

/** Places RGB images of equal height side by side, separated by `gap` white columns. */
export function sideBySide(
  images: readonly Uint8Array[],
  width: number,
  height: number,
  gap = 4,
): Uint8Array {
  const total = images.length * width + (images.length - 1) * gap;
  const out = new Uint8Array(total * height * 3).fill(255);
  images.forEach((img, k) => {
    const x0 = k * (width + gap);
    for (let y = 0; y < height; y++) {
      out.set(img.subarray(y * width * 3, (y + 1) * width * 3), (y * total + x0) * 3);
    }
  });
  return out;
}

/** RGB (H×W×3) of a map of values in [0, 1]: black at 0, white at 1. */
export function greyscale(map: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    out.fill(Math.round(255 * Math.min(1, Math.max(0, map[i]))), 3 * i, 3 * i + 3);
  }
  return out;
}

/**
 * Writes `image | colourised label | colourised prediction` as one PNG, followed by each of
 * `maps` (values in [0, 1], e.g. HRDA's scale attention) in greyscale.
 */
export async function writePredictionStrip(
  path: string,
  image: Uint8Array,
  label: ArrayLike<number>,
  prediction: ArrayLike<number>,
  width: number,
  height: number,
  maps: readonly ArrayLike<number>[] = [],
): Promise<void> {
  const panels = [image, colourise(label), colourise(prediction), ...maps.map(greyscale)];
  const data = sideBySide(panels, width, height);
  const gap = 4;
  const total = panels.length * width + (panels.length - 1) * gap;
  await writePng(path, { width: total, height, channels: 3, depth: 8, data });
}
