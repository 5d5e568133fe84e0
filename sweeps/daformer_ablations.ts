/**
 * DAFormer's ablations (Table 3 rows) as patches of one experiment, three seeds each: the same
 * `--set` paths as `experiments/ablations/*.ts`, so each patch's hash equals that file's.
 */
import { off } from "../dsl/mod.ts";
import { sweep } from "../runtime/sweep/sweep.ts";

export default sweep({
  experiments: ["experiments/daformer.ts"],
  seeds: [0, 1, 2],
  includeBase: true,
  patches: [
    { name: "no_rcs", set: { "data.sampling": off } },
    { name: "no_fd", set: { "losses.fd": off } },
    { name: "no_mix", set: { "mixing": off, "losses.mix.on": "target" } },
  ],
});
