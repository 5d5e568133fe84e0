/**
 * Readers of the video datasets in their published on-disk layouts, as frame-pair datasets
 * (`pairs.ts`): Cityscapes-Seq (`leftImg8bit_sequence/`: 30-frame snippets, the 20th frame,
 * index 19, labelled in `gtFine/`) and VIPER (`SPLIT/img/`, `SPLIT/cls/`, class ids mapped by
 * `viper_labels.ts`). Frame t pairs with frame t−k of its sequence; flow comes from a parallel
 * folder of `.flo` files when given (`file_pairs.ts` documents that folder's layout).
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { readPng } from "../png.ts";
import { CITYSCAPES_ID_COUNT, CITYSCAPES_ID_TO_TRAIN_ID, lookupTable } from "../labels.ts";
import { checkTrainIds, labelIds, mapIds } from "../readers/decode.ts";
import { type LabelDecoder, listFiles, requireDirectory, requireSome } from "../readers/files.ts";
import { type ReaderOptions, type ReaderSettings, readerSettings } from "../readers/options.ts";
import { type IdSpace, reportUnknownLabels } from "../readers/unknown_labels.ts";
import type { CityscapesLabels } from "../readers/datasets.ts";
import {
  attachFlow,
  FilePairDataset,
  pairFrames,
  type PairTarget,
  type SequenceFrames,
} from "./file_pairs.ts";
import { FRAME_EXTENSIONS } from "./image.ts";
import { checkOffset, type FramePairEntry } from "./pairs.ts";
import { VIPER_ID_COUNT, VIPER_ID_TO_TRAIN_ID } from "./viper_labels.ts";

/** Options of the sequence readers. */
export interface SequenceReaderOptions extends ReaderOptions {
  /** The offset k: frame t pairs with frame t−k (default 1, the previous frame; `pairs.ts`). */
  offset?: number;
  /**
   * Which frames t are examples: `labelled` (default) the frames with a label file, `all` every
   * frame with a frame k before it in its sequence (labels attached where they exist).
   */
  frames?: "labelled" | "all";
  /** A folder of `.flo` files of flow t → t−k mirroring the split's image folder. */
  flowRoot?: string;
}

/** Options of {@linkcode openCityscapesSeq}. */
export interface CityscapesSeqOptions extends SequenceReaderOptions {
  /** Label files to read, as `openCityscapes` (default `auto`); `none` gives unlabelled frames. */
  labels?: CityscapesLabels;
}

/** Options of {@linkcode openViperSeq}. */
export interface ViperOptions extends SequenceReaderOptions {
  /** `ids` (default) reads the `cls` files; `none` gives unlabelled frames. */
  labels?: "ids" | "none";
}

const CS_SEQ_LAYOUT = "ROOT/leftImg8bit_sequence/SPLIT/CITY/CITY_SEQ_FRAME_leftImg8bit.png " +
  "(SEQ and FRAME six digits, 30-frame snippets) with ROOT/gtFine/SPLIT/CITY/" +
  "CITY_SEQ_FRAME_gtFine_labelTrainIds.png (or _gtFine_labelIds.png) on each snippet's 20th frame";

const VIPER_LAYOUT = "ROOT/SPLIT/img/SEQ/SEQ_FRAME.jpg (or .png; SEQ three digits, FRAME five) " +
  "with ROOT/SPLIT/cls/SEQ/SEQ_FRAME.png (VIPER class ids as palette indices)";

const CITYSCAPES_TABLE = lookupTable(CITYSCAPES_ID_TO_TRAIN_ID);
const VIPER_TABLE = lookupTable(VIPER_ID_TO_TRAIN_ID);

const CITYSCAPES_IDS: IdSpace = {
  count: CITYSCAPES_ID_COUNT,
  name: "Cityscapes label id",
  advice: "A labelIds file holds cityscapesscripts ids; regenerate this one from its gtFine " +
    "polygons with cityscapesscripts' json2labelImg.",
};

const VIPER_IDS: IdSpace = {
  count: VIPER_ID_COUNT,
  name: "VIPER class id",
  advice: "VIPER cls files store class ids as palette indices, which a re-saved or converted " +
    "file may have lost; restore this file from the dataset's cls archive.",
};

/** A parsed frame file name: its sequence key and frame number. */
export type FrameName = { sequence: string; frame: number };

/** Groups frame files by sequence; a file whose name does not parse is an error. */
export function groupFrames(
  files: readonly string[],
  parse: (name: string) => FrameName | undefined,
  layout: string,
): SequenceFrames {
  const frames: SequenceFrames = new Map();
  for (const file of files) {
    const name = parse(basename(file));
    if (name === undefined) {
      throw new Error(
        `${file}: this name does not follow the layout ${layout}. Rename or remove the file.`,
      );
    }
    const sequence = frames.get(name.sequence) ?? new Map<number, string>();
    const other = sequence.get(name.frame);
    if (other !== undefined) {
      throw new Error(
        `${file}: frame ${name.frame} of sequence ${name.sequence} also has the image ${other}. ` +
          `Keep one image per frame.`,
      );
    }
    frames.set(name.sequence, sequence.set(name.frame, file));
  }
  return frames;
}

/** The frames to pair: every labelled frame, or every frame (with its label when it has one). */
export function targetsOf(
  frames: SequenceFrames,
  labels: SequenceFrames,
  selection: "labelled" | "all",
): PairTarget[] {
  if (selection === "labelled") {
    return [...labels].flatMap(([sequence, byFrame]) =>
      [...byFrame].map(([frame, label]) => ({ sequence, frame, label, source: label }))
    );
  }
  // A label on a frame without an image is an error in both modes: returned as the only target,
  // pairing reports it with the label's path.
  for (const [sequence, byFrame] of labels) {
    for (const [frame, label] of byFrame) {
      if (!frames.get(sequence)?.has(frame)) return [{ sequence, frame, label, source: label }];
    }
  }
  return [...frames].flatMap(([sequence, byFrame]) =>
    [...byFrame].map(([frame, image]) => ({
      sequence,
      frame,
      label: labels.get(sequence)?.get(frame),
      source: image,
    }))
  );
}

/** What a reader found on disk, ready to pair. */
export interface Scan {
  /** Dataset root (entry names are relative to it). */
  root: string;
  /** The split's image folder (a flow root mirrors it). */
  imageDir: string;
  /** Every frame image found, by sequence. */
  frames: SequenceFrames;
  /** The frames t to pair. */
  targets: PairTarget[];
  /** The expected layout, for messages. */
  layout: string;
  /** Whether a frame t−k beyond its sequence's ends drops the target (else fails). */
  skipSequenceEnds: boolean;
}

/** Pairs the targets, fails on an empty result, attaches flow when asked. */
export async function finishPairs(
  scan: Scan,
  offset: number,
  options: SequenceReaderOptions,
  settings: ReaderSettings,
): Promise<FramePairEntry[]> {
  const { root, imageDir, frames, layout, skipSequenceEnds } = scan;
  const targets = [...scan.targets].sort((a, b) =>
    a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : a.frame - b.frame
  );
  const entries = pairFrames(frames, targets, { root, offset, layout, skipSequenceEnds });
  const what = (options.frames ?? "labelled") === "labelled"
    ? `labelled frames whose frame t−(${offset}) exists`
    : `frame pairs at offset ${offset}`;
  requireSome(entries.map((e) => e.image), imageDir, what, layout, settings.empty);
  if (options.flowRoot === undefined) return entries;
  const check = options.field === undefined ? "flowRoot" : `${options.field}.flowRoot`;
  return await attachFlow(entries, imageDir, options.flowRoot, offset, check);
}

/** `aachen_000000_000019_leftImg8bit.png` → sequence `aachen_000000`, frame 19. */
function cityscapesName(suffix: string): (name: string) => FrameName | undefined {
  const pattern = new RegExp(`^(.+_\\d{6})_(\\d{6})${suffix.replace(".", "\\.")}$`);
  return (name) => {
    const m = pattern.exec(name);
    return m === null ? undefined : { sequence: m[1], frame: Number(m[2]) };
  };
}

/** The gtFine label files by frame: `labelTrainIds` where present (`auto`), else `labelIds`. */
async function cityscapesLabels(
  labelDir: string,
  labels: CityscapesLabels,
  settings: ReaderSettings,
): Promise<{ labelFrames: SequenceFrames; useTrainIds: boolean }> {
  await requireDirectory(labelDir, CS_SEQ_LAYOUT, settings.missing);
  const trainIds = labels === "ids" ? [] : await listFiles(labelDir, "_gtFine_labelTrainIds.png");
  const useTrainIds = labels === "trainIds" || (labels !== "ids" && trainIds.length > 0);
  const suffix = useTrainIds ? "_gtFine_labelTrainIds.png" : "_gtFine_labelIds.png";
  const files = useTrainIds ? trainIds : await listFiles(labelDir, suffix);
  return { labelFrames: groupFrames(files, cityscapesName(suffix), CS_SEQ_LAYOUT), useTrainIds };
}

/** Decodes gtFine files as `openCityscapes` does: trainIds checked, or ids mapped. */
function cityscapesDecoder(useTrainIds: boolean, strict: boolean): LabelDecoder {
  return async (file: string) => {
    const png = await readPng(file);
    const ids = labelIds(png, file, useTrainIds ? "a labelTrainIds file" : "a labelIds file");
    if (useTrainIds) {
      return { label: checkTrainIds(ids, file), width: png.width, height: png.height };
    }
    reportUnknownLabels(ids, file, CITYSCAPES_IDS, strict);
    return { label: mapIds(ids, CITYSCAPES_TABLE), width: png.width, height: png.height };
  };
}

/**
 * Cityscapes-Seq: every labelled 20th frame (or, with `frames: "all"`, every frame) of
 * `leftImg8bit_sequence/SPLIT` paired with frame t−k of its snippet, with the `gtFine` label
 * (`labelTrainIds`, or `labelIds` mapped as `openCityscapes` does).
 */
export async function openCityscapesSeq(
  root: string,
  split = "train",
  options: CityscapesSeqOptions = {},
): Promise<FilePairDataset> {
  const settings = readerSettings(options, true);
  const offset = checkOffset(options.offset ?? 1, "Cityscapes-Seq");
  const imageDir = join(root, "leftImg8bit_sequence", split);
  await requireDirectory(imageDir, CS_SEQ_LAYOUT, settings.missing);
  const images = await listFiles(imageDir, "_leftImg8bit.png");
  requireSome(images, imageDir, "*_leftImg8bit.png frames", CS_SEQ_LAYOUT, settings.empty);
  const frames = groupFrames(images, cityscapesName("_leftImg8bit.png"), CS_SEQ_LAYOUT);
  const labels = options.labels ?? "auto";
  const selection = options.frames ?? "labelled";
  const needLabels = labels !== "none" || selection === "labelled";
  const { labelFrames, useTrainIds } = needLabels
    ? await cityscapesLabels(join(root, "gtFine", split), labels, settings)
    : { labelFrames: new Map(), useTrainIds: true };
  const targets = targetsOf(frames, labelFrames, selection)
    .map((t) => labels === "none" ? { ...t, label: undefined } : t);
  const entries = await finishPairs(
    {
      root,
      imageDir,
      frames,
      targets,
      layout: CS_SEQ_LAYOUT,
      // A snippet's labelled frame must pair; in `all` mode the snippet's first (or last) |k|
      // frames cannot.
      skipSequenceEnds: selection === "all",
    },
    offset,
    options,
    settings,
  );
  const decode = cityscapesDecoder(useTrainIds, settings.strict);
  return new FilePairDataset("cityscapesSeq", root, split, offset, entries, decode);
}

/** `001_00010.jpg` → sequence `001`, frame 10. */
function viperName(name: string): FrameName | undefined {
  const m = /^(\d{3})_(\d{5})\.[a-z]+$/i.exec(name);
  return m === null ? undefined : { sequence: m[1], frame: Number(m[2]) };
}

/**
 * VIPER: every labelled frame (or, with `frames: "all"`, every frame) of `SPLIT/img` paired with
 * frame t−k of its sequence (frames whose t−k lies outside their sequence are skipped), with the
 * `SPLIT/cls` label (VIPER ids → trainIds, `viper_labels.ts`; values that are no VIPER id → 255,
 * reported). Images may be `.jpg` (VIPER's release) or `.png`.
 */
export async function openViperSeq(
  root: string,
  split = "train",
  options: ViperOptions = {},
): Promise<FilePairDataset> {
  const settings = readerSettings(options, true);
  const offset = checkOffset(options.offset ?? 1, "VIPER");
  const imageDir = join(root, split, "img");
  await requireDirectory(imageDir, VIPER_LAYOUT, settings.missing);
  const images = (await listFiles(imageDir, "")).filter((f) =>
    (FRAME_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase())
  );
  requireSome(images, imageDir, ".jpg or .png frames", VIPER_LAYOUT, settings.empty);
  const frames = groupFrames(images, viperName, VIPER_LAYOUT);
  const labels = options.labels ?? "ids";
  const selection = options.frames ?? "labelled";
  let labelFrames: SequenceFrames = new Map();
  if (labels !== "none" || selection === "labelled") {
    const labelDir = join(root, split, "cls");
    await requireDirectory(labelDir, VIPER_LAYOUT, settings.missing);
    labelFrames = groupFrames(await listFiles(labelDir, ".png"), viperName, VIPER_LAYOUT);
  }
  const targets = targetsOf(frames, labelFrames, selection)
    .map((t) => labels === "none" ? { ...t, label: undefined } : t);
  const entries = await finishPairs(
    {
      root,
      imageDir,
      frames,
      targets,
      layout: VIPER_LAYOUT,
      // Every VIPER frame is labelled: the first (or last) |k| of a sequence have no frame t−k.
      skipSequenceEnds: true,
    },
    offset,
    options,
    settings,
  );
  const decode = async (file: string) => {
    const png = await readPng(file);
    const ids = labelIds(png, file, "a VIPER cls label (class ids as palette indices)");
    reportUnknownLabels(ids, file, VIPER_IDS, settings.strict);
    return { label: mapIds(ids, VIPER_TABLE), width: png.width, height: png.height };
  };
  return new FilePairDataset("viper", root, split, offset, entries, decode);
}
