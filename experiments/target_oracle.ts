/**
 * The target oracle: source-only training on the target's own labelled images, the upper bound
 * every UDA paper quotes (DAFormer's "target-supervised" row). It trains on the same 2000 `real`
 * images (seed 1) that the UDA experiments adapt to without labels, and is evaluated on the same
 * held-out `real` images (seed 1000, a disjoint set), so `target mIoU` is comparable row by row.
 * The ratio check may read labels here (`catMaxRatio` 0.75, the source pipeline's value).
 *
 * `deno task diff experiments/source_only.ts experiments/target_oracle.ts` shows the change.
 */
import { extend } from "../dsl/mod.ts";
import sourceOnly from "./source_only.ts";

export default extend(sourceOnly, {
  data: { source: { domain: "real", seed: 1, catMaxRatio: 0.75 } },
});
