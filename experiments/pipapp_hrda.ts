/**
 * PiPa++ for image UDA on HRDA: `experiments/pipa_hrda.ts` with PiPa++'s patch term, negatives
 * from the semantic-aware memory chosen by the task-smart rule (`experiments/pipapp.ts`); PiPa's
 * pixel contrast is unchanged (its 256-d source embeddings do not share the 128-d memory, see
 * `docs/pipapp.md`), and there is no temporal term: images have no frame pairs.
 * `deno task diff experiments/pipa_hrda.ts experiments/pipapp_hrda.ts` prints exactly that.
 */
import { extend, type PatchContrastBlock } from "../dsl/mod.ts";
import pipaHrda from "./pipa_hrda.ts";
import { pipappPatch } from "./pipapp.ts";

export default extend(pipaHrda, pipappPatch(pipaHrda.losses.patch as PatchContrastBlock));
