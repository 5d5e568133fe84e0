/**
 * The built-in block runtime modules: importing this file registers every one of them. A new
 * block kind adds its module file and one line here.
 *
 * @module
 */
import "./model.ts";
import "./multi_resolution.ts";
import "./datasets.ts";
import "./cross_entropy.ts";
import "./feature_distance.ts";
import "./masked_image_consistency.ts";
import "./pixel_contrast.ts";
import "./patch_contrast.ts";
import "./cluda_contrast.ts";
import "./temporal_contrast.ts";
import "./ema_teacher.ts";
import "./class_mix.ts";
import "./rare_class_sampling.ts";

export { blockModule, registerBlockModule } from "./registry.ts";
export type * from "./types.ts";
export { passId } from "./types.ts";
