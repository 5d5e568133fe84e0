/**
 * SYNTHIA-SEQS's label space (Ros et al., CVPR 2016, the video release) and its mapping to the 19
 * Cityscapes train classes.
 *
 * SYNTHIA-SEQS numbers its classes as SYNTHIA-RAND-CITYSCAPES does up to 10 and at 15 (void 0, sky
 * 1, building 2, road 3, sidewalk 4, fence 5, vegetation 6, pole 7, car 8, sign 9, pedestrian 10,
 * traffic light 15), so those ids take the image reader's table (`SYNTHIA_ID_TO_TRAIN_ID`,
 * `runtime/data/labels.ts`) unchanged. Two ids mean something else in the video release, and the
 * image table would mislabel them: 11 is `cyclist` (the image release's `bicycle`, trainId 18),
 * which both video-adaptation codebases map to rider (DA-VSN `davsn/dataset/SynthiaSeq.py`,
 * `id_to_trainid` `11: 10` of its 12 classes, rider; UnifiedVideoDA
 * `tools/convert_datasets/synthiaSeq.py`, `11: 12, # map bike --> rider`), so the 11-class
 * protocol's rider has source labels at all; and 12 is `lanemarking` (the image release's
 * `motorcycle`), which both leave ignored, so lane markings do not teach the model to see
 * motorcycles on every road. 13 and 14 are reserved; ids from 16 up do not exist in SYNTHIA-SEQS.
 *
 * @module
 */
import { SYNTHIA_ID_TO_TRAIN_ID } from "../labels.ts";

/** Number of SYNTHIA-SEQS class ids: 0 (void) to 15 (traffic light); 16 and up are unknown. */
export const SYNTHIA_SEQ_ID_COUNT = 16;

/** The ids SYNTHIA-SEQS shares, with their meaning, with SYNTHIA-RAND-CITYSCAPES. */
const SHARED_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15] as const;

/** Cityscapes trainId of rider, which SYNTHIA-SEQS's `cyclist` (11) becomes. */
const RIDER = 12;

/**
 * SYNTHIA-SEQS class id → Cityscapes trainId (ids not listed → 255): the image table on the ids
 * both releases share, and cyclist (11) → rider, as DA-VSN and UnifiedVideoDA (module docs).
 */
export const SYNTHIA_SEQ_ID_TO_TRAIN_ID: Readonly<Record<number, number>> = Object.freeze({
  ...Object.fromEntries(SHARED_IDS.map((id) => [id, SYNTHIA_ID_TO_TRAIN_ID[id]])),
  11: RIDER,
});
