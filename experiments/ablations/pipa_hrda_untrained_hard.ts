/**
 * The released PiPa pixel contrast on HRDA: the hard/easy split of its anchors from the
 * never-trained 1×1 classifier `cls_head` (no loss reaches it, so "hard" is a fixed random
 * partition) instead of the head's own prediction (`shared/reference/pipa_cluda.md` §1.3).
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import pipaHrda from "../pipa_hrda.ts";

export default extend(pipaHrda, { losses: { pixel: { hardFrom: "untrainedHead" } } });
