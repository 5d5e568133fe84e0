/** Writes tiny datasets in the real on-disk formats for the reader tests. */
import { dirname } from "node:path";
import { encodePng, type PngImage } from "../../runtime/data/png.ts";
import { setWarningSink } from "../../runtime/data/warnings.ts";

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

/** A 4×3 SYNTHIA label: 16-bit RGB with the class id in R and an instance id in G. */
export function synthiaLabel(ids: number[], width = 4, height = 3): PngImage {
  const data = new Uint16Array(width * height * 3);
  ids.forEach((id, i) => {
    data[3 * i] = id;
    data[3 * i + 1] = 1000 + i;
  });
  return { width, height, channels: 3, depth: 16, data };
}

/** Collects the data layer's warnings (instead of printing them) until `stop` is called. */
export function collectWarnings(): { messages: string[]; stop(): void } {
  const messages: string[] = [];
  const previous = setWarningSink((_key, message) => messages.push(message));
  return { messages, stop: () => setWarningSink(previous) };
}
