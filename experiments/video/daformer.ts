/**
 * DAFormer on the video benchmark: `experiments/daformer.ts` on SynthCity sequences, game → real
 * (`experiments/video/synthcity_video.ts`), the image method applied frame by frame, as the video
 * UDA papers' image baselines are.
 */
import { extend } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";
import { synthCityVideo } from "./synthcity_video.ts";

export default extend(daformer, synthCityVideo);
