/**
 * PiPa on HRDA at paper scale, SYNTHIA→Cityscapes, as the released `configs/pipa/*HR2csHR_hrda.py`
 * (`shared/reference/pipa_cluda.md` §3.3): `./hrda.ts` with PiPa's losses (β 0.01 on HRDA)
 * and the released schedule (60 000 iterations, evaluation every 5000).
 *
 * @module
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "./hrda.ts";
import { pipaPaper, pipaPaperHrdaSchedule } from "../pipa.ts";

export default extend(
  extend(extend(hrda, pipaPaper), { losses: { patch: { weight: 0.01 } } }),
  pipaPaperHrdaSchedule,
);
