/**
 * VIPER's label space (Richter et al., "Playing for Benchmarks", ICCV 2017) and its mapping to
 * the 19 Cityscapes train classes.
 *
 * Sources. The 32 class names in id order are VIPER's `classes` list as the video-adaptation code
 * spells it: `viperClasses` in SimarKareer/UnifiedVideoDA `mmseg/datasets/viperSeq.py`. The
 * mapping is the one of UnifiedVideoDA `tools/convert_datasets/viper.py` ("mapping based on
 * README.txt from VIPER to CITYSCAPES-SEQ"), which agrees with DA-VSN's
 * (Dayan-Guan/DA-VSN `davsn/dataset/Viper.py`, `id_to_trainid`) on DA-VSN's 15 VIPER→Cityscapes-Seq
 * classes and adds train (29 → 16), which DA-VSN leaves ignored. VIPER has no wall, pole or
 * rider; tree and vegetation both become vegetation; van, trailer and the other classes are
 * ignored (255). DA-VSN also erases the ego vehicle (the car component at the bottom centre);
 * these readers do not.
 *
 * @module
 */
import { inverseMapping } from "../labels.ts";

/** VIPER's class names, by class id 0–31. */
export const VIPER_CLASSES: readonly string[] = Object.freeze([
  "unlabeled",
  "ambiguous",
  "sky",
  "road",
  "sidewalk",
  "railtrack",
  "terrain",
  "tree",
  "vegetation",
  "building",
  "infrastructure",
  "fence",
  "billboard",
  "trafficlight",
  "trafficsign",
  "mobilebarrier",
  "firehydrant",
  "chair",
  "trash",
  "trashcan",
  "person",
  "animal",
  "bicycle",
  "motorcycle",
  "car",
  "van",
  "bus",
  "truck",
  "trailer",
  "train",
  "plane",
  "boat",
]);

/** Number of VIPER class ids: values from 32 up are no VIPER class. */
export const VIPER_ID_COUNT = 32;

/** VIPER class id → Cityscapes trainId (ids not listed → 255). */
export const VIPER_ID_TO_TRAIN_ID: Readonly<Record<number, number>> = Object.freeze({
  3: 0, // road
  4: 1, // sidewalk
  9: 2, // building
  11: 4, // fence
  13: 6, // trafficlight → traffic light
  14: 7, // trafficsign → traffic sign
  7: 8, // tree → vegetation
  8: 8, // vegetation
  6: 9, // terrain
  2: 10, // sky
  20: 11, // person
  24: 13, // car
  27: 14, // truck
  26: 15, // bus
  29: 16, // train
  23: 17, // motorcycle
  22: 18, // bicycle
});

/**
 * trainId → the VIPER id a writer stores (vegetation as `vegetation`, not `tree`); wall, pole
 * and rider have none and are written as 0 (`unlabeled`).
 */
export const TRAIN_ID_TO_VIPER_ID: ReadonlyMap<number, number> = (() => {
  const inverse = inverseMapping(VIPER_ID_TO_TRAIN_ID);
  inverse.set(8, 8);
  return inverse;
})();
