/**
 * PiPa on DAFormer: `experiments/daformer.ts` with PiPa's pixel and patch contrast
 * (`experiments/pipa.ts`; β 0.1, the released DAFormer value).
 *
 * @module
 */
import { extend } from "../dsl/mod.ts";
import daformer from "./daformer.ts";
import { pipa } from "./pipa.ts";

export default extend(daformer, pipa);
