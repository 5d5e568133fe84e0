/**
 * The main comparison of `docs/results.md` as a sweep: source-only and DAFormer, three seeds
 * each. `deno task sweep show sweeps/daformer_seeds.ts` lists the six runs;
 * `deno task sweep results sweeps/daformer_seeds.ts` tabulates them with DAFormer's gain over
 * source-only and its significance.
 */
import { sweep } from "../runtime/sweep/sweep.ts";

export default sweep({
  experiments: ["experiments/source_only.ts", "experiments/daformer.ts"],
  seeds: [0, 1, 2],
});
