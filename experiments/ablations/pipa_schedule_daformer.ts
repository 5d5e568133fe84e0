/**
 * DAFormer on PiPa's released schedule without either contrast (`pipaSchedule` of
 * `experiments/pipa.ts`): the row that separates the schedule's effect from the method's
 * (issue chen742/PiPa#9 reports 70.57 for it against DAFormer's 68.3 at paper scale).
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";
import { pipaSchedule } from "../pipa.ts";

export default extend(daformer, pipaSchedule);
