/**
 * CLUDA (Vayyat et al., 2022, arXiv 2208.14227) on HRDA at CPU scale: `experiments/hrda.ts` with
 * CLUDA's multi-resolution contrast on the source crop and on the mixed image
 * (`shared/reference/pipa_cluda.md` §5, paper intent as §8.1). The method is exported as a
 * patch, `cluda` (paper-scale defaults); the released code's behaviours are `cludaReleased`.
 *
 * Scaled one line each:
 * - grid 17² over the 256² crop (crop/16 + 1), as 65² over the reference's 1024² crops;
 * - the mixed image's max-entropy detail crop from iteration 181 of 600, as `local_iter > 12000`
 *   of 40 000 (30%).
 */
import { cludaContrast, type ExperimentPatch, extend } from "../dsl/mod.ts";
import hrda from "./hrda.ts";

/** CLUDA's addition to an HRDA experiment (paper-scale defaults: grid 65, from iteration 12001). */
export const cluda: ExperimentPatch = { losses: { cluda: cludaContrast() } };

/**
 * The released code's behaviours that change results (user0407/CLUDA @ bad6ed0), each one line:
 * extend a CLUDA experiment with this to reproduce the release rather than the paper. The decoder
 * width is the paper-scale 512 (2 × DAFormer's 256); a CPU-scale run sets 2 × its `channels`.
 */
export const cludaReleased: ExperimentPatch = {
  model: { decoder: { embedDims: 512 } },
  resolution: { fuseAfterUpsampling: true },
  losses: {
    cluda: {
      cropIndicator: "labelNonZero",
      ignoreLabel: "class",
      stuffThingMask: true,
      rowOrder: "released",
    },
  },
};

export default extend(extend(hrda, cluda), {
  losses: { cluda: { grid: 17, entropyCropFrom: 181 } },
});
