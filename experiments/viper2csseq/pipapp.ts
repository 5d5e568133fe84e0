/**
 * PiPa++ VIPER → Cityscapes-Seq at paper scale (Chen, Zheng, Yang, arXiv 2407.17101): DAFormer
 * (`./daformer.ts`) with PiPa's pixel contrast at its released values (`experiments/pipa.ts`,
 * `pipaPaper`), PiPa++'s patch term (PiPa's, with negatives from the semantic-aware memory chosen
 * by the task-smart rule; `pipappPatchPaper`) and the temporal contrast across Cityscapes-Seq
 * frames (t, t−1; `pipappTemporalPaper`), both at every default and sharing one memory, as
 * `experiments/video/pipapp.ts` at CPU scale (`experiments/pipapp.ts`, `docs/pipapp.md`).
 * PiPa's image schedule (60 000 iterations, 640² crops) is not applied: PiPa++'s video
 * configuration is not public, and DAFormer's keeps `deno task diff ./daformer.ts ./pipapp.ts` to
 * the method.
 *
 * Published: no PiPa++ number could be found (`shared/reference/pipa_cluda.md` §4: no code, no
 * method text); the paper claims the state of the art on the VIPER-based video tasks, whose rows
 * there are DA-VSN 47.8, TPS 48.9, CMOM 53.8 and QuadMix (ViT) 58.2 mIoU on these 15 classes.
 *
 * Flow: the temporal contrast pairs points through optical flow, which users must compute: the
 * FlowNet2 backward flow t → t−1 of every labelled Cityscapes-Seq train frame (the 20th of each
 * snippet, FlowNet2 run with frame t as its first image and frame t−1 as its second), written as
 * Middlebury `.flo` files under `data/cityscapes_seq_flow/train`, mirroring
 * `leftImg8bit_sequence/train` (`<city>/<city>_<seq>_<frame>_leftImg8bit.flo`;
 * `runtime/data/video/file_pairs.ts`). A `targetVal` `flowRoot` of the val frames, computed the
 * same way, adds the temporal-consistency figure to the evaluation.
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import daformer from "./daformer.ts";
import { pipaPaper } from "../pipa.ts";
import { pipappPatchPaper, pipappTemporalPaper } from "../pipapp.ts";

const pipa = extend(daformer, pipaPaper);

export default extend(extend(extend(pipa, pipappPatchPaper), pipappTemporalPaper), {
  data: { target: { flowRoot: "data/cityscapes_seq_flow/train" } },
});
