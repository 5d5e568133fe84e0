/**
 * Source-only on the video benchmark: `experiments/source_only.ts` trained on SynthCity game
 * sequences, evaluated per frame on real sequences under VIPER's 15-class protocol
 * (`experiments/video/synthcity_video.ts`). The floor of the video table.
 */
import { extend } from "../../dsl/mod.ts";
import sourceOnly from "../source_only.ts";
import { synthCityVideo } from "./synthcity_video.ts";

export default extend(sourceOnly, synthCityVideo);
