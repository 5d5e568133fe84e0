/**
 * CLUDA on DAFormer at CPU scale: the first public implementation of the variant CLUDA's paper
 * reports (70.11 mIoU GTA→Cityscapes) but whose code was never released (issue user0407/CLUDA#5;
 * a reproducer reached 67.88 with the released single-resolution `contrastive_loss`).
 *
 * Assumptions, since no code or method text of the DAFormer variant could be read
 * (`shared/reference/pipa_cluda.md` §5.1, §6):
 * - the loss is the released single-resolution `contrastive_loss`: every grid cell an anchor,
 *   τ = 1, positives of the same label across the batch, no learned LR/HR weight (there is one
 *   resolution), Γ = q_i q_j on the mixed image as in the HRDA variant;
 * - on DAFormer's fused decoder features (the input of its classifier), as the HRDA variant uses;
 * - source and mixed terms each with weight 1, as on HRDA; no entropy crop (there is no detail crop).
 *
 * Scaled: grid 9² over the 128² crop (crop/16 + 1), as 33² over DAFormer's 512² crops.
 */
import { cludaContrast, type ExperimentPatch, extend } from "../dsl/mod.ts";
import daformer from "./daformer.ts";

/** CLUDA's single-resolution contrast as a patch for a DAFormer experiment (grid 33 at 512²). */
export const cludaSingle: ExperimentPatch = {
  losses: { cluda: cludaContrast({ resolution: "single", grid: 33 }) },
};

export default extend(extend(daformer, cludaSingle), { losses: { cluda: { grid: 9 } } });
