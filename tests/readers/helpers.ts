/** Writes tiny datasets in the real on-disk formats for the reader tests. */
import { dirname } from "node:path";
import { encodePng, type PngImage } from "../../runtime/data/png.ts";

/** A fresh temporary folder under ./.cache. */
export async function tempDir(): Promise<string> {
  await Deno.mkdir(".cache", { recursive: true });
  return await Deno.makeTempDir({ dir: ".cache" });
}

/** Writes a PNG, creating its folder. */
export async function png(path: string, image: PngImage): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, encodePng(image));
}

/** A 4×3 RGB image filled with one colour. */
export function rgb(value: number, width = 4, height = 3): PngImage {
  return {
    width,
    height,
    channels: 3,
    depth: 8,
    data: new Uint8Array(width * height * 3).fill(value),
  };
}

/** A 4×3 grey label of the given ids. */
export function grey(ids: number[], width = 4, height = 3): PngImage {
  return { width, height, channels: 1, depth: 8, data: Uint8Array.from(ids) };
}

/** Captures console.log output of `run`. */
export async function captureLog(
  run: () => Promise<number>,
): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  let out = "";
  let err = "";
  console.log = (...args: unknown[]) => (out += args.join(" ") + "\n");
  console.error = (...args: unknown[]) => (err += args.join(" ") + "\n");
  try {
    return { code: await run(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}
