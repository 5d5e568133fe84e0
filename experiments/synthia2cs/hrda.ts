/**
 * HRDA SYNTHIA → Cityscapes at paper scale (Hoyer et al., ECCV 2022, Table 2: 65.8 mIoU over 16
 * classes): `experiments/gta2cs/hrda.ts` with SYNTHIA resized to 2560×1520 (twice its native
 * size, §1.4 "HRDA") as the source and the 16-class protocol.
 */
import { extend, synthia } from "../../dsl/mod.ts";
import gta2cs from "../gta2cs/hrda.ts";

export default extend(gta2cs, {
  data: { source: synthia({ root: "data/synthia", scale: [2560, 1520], crop: [1024, 1024] }) },
  evaluation: { protocol: "16" },
});
