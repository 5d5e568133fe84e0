/**
 * Readers of the real datasets, reading their published on-disk formats directly (no offline
 * conversion), with the exact label mappings of `shared/reference/daformer_hrda_mic.md` §8.
 * A value that is no id of the dataset becomes 255 as in the reference converters, and is
 * reported (once per file) or refused in strict mode (`unknown_labels.ts`).
 *
 * @module
 */
import { basename, join } from "node:path";
import { readPng } from "../png.ts";
import {
  CITYSCAPES_ID_COUNT,
  CITYSCAPES_ID_TO_TRAIN_ID,
  lookupTable,
  SYNTHIA_ID_COUNT,
  SYNTHIA_ID_TO_TRAIN_ID,
} from "../labels.ts";
import { checkTrainIds, labelIds, mapIds, synthiaClassIds } from "./decode.ts";
import { FileDataset, listFiles, pairByKey, requireDirectory, requireSome } from "./files.ts";
import { type IdSpace, reportUnknownLabels } from "./unknown_labels.ts";
import { type ReaderOptions, readerSettings } from "./options.ts";

export type { ReaderOptions } from "./options.ts";

const CITYSCAPES_TABLE = lookupTable(CITYSCAPES_ID_TO_TRAIN_ID);
const SYNTHIA_TABLE = lookupTable(SYNTHIA_ID_TO_TRAIN_ID);

const CITYSCAPES_IDS: IdSpace = {
  count: CITYSCAPES_ID_COUNT,
  name: "Cityscapes label id",
  advice: "A labelIds file holds cityscapesscripts ids; regenerate this one from its gtFine " +
    "polygons with cityscapesscripts' json2labelImg.",
};

const GTA_IDS: IdSpace = {
  count: CITYSCAPES_ID_COUNT,
  name: "Cityscapes label id",
  advice: "GTA5 labels store Cityscapes ids as palette indices, which a re-saved or converted " +
    "file may have lost; restore this file from the dataset's labels archive.",
};

const SYNTHIA_IDS: IdSpace = {
  count: SYNTHIA_ID_COUNT,
  name: "SYNTHIA class id",
  advice: "SYNTHIA-RAND-CITYSCAPES GT/LABELS files hold the class id in their first channel; " +
    "restore this file from the dataset archive.",
};

/** Which Cityscapes label files to read. */
export type CityscapesLabels = "auto" | "trainIds" | "ids" | "none";

const CITYSCAPES_LAYOUT = "ROOT/leftImg8bit/SPLIT/CITY/CITY_SEQ_FRAME_leftImg8bit.png with " +
  "ROOT/gtFine/SPLIT/CITY/CITY_SEQ_FRAME_gtFine_labelTrainIds.png (or _gtFine_labelIds.png)";

/**
 * Cityscapes: `leftImg8bit` images with `gtFine` labels. `auto` reads `labelTrainIds` where
 * present, else `labelIds` mapped to trainIds (ids without a train class → 255, as
 * cityscapesscripts does; values that are no Cityscapes id → 255 too, reported); `none` reads
 * images only (the unlabelled target split).
 */
export async function openCityscapes(
  root: string,
  split = "train",
  labels: CityscapesLabels = "auto",
  options: ReaderOptions = {},
): Promise<FileDataset> {
  const settings = readerSettings(options, true);
  const imageDir = join(root, "leftImg8bit", split);
  await requireDirectory(imageDir, CITYSCAPES_LAYOUT, settings.missing);
  const images = await listFiles(imageDir, "_leftImg8bit.png");
  requireSome(images, imageDir, "*_leftImg8bit.png images", CITYSCAPES_LAYOUT, settings.empty);
  const key = (file: string, suffix: string) =>
    `${basename(join(file, ".."))}/${basename(file).slice(0, -suffix.length)}`;
  if (labels === "none") {
    const entries = images.map((image) => ({
      name: image.slice(root.length).replace(/^\/+/, ""),
      image,
    }));
    return new FileDataset(
      "cityscapes",
      root,
      split,
      entries,
      () => Promise.reject(new Error("no labels")),
    );
  }
  const labelDir = join(root, "gtFine", split);
  await requireDirectory(labelDir, CITYSCAPES_LAYOUT, settings.missing);
  const trainIdFiles = labels === "ids"
    ? []
    : await listFiles(labelDir, "_gtFine_labelTrainIds.png");
  const useTrainIds = labels === "trainIds" || (labels === "auto" && trainIdFiles.length > 0);
  const suffix = useTrainIds ? "_gtFine_labelTrainIds.png" : "_gtFine_labelIds.png";
  const labelFiles = useTrainIds ? trainIdFiles : await listFiles(labelDir, suffix);
  const entries = pairByKey(
    root,
    images,
    labelFiles,
    (f) => key(f, "_leftImg8bit.png"),
    (f) => key(f, suffix),
  );
  const decode = async (file: string) => {
    const png = await readPng(file);
    const ids = labelIds(png, file, useTrainIds ? "a labelTrainIds file" : "a labelIds file");
    if (useTrainIds) {
      return { label: checkTrainIds(ids, file), width: png.width, height: png.height };
    }
    const label = mapIds(ids, CITYSCAPES_TABLE);
    reportUnknownLabels(ids, file, CITYSCAPES_IDS, settings.strict);
    return { label, width: png.width, height: png.height };
  };
  return new FileDataset("cityscapes", root, split, entries, decode);
}

const GTA_LAYOUT = "ROOT/images/NNNNN.png with ROOT/labels/NNNNN.png (8-bit indexed or grey " +
  "Cityscapes label ids)";

/**
 * GTA5: `images/NNNNN.png` with `labels/NNNNN.png` holding Cityscapes label ids (§8.3); values
 * that are no Cityscapes id → 255, reported.
 */
export async function openGta5(root: string, options: ReaderOptions = {}): Promise<FileDataset> {
  const settings = readerSettings(options, false);
  const imageDir = join(root, "images");
  const labelDir = join(root, "labels");
  await requireDirectory(imageDir, GTA_LAYOUT, settings.missing);
  await requireDirectory(labelDir, GTA_LAYOUT, settings.missing);
  const images = await listFiles(imageDir, ".png");
  requireSome(images, imageDir, ".png images", GTA_LAYOUT, settings.empty);
  const labels = await listFiles(labelDir, ".png");
  const entries = pairByKey(root, images, labels, basename, basename);
  const decode = async (file: string) => {
    const png = await readPng(file);
    const ids = labelIds(png, file, "a GTA5 label (ids as palette indices)");
    const label = mapIds(ids, CITYSCAPES_TABLE);
    reportUnknownLabels(ids, file, GTA_IDS, settings.strict);
    return { label, width: png.width, height: png.height };
  };
  return new FileDataset("gta5", root, "train", entries, decode);
}

const SYNTHIA_LAYOUT = "ROOT/RGB/NNNNNNN.png with ROOT/GT/LABELS/NNNNNNN.png (16-bit PNG, class " +
  "id in the first channel)";

/**
 * SYNTHIA-RAND-CITYSCAPES: `RGB/NNNNNNN.png` with 16-bit `GT/LABELS/NNNNNNN.png` whose first (R)
 * channel is the class id (the converter reads cv2's last BGR channel, §8.4); 16 classes.
 * Values that are no SYNTHIA class id (23 and up) → 255, reported.
 */
export async function openSynthia(
  root: string,
  options: ReaderOptions = {},
): Promise<FileDataset> {
  const settings = readerSettings(options, false);
  const imageDir = join(root, "RGB");
  const labelDir = join(root, "GT", "LABELS");
  await requireDirectory(imageDir, SYNTHIA_LAYOUT, settings.missing);
  await requireDirectory(labelDir, SYNTHIA_LAYOUT, settings.missing);
  const images = await listFiles(imageDir, ".png");
  requireSome(images, imageDir, ".png images", SYNTHIA_LAYOUT, settings.empty);
  const entries = pairByKey(root, images, await listFiles(labelDir, ".png"), basename, basename);
  const decode = async (file: string) => {
    const png = await readPng(file);
    const ids = synthiaClassIds(png, file, "SYNTHIA-RAND-CITYSCAPES");
    const label = mapIds(ids, SYNTHIA_TABLE);
    reportUnknownLabels(ids, file, SYNTHIA_IDS, settings.strict);
    return { label, width: png.width, height: png.height };
  };
  return new FileDataset("synthia", root, "train", entries, decode);
}
