/** Shared helpers of the video tests. */
import assert from "node:assert/strict";

/** A fresh folder `.cache/test-video-*` (the caller removes it). */
export async function videoTempDir(): Promise<string> {
  await Deno.mkdir(".cache", { recursive: true });
  return await Deno.makeTempDir({ dir: ".cache", prefix: "test-video-" });
}

/** Runs `run` in a fresh {@linkcode videoTempDir}, removed afterwards however `run` ends. */
export async function within(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await videoTempDir();
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The message of the error `promise` rejects with, asserted to be one paragraph. */
export async function errorOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error, "expected an error");
  assert.ok(!error.message.includes("\n"), `one paragraph: ${error.message}`);
  return error.message;
}

/** Fraction of the pixels where `mask` is 1 at which `a` and `b` agree. */
export function agreement(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  mask: ArrayLike<number>,
): { n: number; fraction: number } {
  let n = 0;
  let same = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    n++;
    if (a[i] === b[i]) same++;
  }
  return { n, fraction: n === 0 ? NaN : same / n };
}
