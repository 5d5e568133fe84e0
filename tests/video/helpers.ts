/** Shared helpers of the video tests. */

/** A fresh folder `.cache/test-video-*` (the caller removes it). */
export async function videoTempDir(): Promise<string> {
  await Deno.mkdir(".cache", { recursive: true });
  return await Deno.makeTempDir({ dir: ".cache", prefix: "test-video-" });
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
