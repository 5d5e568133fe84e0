/**
 * HRDA GTA5 → Cityscapes at paper scale (Hoyer et al., ECCV 2022, Table 1: 73.8 mIoU):
 * `experiments/gta2cs/daformer.ts` (the released-code DAFormer) with HRDA's multi-resolution
 * and its full-resolution data (`shared/reference/daformer_hrda_mic.md` §1.4 "HRDA"): GTA
 * resized to 2560×1440, Cityscapes at its native 2048×1024, 1024² crops, one loader worker.
 * The multi-resolution defaults are the released ones (context × 0.5, 512² detail crops, 1024²
 * test windows at stride 512). Needs the datasets and `mit_b5` weights (docs/datasets.md,
 * docs/weights.md); `deno task plan` shows it without them.
 */
import { cityscapes, extend, gta5 } from "../../dsl/mod.ts";
import gta2cs from "./daformer.ts";
import { hrda } from "../hrda.ts";

export default extend(
  extend(gta2cs, {
    data: {
      source: gta5({ root: "data/gta", scale: [2560, 1440], crop: [1024, 1024] }),
      target: cityscapes({
        root: "data/cityscapes",
        split: "train",
        scale: [2048, 1024],
        crop: [1024, 1024],
      }),
      targetVal: cityscapes({ root: "data/cityscapes", split: "val", scale: [2048, 1024] }),
      loader: { workers: 1 },
    },
  }),
  hrda,
);
