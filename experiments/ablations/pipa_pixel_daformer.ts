/**
 * PiPa's pixel contrast alone on DAFormer (`docs/pipa.md`): the "pixel only" row of PiPa's
 * ablation, at CPU scale.
 *
 * Scaled on one line: the anchor counts × 1/25, the ratio of DAFormer's 32² feature grid here to
 * PiPa-DAFormer's 160² (640² crops): classes with > 4 px, ≤ 4 anchors each, ≤ 41 per batch.
 */
import { extend, pixelContrast } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";

export default extend(daformer, {
  losses: { pixel: pixelContrast({ minPixels: 4, maxViews: 4, maxSamples: 41 }) },
});
