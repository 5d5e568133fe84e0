/**
 * DAFormer SYNTHIA-Seq → Cityscapes-Seq at paper scale: the image method applied frame by frame,
 * as the video-UDA papers' image baselines are. `experiments/gta2cs/daformer.ts` (the
 * released-code variant behind DAFormer's published numbers: batch pseudo-label confidence, batch
 * ClassMix pool, EMA 0.999, RCS on the source) with SYNTHIA-Seq → Cityscapes-Seq's data and
 * 11-class protocol (`./source_only.ts`, `synthiaSeqToCityscapesSeq`).
 *
 * Published: `shared/reference/pipa_cluda.md` §4 holds no DAFormer number on this benchmark; its
 * rows on the 11 classes are DA-VSN 49.5, TPS 53.8, CMOM 56.3 and QuadMix (ViT) 67.2 mIoU (the
 * UDASS README), the video methods this image baseline is read against.
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import gta2cs from "../gta2cs/daformer.ts";
import { synthiaSeqToCityscapesSeq } from "./source_only.ts";

export default extend(gta2cs, synthiaSeqToCityscapesSeq);
