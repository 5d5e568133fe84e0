/**
 * MIC(DAFormer) at CPU scale: `experiments/daformer.ts` plus MIC's masked image consistency
 * (`shared/reference/daformer_hrda_mic.md` §1.4: MIC on DAFormer uses block 32 on 512² crops,
 * "half the patch size when training with half resolution").
 *
 * Scaled to this benchmark on one line: blocks of 8 px on DAFormer's 128² crops, as 32 px on 512²
 * (a 16 × 16 grid either way).
 */
import { extend } from "../dsl/mod.ts";
import daformer from "./daformer.ts";
import { mic } from "./mic.ts";

export default extend(extend(daformer, mic), { losses: { masked: { blockSize: 8 } } });
