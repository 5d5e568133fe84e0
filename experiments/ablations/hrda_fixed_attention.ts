/** HRDA with a fixed scale attention of 0.5 instead of a learned one (the reference's `fixedatt`). */
import { extend } from "../../dsl/mod.ts";
import hrda from "../hrda.ts";

export default extend(hrda, { resolution: { attention: "fixed", fixedAttention: 0.5 } });
