/**
 * MIC(HRDA) SYNTHIA → Cityscapes at paper scale (Hoyer et al., CVPR 2023, Table 2: 67.3 mIoU over
 * 16 classes): `experiments/synthia2cs/hrda.ts` plus masked image consistency with the released
 * values.
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "./hrda.ts";
import { mic } from "../mic.ts";

export default extend(hrda, mic);
