/**
 * File-based frame-pair datasets: pairing frame t with frame t−k inside each sequence, attaching
 * `.flo` flow files from a parallel folder, and reading pairs. The layouts themselves
 * (Cityscapes-Seq, VIPER) are in `readers.ts`.
 *
 * Flow folder layout: a flow root mirrors the split's image folder, one `.flo` per pair at the
 * path of frame t's image with its extension replaced by `.flo`, holding backward flow t → t−k for
 * the reader's offset k (so one flow root serves one offset, as FlowNet2 runs are per offset).
 *
 * @module
 */
import { extname, join, relative } from "node:path";
import { FileDataset, type LabelDecoder, listFiles, requireDirectory } from "../readers/files.ts";
import { floValidity, readFlo } from "./flo.ts";
import { readFrameImage } from "./image.ts";
import type { FramePair, FramePairDataset, FramePairEntry } from "./pairs.ts";

/** Frames found on disk: sequence key → frame number → image path. */
export type SequenceFrames = Map<string, Map<number, string>>;

/** A frame t to pair: its sequence, number, and label file if it has one. */
export interface PairTarget {
  /** Sequence key (`aachen_000000`, `001`). */
  sequence: string;
  /** Frame number t. */
  frame: number;
  /** Label file of frame t. */
  label?: string;
  /** The file that asked for this frame (its label, or its image). */
  source: string;
}

/** What pairing needs to word its errors. */
export interface PairingContext {
  /** Dataset root (entry names are relative to it). */
  root: string;
  /** The offset k. */
  offset: number;
  /** The expected layout, for messages. */
  layout: string;
  /** Skip frames t whose t−k lies beyond the sequence's first or last frame (not fail). */
  skipSequenceEnds: boolean;
}

/**
 * Pairs every target with frame t−k of its sequence. A target whose own frame is missing, or whose
 * frame t−k is missing inside the sequence, is an error; with `skipSequenceEnds`, a frame t−k
 * before the sequence's first frame or after its last only drops the target.
 */
export function pairFrames(
  frames: SequenceFrames,
  targets: readonly PairTarget[],
  context: PairingContext,
): FramePairEntry[] {
  const { root, offset, layout } = context;
  const entries: FramePairEntry[] = [];
  for (const target of targets) {
    const sequence = frames.get(target.sequence);
    const image = sequence?.get(target.frame);
    if (sequence === undefined || image === undefined) {
      throw new Error(
        `${target.source}: frame ${target.frame} of sequence ${target.sequence} has no image. ` +
          `Expected the layout ${layout}. Restore the frame's image, or remove this file.`,
      );
    }
    const previous = sequence.get(target.frame - offset);
    if (previous === undefined) {
      const first = Math.min(...sequence.keys());
      const last = Math.max(...sequence.keys());
      const other = target.frame - offset;
      if ((other < first || other > last) && context.skipSequenceEnds) continue;
      throw new Error(
        `${image}: frame ${target.frame} of sequence ${target.sequence} has no frame ` +
          `${target.frame - offset} to pair with at offset ${offset} (the sequence's frames on ` +
          `disk run from ${first} to ${last}). Expected the layout ${layout}. Restore the ` +
          `missing frame, or choose a smaller offset.`,
      );
    }
    entries.push({
      name: relative(root, image),
      image,
      label: target.label,
      previous,
      previousName: relative(root, previous),
    });
  }
  return entries;
}

/**
 * Attaches the `.flo` file of every pair from `flowRoot`, which mirrors `imageDir` (see the module
 * documentation). A missing folder or a pair without its file is an error naming the file.
 */
export async function attachFlow(
  entries: FramePairEntry[],
  imageDir: string,
  flowRoot: string,
  offset: number,
  check: string,
): Promise<FramePairEntry[]> {
  const layout = `FLOW/<frame t's image path under ${imageDir}, extension .flo> holding flow ` +
    `from frame t to frame t−(${offset})`;
  await requireDirectory(flowRoot, layout, check);
  const present = new Set(await listFiles(flowRoot, ".flo"));
  return entries.map((entry) => {
    const rel = relative(imageDir, entry.image);
    const flow = join(flowRoot, rel.slice(0, rel.length - extname(rel).length) + ".flo");
    if (!present.has(flow)) {
      throw new Error(
        `${flow}: missing; the pair ${entry.name} → ${entry.previousName} has no flow file. ` +
          `Expected the layout ${layout}. Compute the flow of every pair at offset ${offset} ` +
          `into ${flowRoot}, or open the dataset without a flow folder.`,
      );
    }
    return { ...entry, flow };
  });
}

/** Fails unless frame t−k (or the flow) has frame t's size. */
function checkPairSize(
  current: { width: number; height: number },
  other: { width: number; height: number },
  currentFile: string,
  otherFile: string,
): void {
  if (current.width !== other.width || current.height !== other.height) {
    throw new Error(
      `${otherFile}: is ${other.width}×${other.height} but frame t, ${currentFile}, is ` +
        `${current.width}×${current.height}; the frames of a pair and their flow must have one ` +
        `size. Restore the original files, or recompute the flow at the frames' size.`,
    );
  }
}

/** A frame-pair dataset over paired files: frame t as `FileDataset` reads it, plus its pair. */
export class FilePairDataset extends FileDataset<FramePairEntry> implements FramePairDataset {
  readonly hasFlow: boolean;

  /** Wraps pairs already checked; `decodeLabel` reads the label files of the entries. */
  constructor(
    kind: string,
    root: string,
    split: string,
    readonly offset: number,
    entries: readonly FramePairEntry[],
    decodeLabel: LabelDecoder,
  ) {
    super(kind, root, split, entries, decodeLabel, readFrameImage);
    this.hasFlow = entries.length > 0 && entries.every((e) => e.flow !== undefined);
  }

  /** Frame t with frame t−k and, when attached, the flow t → t−k. */
  async getPair(index: number): Promise<FramePair> {
    const entry = this.entry(index);
    const current = await this.get(index);
    const previous = await readFrameImage(entry.previous);
    checkPairSize(current, previous, entry.image, entry.previous);
    const pair: FramePair = {
      ...current,
      offset: this.offset,
      previous: { image: previous.image, name: entry.previousName },
    };
    if (entry.flow === undefined) return pair;
    const field = await readFlo(entry.flow);
    checkPairSize(current, field, entry.image, entry.flow);
    return { ...pair, flow: field.flow, flowValid: floValidity(field.flow) };
  }
}
