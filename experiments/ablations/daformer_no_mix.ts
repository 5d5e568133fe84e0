/**
 * DAFormer without ClassMix: the student learns the teacher's confidence-weighted pseudo-labels
 * on the target crop itself. The strong augmentation belongs to the mixing block (DACS applies it
 * to the mixed image), so it goes too: this removes DACS's mixed-sample consistency as a whole.
 */
import { extend, off } from "../../dsl/mod.ts";
import daformer from "../daformer.ts";

export default extend(daformer, { mixing: off, losses: { mix: { on: "target" } } });
