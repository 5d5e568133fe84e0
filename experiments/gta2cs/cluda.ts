/**
 * CLUDA on HRDA at paper scale (gta2cs): `experiments/gta2cs/hrda.ts` with CLUDA's multi-resolution
 * contrast, its published settings (grid 65² over 1024² crops, max-entropy mixed crop from
 * iteration 12001 of 40 000). Passes `show` and `plan`; training it needs the real datasets.
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "./hrda.ts";
import { cluda } from "../cluda.ts";

export default extend(hrda, cluda);
