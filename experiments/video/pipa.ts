/**
 * PiPa on the video benchmark: `experiments/pipa_daformer.ts` on SynthCity sequences, game → real
 * (`experiments/video/synthcity_video.ts`), frame by frame: the image method PiPa++ extends, so
 * `deno task diff experiments/video/pipa.ts experiments/video/pipapp.ts` prints exactly the
 * temporal term.
 */
import { extend } from "../../dsl/mod.ts";
import pipaDaformer from "../pipa_daformer.ts";
import { synthCityVideo } from "./synthcity_video.ts";

export default extend(pipaDaformer, synthCityVideo);
