/**
 * DAFormer VIPER → Cityscapes-Seq at paper scale: the image method applied frame by frame, as
 * the video-UDA papers' image baselines are. `experiments/gta2cs/daformer.ts` (the released-code
 * variant behind DAFormer's 68.3 on GTA→Cityscapes: batch pseudo-label confidence, batch ClassMix
 * pool, EMA 0.999, RCS on the source) with VIPER → Cityscapes-Seq's data and 15-class protocol
 * (`./source_only.ts`, `viperToCityscapesSeq`).
 *
 * Published: `shared/reference/pipa_cluda.md` §4 holds no DAFormer number on this benchmark; its
 * rows on the 15 classes are DA-VSN 47.8, TPS 48.9, CMOM 53.8 and QuadMix (ViT) 58.2 mIoU (the
 * UDASS README), the video methods this image baseline is read against.
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import gta2cs from "../gta2cs/daformer.ts";
import { viperToCityscapesSeq } from "./source_only.ts";

export default extend(gta2cs, viperToCityscapesSeq);
