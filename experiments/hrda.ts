/**
 * HRDA (Hoyer et al., ECCV 2022) at CPU scale: DAFormer (`experiments/daformer.ts`) with
 * multi-resolution training and inference, at twice DAFormer's resolution, as the paper trains
 * HRDA on full-resolution Cityscapes where DAFormer used half. `deno task diff
 * experiments/daformer.ts experiments/hrda.ts` shows the resolution change and HRDA's additions.
 *
 * The published settings (`shared/reference/daformer_hrda_mic.md` §1.4 "HRDA", §6), scaled one
 * line each:
 * - images 512×256 and crops 256² (`cpuHighResolution`): the reference's 2048×1024 and 1024²;
 * - context crop × 0.5 = 128², DAFormer's crop here, as 512² is DAFormer's in the paper;
 * - detail crop half the crop's side = 128² at full resolution, as 512² of 1024²;
 * - teacher windows 128² at stride 64 over the 256² target crop (3×3), as 512² at 256 over 1024²;
 * - evaluation windows 256² at stride 128 over the 512×256 image (1×3), as 1024² at 512.
 * RCS keeps DAFormer's pixel thresholds and doubles the crop ratio (2.0, as released), as the
 * reference keeps `min_pixels=3000` on images of twice the resolution.
 *
 * The method is exported as a patch, `hrda`, so it stacks (`extend(base, hrda)`; MIC, CLUDA and
 * PiPa extend it).
 */
import { type ExperimentPatch, extend, multiResolution } from "../dsl/mod.ts";
import daformer from "./daformer.ts";
import { cpuHighResolution } from "./cpu_scale.ts";

/** HRDA's additions to a DAFormer experiment, as a reusable patch. */
export const hrda: ExperimentPatch = {
  resolution: multiResolution(),
  // RCS `min_crop_ratio` 2.0 (§6.5): the crop has four times DAFormer's pixels.
  data: { sampling: { minCropRatio: 2 } },
};

export default extend(extend(daformer, cpuHighResolution), hrda);
