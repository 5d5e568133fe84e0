/**
 * Atomic file writes: the content goes to a temporary file beside the target, which is then
 * renamed over it, so a crash or a kill never leaves a half-written file behind.
 *
 * @module
 */

/** Writes `content` to `path` atomically. */
export async function writeFileAtomic(path: string, content: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (typeof content === "string") await Deno.writeTextFile(tmp, content);
    else await Deno.writeFile(tmp, content);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}
