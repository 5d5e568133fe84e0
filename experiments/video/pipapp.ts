/**
 * PiPa++ on the video benchmark: PiPa on DAFormer (`experiments/video/pipa.ts`) plus the
 * temporal contrast across target frames (t, t−1) with the exact SynthCity flow, the task-smart
 * sampling and the semantic-aware memory (`experiments/pipapp.ts`).
 */
import { extend } from "../../dsl/mod.ts";
import videoPipa from "./pipa.ts";
import { pipappTemporal } from "../pipapp.ts";

export default extend(videoPipa, pipappTemporal);
