/**
 * PiPa's pixel contrast alone on HRDA (`docs/pipa.md`), on the detail crop's features with the
 * label cut to its box: the "pixel only" row of PiPa's ablation, at CPU scale.
 *
 * Scaled on one line: the anchor counts × 1/16, the ratio of HRDA's 32² detail feature grid here
 * to the reference's 128² (512² detail crops): classes with > 6 px, ≤ 6 anchors each, ≤ 64 per
 * batch.
 */
import { extend, pixelContrast } from "../../dsl/mod.ts";
import hrda from "../hrda.ts";

export default extend(hrda, {
  losses: { pixel: pixelContrast({ minPixels: 6, maxViews: 6, maxSamples: 64 }) },
});
