/**
 * PiPa on DAFormer at paper scale, SYNTHIA→Cityscapes, as the released
 * `PiPa_DAFormer/configs/pipa/*_daformer_mitb5_s0.py` (`shared/reference/pipa_cluda.md` §3.3):
 * `./daformer.ts` with PiPa's losses (β 0.1) and the released schedule and data changes: 60 000
 * iterations, 640² crops, Cityscapes resized to 1280×640, RCS temperature 0.1.
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import daformer from "./daformer.ts";
import { pipaPaper, pipaPaperDaformerSchedule } from "../pipa.ts";

export default extend(extend(daformer, pipaPaper), pipaPaperDaformerSchedule);
