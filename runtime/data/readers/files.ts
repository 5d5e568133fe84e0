/**
 * File-based datasets: listing, pairing images with labels, and reading examples.
 *
 * @module
 */
import { join, relative } from "node:path";
import type { DatasetEntry, NamedExample, SegmentationDataset } from "../dataset.ts";
import { checkSameSize, readRgb } from "./decode.ts";

/** Every file under `dir` (recursively) whose name ends with `suffix`, sorted by path. */
export async function listFiles(dir: string, suffix: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for await (const entry of Deno.readDir(d)) {
      const path = join(d, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(suffix)) out.push(path);
    }
  }
  await walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Fails with the expected layout unless `dir` is a directory. `check` names what the user should
 * correct: the data command's flags by default, an experiment's fields when one opened the data.
 */
export async function requireDirectory(
  dir: string,
  layout: string,
  check = "--root and --split",
): Promise<void> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(dir);
  } catch {
    info = undefined;
  }
  if (!info?.isDirectory) {
    throw new Error(
      `${dir}: folder not found. Expected the layout ${layout}. Check ${check}.`,
    );
  }
}

/**
 * Fails with the expected layout when a listing is empty; `check` (an experiment's fields) is
 * named when given, while the data command's message stays as it was.
 */
export function requireSome(
  files: string[],
  dir: string,
  what: string,
  layout: string,
  check?: string,
): void {
  if (files.length === 0) {
    const hint = check === undefined ? "" : ` Check ${check}.`;
    throw new Error(`${dir}: contains no ${what}. Expected the layout ${layout}.${hint}`);
  }
}

/** Decodes one label file into trainIds. */
export type LabelDecoder = (
  file: string,
) => Promise<{ label: Uint8Array; width: number; height: number }>;

/** Reads one image file as 8-bit RGB. */
export type ImageReader = (
  file: string,
) => Promise<{ image: Uint8Array; width: number; height: number }>;

/** A dataset over paired files. */
export class FileDataset<E extends DatasetEntry = DatasetEntry> implements SegmentationDataset {
  readonly size: number;

  /**
   * Wraps entries already paired and checked; `readImage` reads their images (PNG by default,
   * `runtime/data/video/image.ts` adds VIPER's JPEGs).
   */
  constructor(
    readonly kind: string,
    readonly root: string,
    readonly split: string,
    readonly entries: readonly E[],
    readonly decodeLabel: LabelDecoder,
    readonly readImage: ImageReader = readRgb,
  ) {
    this.size = entries.length;
  }

  /** Entry `index`, or a RangeError naming the dataset. */
  protected entry(index: number): E {
    const entry = this.entries[index];
    if (entry === undefined) {
      throw new RangeError(`${this.kind}: index ${index} outside 0..${this.size - 1}`);
    }
    return entry;
  }

  /** The image and (when labelled) the trainId label of entry `index`. */
  async get(index: number): Promise<NamedExample> {
    const entry = this.entry(index);
    const image = await this.readImage(entry.image);
    if (entry.label === undefined) return { ...image, channels: 3, name: entry.name };
    const label = await this.decodeLabel(entry.label);
    checkSameSize(image, label, entry.image, entry.label);
    return {
      image: image.image,
      label: label.label,
      width: image.width,
      height: image.height,
      channels: 3,
      name: entry.name,
    };
  }

  /** Only the label of entry `index`. */
  async getLabel(
    index: number,
  ): Promise<{ label: Uint8Array; width: number; height: number; name: string }> {
    const entry = this.entry(index);
    if (entry.label === undefined) {
      throw new Error(`${entry.name}: this ${this.kind} split has no labels`);
    }
    return { ...(await this.decodeLabel(entry.label)), name: entry.name };
  }
}

/** Pairs images with labels by a key; an image without a label or a label without an image is an error. */
export function pairByKey(
  root: string,
  images: string[],
  labels: string[],
  imageKey: (file: string) => string,
  labelKey: (file: string) => string,
): DatasetEntry[] {
  const labelByKey = new Map(labels.map((f) => [labelKey(f), f]));
  const imageKeys = new Set<string>();
  const entries = images.map((image) => {
    const key = imageKey(image);
    imageKeys.add(key);
    const label = labelByKey.get(key);
    if (label === undefined) {
      throw new Error(
        `${image}: this image has no label file (looked for the label with key '${key}'). Restore the label or remove the image.`,
      );
    }
    return { name: relative(root, image), image, label };
  });
  for (const [key, label] of labelByKey) {
    if (!imageKeys.has(key)) {
      throw new Error(
        `${label}: this label has no image (key '${key}'). Restore the image or remove the label.`,
      );
    }
  }
  return entries;
}
