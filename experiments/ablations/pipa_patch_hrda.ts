/**
 * Ablation of PiPa on HRDA: the patch contrast alone (`experiments/pipa_hrda.ts` without the
 * pixel contrast).
 *
 * @module
 */
import { extend, off } from "../../dsl/mod.ts";
import pipaHrda from "../pipa_hrda.ts";

export default extend(pipaHrda, { losses: { pixel: off } });
