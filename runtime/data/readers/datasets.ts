/**
 * Readers of the real datasets, reading their published on-disk formats directly (no offline
 * conversion), with the exact label mappings of `shared/reference/daformer_hrda_mic.md` §8.
 *
 * @module
 */
import { basename, join } from "node:path";
import { readPng } from "../png.ts";
import { CITYSCAPES_ID_TO_TRAIN_ID, lookupTable, SYNTHIA_ID_TO_TRAIN_ID } from "../labels.ts";
import { checkTrainIds, labelIds, mapIds } from "./decode.ts";
import { FileDataset, listFiles, pairByKey, requireDirectory, requireSome } from "./files.ts";

const CITYSCAPES_TABLE = lookupTable(CITYSCAPES_ID_TO_TRAIN_ID);
const SYNTHIA_TABLE = lookupTable(SYNTHIA_ID_TO_TRAIN_ID);

/** Which Cityscapes label files to read. */
export type CityscapesLabels = "auto" | "trainIds" | "ids" | "none";

const CITYSCAPES_LAYOUT = "ROOT/leftImg8bit/SPLIT/CITY/CITY_SEQ_FRAME_leftImg8bit.png with " +
  "ROOT/gtFine/SPLIT/CITY/CITY_SEQ_FRAME_gtFine_labelTrainIds.png (or _gtFine_labelIds.png)";

/**
 * Cityscapes: `leftImg8bit` images with `gtFine` labels. `auto` reads `labelTrainIds` where
 * present, else `labelIds` mapped to trainIds (ids without a train class → 255, as
 * cityscapesscripts does); `none` reads images only (the unlabelled target split).
 */
export async function openCityscapes(
  root: string,
  split = "train",
  labels: CityscapesLabels = "auto",
): Promise<FileDataset> {
  const imageDir = join(root, "leftImg8bit", split);
  await requireDirectory(imageDir, CITYSCAPES_LAYOUT);
  const images = await listFiles(imageDir, "_leftImg8bit.png");
  requireSome(images, imageDir, "*_leftImg8bit.png images", CITYSCAPES_LAYOUT);
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
  await requireDirectory(labelDir, CITYSCAPES_LAYOUT);
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
    const label = useTrainIds ? checkTrainIds(ids, file) : mapIds(ids, CITYSCAPES_TABLE);
    return { label, width: png.width, height: png.height };
  };
  return new FileDataset("cityscapes", root, split, entries, decode);
}

const GTA_LAYOUT = "ROOT/images/NNNNN.png with ROOT/labels/NNNNN.png (8-bit indexed or grey " +
  "Cityscapes label ids)";

/** GTA5: `images/NNNNN.png` with `labels/NNNNN.png` holding Cityscapes label ids (§8.3). */
export async function openGta5(root: string): Promise<FileDataset> {
  const imageDir = join(root, "images");
  const labelDir = join(root, "labels");
  await requireDirectory(imageDir, GTA_LAYOUT);
  await requireDirectory(labelDir, GTA_LAYOUT);
  const images = await listFiles(imageDir, ".png");
  requireSome(images, imageDir, ".png images", GTA_LAYOUT);
  const labels = await listFiles(labelDir, ".png");
  const entries = pairByKey(root, images, labels, basename, basename);
  const decode = async (file: string) => {
    const png = await readPng(file);
    return {
      label: mapIds(labelIds(png, file, "a GTA5 label (ids as palette indices)"), CITYSCAPES_TABLE),
      width: png.width,
      height: png.height,
    };
  };
  return new FileDataset("gta5", root, "train", entries, decode);
}

const SYNTHIA_LAYOUT = "ROOT/RGB/NNNNNNN.png with ROOT/GT/LABELS/NNNNNNN.png (16-bit PNG, class " +
  "id in the first channel)";

/**
 * SYNTHIA-RAND-CITYSCAPES: `RGB/NNNNNNN.png` with 16-bit `GT/LABELS/NNNNNNN.png` whose first (R)
 * channel is the class id (the converter reads cv2's last BGR channel, §8.4); 16 classes.
 */
export async function openSynthia(root: string): Promise<FileDataset> {
  const imageDir = join(root, "RGB");
  const labelDir = join(root, "GT", "LABELS");
  await requireDirectory(imageDir, SYNTHIA_LAYOUT);
  await requireDirectory(labelDir, SYNTHIA_LAYOUT);
  const images = await listFiles(imageDir, ".png");
  requireSome(images, imageDir, ".png images", SYNTHIA_LAYOUT);
  const entries = pairByKey(root, images, await listFiles(labelDir, ".png"), basename, basename);
  const decode = async (file: string) => {
    const png = await readPng(file);
    if (png.depth !== 16 || png.palette !== undefined) {
      throw new Error(
        `${file}: expected a SYNTHIA label, a 16-bit PNG with the class id in its first channel, ` +
          `but found ${png.depth}-bit${
            png.palette ? " indexed" : ""
          } data. Use the GT/LABELS files of ` +
          `SYNTHIA-RAND-CITYSCAPES, not GT/COLOR.`,
      );
    }
    const n = png.width * png.height;
    const ids = new Uint16Array(n);
    for (let i = 0; i < n; i++) ids[i] = png.data[i * png.channels];
    return { label: mapIds(ids, SYNTHIA_TABLE), width: png.width, height: png.height };
  };
  return new FileDataset("synthia", root, "train", entries, decode);
}
