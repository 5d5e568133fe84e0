/**
 * Decoding dataset files into RGB images and trainId label maps, with errors that name the file.
 *
 * @module
 */
import { type PngImage, readPng } from "../png.ts";
import { IGNORE_LABEL, NUM_CLASSES } from "../labels.ts";

/** 8-bit RGB (H×W×3) from any PNG: grey, grey+alpha, RGB, RGBA, 8 or 16 bit, indexed. */
export function toRgb(png: PngImage, file: string): Uint8Array {
  const { width, height, channels, depth, data, palette } = png;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const scale = depth === 16 ? 1 / 257 : 1;
  if (palette !== undefined) {
    for (let i = 0; i < n; i++) {
      const colour = palette[data[i]];
      if (colour === undefined) {
        throw new Error(`${file}: palette index ${data[i]} has no colour; the PNG is corrupt.`);
      }
      out.set(colour.slice(0, 3), 3 * i);
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const source = channels >= 3 ? c : 0;
      out[3 * i + c] = Math.round(data[i * channels + source] * scale);
    }
  }
  return out;
}

/** Reads an RGB image file. */
export async function readRgb(
  file: string,
): Promise<{ image: Uint8Array; width: number; height: number }> {
  const png = await readPng(file);
  return { image: toRgb(png, file), width: png.width, height: png.height };
}

/**
 * Label ids from a single-channel label file: grey 8-bit values, or the palette indices of an
 * indexed-colour file (GTA5 stores ids as palette indices; the colours are for viewing only).
 */
export function labelIds(png: PngImage, file: string, expected: string): Uint8Array {
  if (png.channels !== 1 || png.depth !== 8) {
    throw new Error(
      `${file}: expected ${expected}, an 8-bit single-channel (grey or indexed) PNG of label ids, but ` +
        `found ${png.channels} channel(s) at ${png.depth} bits. A colour-coded label cannot be read ` +
        `as ids; use the dataset's id files.`,
    );
  }
  return png.data as Uint8Array;
}

/**
 * SYNTHIA class ids from a `GT/LABELS` file: a 16-bit PNG whose first (R) channel is the class id
 * (the second the instance id), as both SYNTHIA-RAND-CITYSCAPES and SYNTHIA-SEQS store them.
 * `release` names the dataset in the error for any other file (a `GT/COLOR` picture, say).
 */
export function synthiaClassIds(png: PngImage, file: string, release: string): Uint16Array {
  if (png.depth !== 16 || png.palette !== undefined) {
    throw new Error(
      `${file}: expected a SYNTHIA label, a 16-bit PNG with the class id in its first channel, ` +
        `but found ${png.depth}-bit${png.palette ? " indexed" : ""} data. Use the GT/LABELS ` +
        `files of ${release}, not GT/COLOR.`,
    );
  }
  const n = png.width * png.height;
  const ids = new Uint16Array(n);
  for (let i = 0; i < n; i++) ids[i] = png.data[i * png.channels];
  return ids;
}

/** Maps raw ids through a 256-entry lookup table. */
export function mapIds(ids: ArrayLike<number>, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = ids[i] < 256 ? table[ids[i]] : IGNORE_LABEL;
  return out;
}

/** Checks that a map holds only trainIds 0..18 and 255. */
export function checkTrainIds(label: Uint8Array, file: string): Uint8Array {
  for (let i = 0; i < label.length; i++) {
    const v = label[i];
    if (v >= NUM_CLASSES && v !== IGNORE_LABEL) {
      throw new Error(
        `${file}: pixel ${i} has the value ${v}, which is no Cityscapes trainId (0–18, or 255 for ` +
          `ignore). Is this a labelIds file named as labelTrainIds? Regenerate it with ` +
          `cityscapesscripts' createTrainIdLabelImgs, or point the reader at the labelIds files.`,
      );
    }
  }
  return label;
}

/** Fails unless image and label have the same size. */
export function checkSameSize(
  image: { width: number; height: number },
  label: { width: number; height: number },
  imageFile: string,
  labelFile: string,
): void {
  if (image.width !== label.width || image.height !== label.height) {
    throw new Error(
      `${labelFile}: the label is ${label.width}×${label.height} but its image ${imageFile} is ` +
        `${image.width}×${image.height}; image and label must have the same size.`,
    );
  }
}
