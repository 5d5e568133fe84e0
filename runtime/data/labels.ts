/**
 * The Cityscapes label space every dataset is mapped into, and the published mappings.
 *
 * Tables from `shared/reference/daformer_hrda_mic.md` §8.2–§8.4 (mmseg `cityscapes.py`,
 * DAFormer `tools/convert_datasets/{gta,synthia}.py`). Imports nothing from TensorFlow.js.
 *
 * @module
 */

/** The label value every loss and metric ignores (mmseg `ignore_index`). */
export const IGNORE_LABEL = 255;

/** The 19 Cityscapes train classes, indexed by trainId. */
export const CLASS_NAMES: readonly string[] = Object.freeze([
  "road",
  "sidewalk",
  "building",
  "wall",
  "fence",
  "pole",
  "traffic light",
  "traffic sign",
  "vegetation",
  "terrain",
  "sky",
  "person",
  "rider",
  "car",
  "truck",
  "bus",
  "train",
  "motorcycle",
  "bicycle",
]);

/** Number of Cityscapes train classes. */
export const NUM_CLASSES = 19;

/** RGB palette per trainId (mmseg `CityscapesDataset.PALETTE`, §8.2). */
export const PALETTE: readonly (readonly [number, number, number])[] = Object.freeze(
  [
    [128, 64, 128],
    [244, 35, 232],
    [70, 70, 70],
    [102, 102, 156],
    [190, 153, 153],
    [153, 153, 153],
    [250, 170, 30],
    [220, 220, 0],
    [107, 142, 35],
    [152, 251, 152],
    [70, 130, 180],
    [220, 20, 60],
    [255, 0, 0],
    [0, 0, 142],
    [0, 0, 70],
    [0, 60, 100],
    [0, 80, 100],
    [0, 0, 230],
    [119, 11, 32],
  ] as const,
);

/** Colour drawn for ignored pixels in colourised label pictures. */
export const IGNORE_COLOUR: readonly [number, number, number] = [0, 0, 0];

/**
 * Cityscapes label id → trainId for the ids that have a train class (cityscapesscripts
 * `labels.py`; GTA5 uses the same ids, §8.3). Every other id in 0–255 maps to 255.
 */
export const CITYSCAPES_ID_TO_TRAIN_ID: Readonly<Record<number, number>> = Object.freeze({
  7: 0,
  8: 1,
  11: 2,
  12: 3,
  13: 4,
  17: 5,
  19: 6,
  20: 7,
  21: 8,
  22: 9,
  23: 10,
  24: 11,
  25: 12,
  26: 13,
  27: 14,
  28: 15,
  31: 16,
  32: 17,
  33: 18,
});

/**
 * Number of Cityscapes label ids a `labelIds` file (or a GTA5 label) can hold: 0 (unlabeled) to 33
 * (bicycle) in cityscapesscripts `labels.py`. Its one negative id (license plate, −1) is never
 * drawn into id files, so any value from 34 up is no Cityscapes id at all.
 */
export const CITYSCAPES_ID_COUNT = 34;

/**
 * Number of SYNTHIA-RAND-CITYSCAPES class ids: 0 (void) to 22 (lanemarking) in the dataset's
 * README. Ids without a train class (void, parking-slot, road-work, lanemarking) are valid and map
 * to 255 silently; only values from 23 up are unknown.
 */
export const SYNTHIA_ID_COUNT = 23;

/**
 * SYNTHIA-RAND-CITYSCAPES class id → trainId (§8.4). Terrain (16→9), truck (18→14) and train
 * (20→16) are in the converter's table but "not present in synthia".
 */
export const SYNTHIA_ID_TO_TRAIN_ID: Readonly<Record<number, number>> = Object.freeze({
  3: 0,
  4: 1,
  2: 2,
  21: 3,
  5: 4,
  7: 5,
  15: 6,
  9: 7,
  6: 8,
  16: 9,
  1: 10,
  10: 11,
  17: 12,
  8: 13,
  18: 14,
  19: 15,
  20: 16,
  12: 17,
  11: 18,
});

/** trainIds of the "thing" classes feature distance is restricted to (DAFormer §4). */
export const THING_CLASSES: readonly number[] = Object.freeze([
  6,
  7,
  11,
  12,
  13,
  14,
  15,
  16,
  17,
  18,
]);

/**
 * Class subsets for the published mIoU protocols (§8.1, §8.4): all 19 (GTA→CS), the 16 SYNTHIA
 * classes (no terrain, truck, train) and the 13-class convention (additionally no wall, fence,
 * pole). The video benchmarks (`shared/reference/pipa_cluda.md` §4, from the video-UDA
 * codebases): "11" for SYNTHIA-Seq→Cityscapes-Seq (road, sidewalk, building, pole, light, sign,
 * vegetation, sky, person, rider, car) and "15" for VIPER→Cityscapes-Seq (road, sidewalk,
 * building, fence, light, sign, vegetation, terrain, sky, person, car, truck, bus, motorcycle,
 * bicycle).
 */
export const PROTOCOL_CLASSES: Readonly<
  Record<"19" | "16" | "13" | "11" | "15", readonly number[]>
> = Object.freeze({
  "19": Object.freeze(Array.from({ length: 19 }, (_, i) => i)),
  "16": Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]),
  "13": Object.freeze([0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]),
  "11": Object.freeze([0, 1, 2, 5, 6, 7, 8, 10, 11, 12, 13]),
  "15": Object.freeze([0, 1, 2, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 18]),
});

/** A 256-entry lookup table from raw label values to trainIds (unmapped values → 255). */
export function lookupTable(mapping: Readonly<Record<number, number>>): Uint8Array {
  const table = new Uint8Array(256).fill(IGNORE_LABEL);
  for (const [from, to] of Object.entries(mapping)) table[Number(from)] = to;
  return table;
}

/** Inverse of a mapping: trainId → the raw id a writer stores for it. */
export function inverseMapping(mapping: Readonly<Record<number, number>>): Map<number, number> {
  const inverse = new Map<number, number>();
  for (const [from, to] of Object.entries(mapping)) {
    if (!inverse.has(to)) inverse.set(to, Number(from));
  }
  return inverse;
}
