/**
 * The released PiPa patch contrast on HRDA: features from the EMA teacher, so only the
 * projection learns and the segmentation network is untouched by the patch loss (issues
 * chen742/PiPa#3, #14; `shared/reference/pipa_cluda.md` §2.3).
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import pipaHrda from "../pipa_hrda.ts";

export default extend(pipaHrda, { losses: { patch: { features: "teacher" } } });
