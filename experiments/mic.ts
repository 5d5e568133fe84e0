/**
 * MIC(HRDA) (Hoyer et al., CVPR 2023), the paper's flagship, at CPU scale: `experiments/hrda.ts`
 * plus masked image consistency on the target crop, with the EMA teacher's pseudo-labels and
 * weights reused (`shared/reference/daformer_hrda_mic.md` §1.3, §7). `deno task diff
 * experiments/hrda.ts experiments/mic.ts` shows exactly the added term.
 *
 * Scaled to this benchmark on one line: mask blocks of 16 px on HRDA's 256² crops, as the
 * reference's 64 px on 1024² (a 16 × 16 grid of blocks either way).
 *
 * The method is exported as a patch, `mic`, with the published values, so it stacks on any base
 * (`experiments/mic_daformer.ts` is MIC on DAFormer).
 */
import { type ExperimentPatch, extend, maskedImageConsistency } from "../dsl/mod.ts";
import hrda from "./hrda.ts";

/** MIC's addition, as a reusable patch (published values: block 64, ratio 0.7, λ = 1). */
export const mic: ExperimentPatch = { losses: { masked: maskedImageConsistency() } };

export default extend(extend(hrda, mic), { losses: { masked: { blockSize: 16 } } });
