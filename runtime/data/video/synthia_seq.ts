/**
 * Reader of SYNTHIA-SEQS in its published layout, as DA-VSN and TPS use `SYNTHIA-SEQS-04-DAWN`
 * (the source of SYNTHIA-Seq → Cityscapes-Seq): one sequence per root, the left front camera's
 * frames `RGB/Stereo_Left/Omni_F/NNNNNN.png` and their labels
 * `GT/LABELS/Stereo_Left/Omni_F/NNNNNN.png` (16-bit, the class id in the first channel, read as
 * DA-VSN's `imageio.imread(f, format='PNG-FI')[:, :, 0]`), mapped by `synthia_seq_labels.ts`.
 * Every frame is labelled; frame t pairs with frame t−k (frames whose t−k lies outside the
 * sequence are skipped), with flow from a `.flo` folder mirroring `RGB/Stereo_Left/Omni_F`
 * (`file_pairs.ts`). `writeSynthiaSeq` (`write.ts`) writes SynthCity sequences in this layout.
 *
 * @module
 */
import { basename, join } from "node:path";
import { lookupTable } from "../labels.ts";
import { readPng } from "../png.ts";
import { mapIds, synthiaClassIds } from "../readers/decode.ts";
import { listFiles, requireDirectory, requireSome } from "../readers/files.ts";
import { readerSettings } from "../readers/options.ts";
import { type IdSpace, reportUnknownLabels } from "../readers/unknown_labels.ts";
import { FilePairDataset, type SequenceFrames } from "./file_pairs.ts";
import { checkOffset } from "./pairs.ts";
import {
  finishPairs,
  type FrameName,
  groupFrames,
  type SequenceReaderOptions,
  targetsOf,
} from "./readers.ts";
import { SYNTHIA_SEQ_ID_COUNT, SYNTHIA_SEQ_ID_TO_TRAIN_ID } from "./synthia_seq_labels.ts";

/** The camera folder the video benchmarks read, under `RGB/` and `GT/LABELS/`. */
export const SYNTHIA_SEQ_CAMERA = join("Stereo_Left", "Omni_F");

/** Options of {@linkcode openSynthiaSeq}. */
export interface SynthiaSeqOptions extends SequenceReaderOptions {
  /** `ids` (default) reads the `GT/LABELS` files; `none` gives unlabelled frames. */
  labels?: "ids" | "none";
}

const LAYOUT = "ROOT/RGB/Stereo_Left/Omni_F/FRAME.png (FRAME six digits; ROOT one sequence, " +
  "such as SYNTHIA-SEQS-04-DAWN) with ROOT/GT/LABELS/Stereo_Left/Omni_F/FRAME.png (16-bit PNG, " +
  "class id in the first channel)";

const TABLE = lookupTable(SYNTHIA_SEQ_ID_TO_TRAIN_ID);

const IDS: IdSpace = {
  count: SYNTHIA_SEQ_ID_COUNT,
  name: "SYNTHIA-SEQS class id",
  advice: "SYNTHIA-SEQS GT/LABELS files hold the class id (0–15) in their first channel; " +
    "restore this file from the sequence's archive.",
};

/** `000042.png` → frame 42 of the root's one sequence. */
function frameName(sequence: string): (name: string) => FrameName | undefined {
  return (name) => {
    const m = /^(\d{6})\.png$/.exec(name);
    return m === null ? undefined : { sequence, frame: Number(m[1]) };
  };
}

/**
 * Whether a label-folder file is a trainId copy another tool wrote beside the originals
 * (UnifiedVideoDA's converter writes `NNNNNN_labelTrainIds.png` there): derived from the file
 * this reader maps itself, so skipped rather than refused as a misnamed label.
 */
function isConvertedCopy(file: string): boolean {
  return /_labelTrainIds[^/]*\.png$/.test(file);
}

/**
 * SYNTHIA-SEQS: every frame of `ROOT/RGB/Stereo_Left/Omni_F` paired with frame t−k (the first
 * |k| frames, or the last for k < 0, have none and are skipped), with its `GT/LABELS` label
 * (SYNTHIA-SEQS ids → trainIds, `synthia_seq_labels.ts`; values that are no SYNTHIA-SEQS id →
 * 255, reported). SYNTHIA-SEQS has no splits: the whole sequence is the training set.
 */
export async function openSynthiaSeq(
  root: string,
  options: SynthiaSeqOptions = {},
): Promise<FilePairDataset> {
  const settings = readerSettings(options, false);
  const offset = checkOffset(options.offset ?? 1, "SYNTHIA-Seq");
  const imageDir = join(root, "RGB", SYNTHIA_SEQ_CAMERA);
  await requireDirectory(imageDir, LAYOUT, settings.missing);
  const images = await listFiles(imageDir, ".png");
  requireSome(images, imageDir, ".png frames", LAYOUT, settings.empty);
  // The root is one sequence; its folder name (SYNTHIA-SEQS-04-DAWN) names it in messages.
  const parse = frameName(basename(root) || root);
  const frames: SequenceFrames = groupFrames(images, parse, LAYOUT);
  const labels = options.labels ?? "ids";
  const selection = options.frames ?? "labelled";
  let labelFrames: SequenceFrames = new Map();
  if (labels !== "none" || selection === "labelled") {
    const labelDir = join(root, "GT", "LABELS", SYNTHIA_SEQ_CAMERA);
    await requireDirectory(labelDir, LAYOUT, settings.missing);
    const files = (await listFiles(labelDir, ".png")).filter((f) => !isConvertedCopy(f));
    labelFrames = groupFrames(files, parse, LAYOUT);
  }
  const targets = targetsOf(frames, labelFrames, selection)
    .map((t) => labels === "none" ? { ...t, label: undefined } : t);
  const entries = await finishPairs(
    { root, imageDir, frames, targets, layout: LAYOUT, skipSequenceEnds: true },
    offset,
    options,
    settings,
  );
  const decode = async (file: string) => {
    const png = await readPng(file);
    const ids = synthiaClassIds(png, file, "SYNTHIA-SEQS");
    reportUnknownLabels(ids, file, IDS, settings.strict);
    return { label: mapIds(ids, TABLE), width: png.width, height: png.height };
  };
  return new FilePairDataset("synthiaSeq", root, "all", offset, entries, decode);
}
