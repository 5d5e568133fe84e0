/**
 * Frame images of the video datasets: PNG (Cityscapes-Seq, and VIPER's lossless release) and
 * JPEG (VIPER's `.jpg` release), decoded to 8-bit RGB. JPEG goes through `jpeg-js`, pure
 * JavaScript like the PNG codec, so it runs in the data workers too.
 *
 * @module
 */
import jpeg from "jpeg-js";
import { readRgb } from "../readers/decode.ts";
import { writeFileAtomic } from "../../io/atomic.ts";

/** The image file extensions the video readers decode. */
export const FRAME_EXTENSIONS = [".png", ".jpg", ".jpeg"] as const;

/** Whether `file` is a JPEG by its name. */
function isJpeg(file: string): boolean {
  const lower = file.toLowerCase();
  return lower.endsWith(".jpg") || lower.endsWith(".jpeg");
}

/** Decodes JPEG bytes to RGB; `file` only names the file in errors. */
export function decodeJpeg(
  bytes: Uint8Array,
  file: string,
): { image: Uint8Array; width: number; height: number } {
  let decoded;
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
  } catch (error) {
    throw new Error(
      `${file}: not a readable JPEG (${(error as Error).message}). The file is truncated or ` +
        `corrupt; re-extract or re-download it.`,
    );
  }
  const { width, height, data } = decoded;
  if (data.length !== width * height * 3) {
    throw new Error(
      `${file}: decoded ${data.length} samples where a ${width}×${height} RGB image has ` +
        `${width * height * 3}; re-extract or re-download it.`,
    );
  }
  return { image: data, width, height };
}

/** Reads one frame image (PNG or JPEG, by extension) as RGB. */
export async function readFrameImage(
  file: string,
): Promise<{ image: Uint8Array; width: number; height: number }> {
  if (!isJpeg(file)) return await readRgb(file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as Error).message}).`);
  }
  return decodeJpeg(bytes, file);
}

/** Encodes RGB as a baseline JPEG at `quality` (1–100). */
export function encodeJpeg(
  image: Uint8Array,
  width: number,
  height: number,
  quality = 95,
): Uint8Array {
  // jpeg-js reads RGBA; the alpha byte is ignored.
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[4 * i] = image[3 * i];
    rgba[4 * i + 1] = image[3 * i + 1];
    rgba[4 * i + 2] = image[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  const encoded = jpeg.encode({ data: rgba, width, height }, quality).data;
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Writes RGB as a JPEG atomically. */
export async function writeJpeg(
  file: string,
  image: Uint8Array,
  width: number,
  height: number,
  quality = 95,
): Promise<void> {
  await writeFileAtomic(file, encodeJpeg(image, width, height, quality));
}
