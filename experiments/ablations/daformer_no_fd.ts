/** DAFormer without the thing-class feature distance (DAFormer Table 3 row). */
import { extend, off } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";

export default extend(daformer, { losses: { fd: off } });
