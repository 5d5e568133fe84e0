/**
 * PiPa on HRDA, the headline experiment: `experiments/hrda.ts` with PiPa's pixel and patch
 * contrast (`experiments/pipa.ts`). On HRDA the released β is 0.01, the anchor counts follow
 * HRDA's 256² crops (4× the pixels), and the patch crops (176², a 22² grid) remember ~10 % of
 * their positions.
 *
 * @module
 */
import { extend } from "../dsl/mod.ts";
import hrda from "./hrda.ts";
import { pipa } from "./pipa.ts";

export default extend(extend(hrda, pipa), {
  losses: {
    pixel: { minPixels: 6, maxViews: 6, maxSamples: 64 },
    patch: { weight: 0.01, negativesPerCrop: 96 },
  },
});
