/** DAFormer without rare-class sampling: source images drawn uniformly (DAFormer Table 3 row). */
import { extend, off } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";

export default extend(daformer, { data: { sampling: off } });
