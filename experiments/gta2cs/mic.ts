/**
 * MIC(HRDA) GTA5 → Cityscapes at paper scale (Hoyer et al., CVPR 2023, Table 1: 75.9 mIoU):
 * `experiments/gta2cs/hrda.ts` plus masked image consistency with the released values (block 64 on
 * 1024² crops, ratio 0.7, λ = 1, mode `separatetrgaug`; `shared/reference/daformer_hrda_mic.md`
 * §1.3). The shipped config's seed is 2 ("median performance"). Needs the datasets and the
 * `mit_b5` weights; `deno task plan` shows it without them.
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "./hrda.ts";
import { mic } from "../mic.ts";

export default extend(hrda, mic);
