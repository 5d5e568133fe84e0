/**
 * Existence checks for files the runtime may write or reuse (final weights, run directories).
 *
 * @module
 */

/** True when `path` exists (file or directory); false when it does not or cannot be read. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
