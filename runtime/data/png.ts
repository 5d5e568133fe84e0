/**
 * PNG reading and writing (pure JavaScript via `fast-png`, so it runs in workers and needs no
 * native code), with errors that name the file.
 *
 * @module
 */
import { decode, encode } from "fast-png";
import { writeFileAtomic } from "../io/atomic.ts";

/** A decoded PNG: interleaved samples, row-major. `palette` is set for indexed-colour files. */
export interface PngImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Samples per pixel in `data` (1 grey/indexed, 2 grey+alpha, 3 RGB, 4 RGBA). */
  channels: number;
  /** Bits per sample: 8 or 16 (1/2/4-bit files are expanded to 8). */
  depth: 8 | 16;
  /** Interleaved samples; for indexed-colour files, the palette indices. */
  data: Uint8Array | Uint16Array;
  /** RGB palette of an indexed-colour file. */
  palette?: number[][];
}

/** Decodes PNG bytes; `file` is only used to name the file in errors. */
export function decodePng(bytes: Uint8Array, file: string): PngImage {
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new Error(
      `${file}: not a readable PNG (${(error as Error).message}). The file is truncated or ` +
        `corrupt; re-extract or re-download it.`,
    );
  }
  const expected = png.width * png.height * png.channels;
  if (png.data.length < expected) {
    throw new Error(
      `${file}: PNG data ends early (${png.data.length} of ${expected} samples). The file is ` +
        `truncated; re-extract or re-download it.`,
    );
  }
  let data: Uint8Array | Uint16Array;
  let depth: 8 | 16;
  if (png.depth === 16) {
    data = png.data as Uint16Array;
    depth = 16;
  } else if (png.depth === 8) {
    data = png.data instanceof Uint8Array ? png.data : new Uint8Array(png.data);
    depth = 8;
  } else {
    // Sub-byte depths: fast-png leaves samples packed; unpack them to one byte each.
    const bits = png.depth;
    const packed = png.data as Uint8Array;
    const perRow = Math.ceil((png.width * png.channels * bits) / 8);
    const out = new Uint8Array(expected);
    const mask = (1 << bits) - 1;
    for (let y = 0; y < png.height; y++) {
      for (let i = 0; i < png.width * png.channels; i++) {
        const bit = i * bits;
        const byte = packed[y * perRow + (bit >> 3)];
        out[y * png.width * png.channels + i] = (byte >> (8 - bits - (bit & 7))) & mask;
      }
    }
    data = out;
    depth = 8;
  }
  return {
    width: png.width,
    height: png.height,
    channels: png.channels,
    depth,
    data,
    palette: png.palette?.map((c) => [...c]),
  };
}

/** Reads and decodes a PNG file. */
export async function readPng(path: string): Promise<PngImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot be read (${(error as Error).message}).`);
  }
  return decodePng(bytes, path);
}

/** Encodes an image as PNG bytes. A `palette` makes an indexed-colour file. */
export function encodePng(image: PngImage): Uint8Array {
  return encode({
    width: image.width,
    height: image.height,
    channels: image.channels,
    depth: image.depth,
    data: image.data,
    palette: image.palette as [number, number, number][] | undefined,
  });
}

/** Writes a PNG atomically: a temporary file beside the target, renamed into place. */
export async function writePng(path: string, image: PngImage): Promise<void> {
  await writeFileAtomic(path, encodePng(image));
}
