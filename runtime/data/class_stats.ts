/**
 * Per-image class statistics, cached beside the data, and the rare-class-sampling aggregates
 * computed from them (`shared/reference/daformer_hrda_mic.md` §3: counts at native label
 * resolution; f_c = n_c / Σn; candidates of class c are images with count > minPixels).
 *
 * The cache `ROOT/.uda-lab/class_stats-KIND-SPLIT.json` records each label file's path, size and
 * modification time; any change recomputes it. It is written to a temporary file and renamed, so
 * an interrupted write never leaves half a cache, and an unreadable cache is rebuilt.
 *
 * @module
 */
import { join, relative } from "node:path";
import { IGNORE_LABEL, NUM_CLASSES } from "./labels.ts";
import type { SegmentationDataset } from "./dataset.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** Pixel counts of one image. */
export interface ImageClassStats {
  /** The image's name. */
  name: string;
  /** Pixels of each trainId 0..18. */
  counts: number[];
  /** Ignored pixels (255 or unmapped ids). */
  ignored: number;
}

const CACHE_VERSION = 1;

interface CacheFile {
  version: number;
  fingerprint: [string, number, number][];
  images: ImageClassStats[];
}

/** Counts the trainIds of one label map. */
export function countClasses(label: Uint8Array): { counts: number[]; ignored: number } {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  let ignored = 0;
  for (let i = 0; i < label.length; i++) {
    const v = label[i];
    if (v < NUM_CLASSES) counts[v]++;
    else if (v === IGNORE_LABEL) ignored++;
    else ignored++;
  }
  return { counts, ignored };
}

async function fingerprint(dataset: SegmentationDataset): Promise<[string, number, number][]> {
  const out: [string, number, number][] = [];
  for (const entry of dataset.entries ?? []) {
    if (entry.label === undefined) continue;
    const info = await Deno.stat(entry.label);
    out.push([relative(dataset.root, entry.label), info.size, info.mtime?.getTime() ?? 0]);
  }
  return out;
}

/** Where a dataset's statistics are cached. */
export function cachePath(dataset: SegmentationDataset): string {
  return join(dataset.root, ".uda-lab", `class_stats-${dataset.kind}-${dataset.split}.json`);
}

async function readCache(path: string): Promise<CacheFile | undefined> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path)) as CacheFile;
    if (
      parsed.version !== CACHE_VERSION || !Array.isArray(parsed.images) ||
      !Array.isArray(parsed.fingerprint)
    ) return undefined;
    return parsed;
  } catch {
    return undefined; // missing or corrupt: rebuilt by the caller
  }
}

async function writeCache(path: string, content: CacheFile): Promise<boolean> {
  try {
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, JSON.stringify(content));
    return true;
  } catch (error) {
    console.error(
      `note: cannot write the class-statistics cache ${path} (${(error as Error).message}); ` +
        `statistics are kept in memory for this run.`,
    );
    return false;
  }
}

/** Statistics of every image, from the cache when it is current; `computed` tells which. */
export async function classStats(
  dataset: SegmentationDataset,
): Promise<{ images: ImageClassStats[]; computed: boolean }> {
  const fileBased = dataset.entries !== undefined;
  const path = fileBased ? cachePath(dataset) : undefined;
  const current = fileBased ? await fingerprint(dataset) : [];
  if (path !== undefined) {
    const cached = await readCache(path);
    if (cached !== undefined && JSON.stringify(cached.fingerprint) === JSON.stringify(current)) {
      return { images: cached.images, computed: false };
    }
  }
  const images: ImageClassStats[] = [];
  for (let i = 0; i < dataset.size; i++) {
    const { label, name } = await dataset.getLabel(i);
    images.push({ name, ...countClasses(label) });
  }
  if (path !== undefined) {
    await writeCache(path, { version: CACHE_VERSION, fingerprint: current, images });
  }
  return { images, computed: true };
}

/** Total pixels per class and ignored, over all images. */
export function totalCounts(
  images: readonly ImageClassStats[],
): { counts: number[]; ignored: number } {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  let ignored = 0;
  for (const image of images) {
    image.counts.forEach((n, c) => (counts[c] += n));
    ignored += image.ignored;
  }
  return { counts, ignored };
}

/** For each class, the images holding more than `minPixels` of it (strict, as RCS), with counts. */
export function samplesWithClass(
  images: readonly ImageClassStats[],
  minPixels: number,
): Map<number, { index: number; count: number }[]> {
  const out = new Map<number, { index: number; count: number }[]>();
  images.forEach((image, index) => {
    image.counts.forEach((count, c) => {
      if (count > minPixels) {
        if (!out.has(c)) out.set(c, []);
        out.get(c)!.push({ index, count });
      }
    });
  });
  return out;
}
