/**
 * HRDA's detail path alone: attention fixed at 1, so in training the detail box is predicted from
 * the detail crop (the context only outside it, where the attention is masked to 0) and at test
 * time every pixel comes from the full-resolution windows (the reference's `--hrda-out HR`).
 */
import { extend } from "../../dsl/mod.ts";
import hrda from "../hrda.ts";

export default extend(hrda, { resolution: { attention: "fixed", fixedAttention: 1 } });
