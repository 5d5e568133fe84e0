/**
 * DAFormer GTA5 → Cityscapes at paper scale as the paper describes it: per-image pseudo-label
 * confidence and per-image ClassMix classes (DAFormer Eq. 9; DACS). It targets no published
 * number: the 68.3 mIoU of Table 1 came from the released code's batch variants, which
 * `daformer.ts` reproduces; this sibling measures what the paper's formulas give.
 */
import { extend } from "../../dsl/mod.ts";
import base from "./daformer.ts";

export default extend(base, { teacher: { confidence: "image" }, mixing: { classPool: "image" } });
