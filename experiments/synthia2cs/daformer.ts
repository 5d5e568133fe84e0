/**
 * DAFormer SYNTHIA → Cityscapes at paper scale, the variant that targets the published number
 * (Table 2: 60.9 mIoU over 16 classes): `experiments/gta2cs/daformer.ts`, whose released-code
 * batch confidence and batch class pool produced it, with SYNTHIA as the source
 * (Resize(1280, 760), its native size) and the 16-class protocol
 * (`shared/reference/daformer_hrda_mic.md` §1.4, §8.4). `daformer_paper.ts` is the paper's
 * per-image variant.
 */
import { extend, synthia } from "../../dsl/mod.ts";
import gta2cs from "../gta2cs/daformer.ts";

export default extend(gta2cs, {
  data: { source: synthia({ root: "data/synthia", crop: [512, 512] }) },
  evaluation: { protocol: "16" },
});
