/**
 * PiPa++ on the video benchmark: PiPa on DAFormer (`experiments/video/pipa.ts`) with PiPa++'s
 * patch term (negatives from the semantic-aware memory, task-smart sampling) and the temporal
 * contrast across target frames (t, t−1) with the exact SynthCity flow; the two terms share one
 * memory (`experiments/pipapp.ts`).
 */
import { extend, type PatchContrastBlock } from "../../dsl/mod.ts";
import videoPipa from "./pipa.ts";
import { pipappPatch, pipappTemporal } from "../pipapp.ts";

export default extend(
  extend(videoPipa, pipappPatch(videoPipa.losses.patch as PatchContrastBlock)),
  pipappTemporal,
);
