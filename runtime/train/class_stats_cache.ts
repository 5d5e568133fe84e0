/**
 * Class statistics of a training source, for rare-class sampling. Real datasets cache them
 * beside their label files (`runtime/data/class_stats.ts`); SynthCity images are pure functions
 * of (domain, seed, index) and the generator's code, so their statistics are cached under
 * `.cache/class_stats/` keyed by those and by a hash of the generator's source: a changed
 * generator never reuses stale counts.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type DatasetRequest, openDataset } from "../data/open.ts";
import { classStats, type ImageClassStats } from "../data/class_stats.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** Where SynthCity statistics are cached (relative to the working directory). */
export const SYNTHCITY_STATS_DIR = ".cache/class_stats";

const GENERATOR_DIR = new URL("../data/synthcity/", import.meta.url);

async function generatorHash(): Promise<string> {
  const hash = createHash("sha256");
  const names: string[] = [];
  for await (const entry of Deno.readDir(GENERATOR_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts")) names.push(entry.name);
  }
  for (const name of names.sort()) {
    hash.update(name);
    hash.update(await Deno.readFile(new URL(name, GENERATOR_DIR)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Per-image class statistics of a training source; `cached` says whether they were reused. */
export async function sourceClassStats(
  request: DatasetRequest,
): Promise<{ images: ImageClassStats[]; cached: boolean }> {
  const dataset = await openDataset(request);
  if (request.dataset !== "synthcity") {
    const { images, computed } = await classStats(dataset);
    return { images, cached: !computed };
  }
  const key =
    `synthcity-${request.domain}-s${request.seed}-n${request.count}-v${
      request.version ?? "latest"
    }-` +
    `${await generatorHash()}`;
  const path = join(SYNTHCITY_STATS_DIR, `${key}.json`);
  try {
    const images = JSON.parse(await Deno.readTextFile(path)) as ImageClassStats[];
    if (Array.isArray(images) && images.length === dataset.size) return { images, cached: true };
  } catch {
    // Missing or unreadable: computed below.
  }
  const { images } = await classStats(dataset); // no files to fingerprint: always computed
  try {
    await Deno.mkdir(SYNTHCITY_STATS_DIR, { recursive: true });
    await writeFileAtomic(path, JSON.stringify(images));
  } catch (error) {
    console.error(
      `note: cannot cache class statistics at ${path} (${(error as Error).message}); they are ` +
        `recomputed next time.`,
    );
  }
  return { images, cached: false };
}
