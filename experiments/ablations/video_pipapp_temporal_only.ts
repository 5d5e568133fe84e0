/**
 * Video PiPa++ without its patch-term change: PiPa on DAFormer (`experiments/video/pipa.ts`) plus
 * only the temporal contrast with its own semantic memory (`pipappTemporal`); PiPa's patch term
 * keeps its FIFO bank. Against `experiments/video/pipapp.ts` it isolates what the shared memory
 * and task-smart negatives of the patch term add.
 */
import { extend } from "../../dsl/mod.ts";
import videoPipa from "../video/pipa.ts";
import { pipappTemporal } from "../pipapp.ts";

export default extend(videoPipa, pipappTemporal);
