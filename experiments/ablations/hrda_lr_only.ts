/**
 * HRDA's context path alone: attention fixed at 0 and no detail loss, so the detail crop trains
 * nothing and the prediction is the context crop's (DAFormer at half of HRDA's resolution).
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "../hrda.ts";

export default extend(hrda, {
  resolution: { attention: "fixed", fixedAttention: 0, detailLossWeight: 0 },
});
