/**
 * What limits learnability at the CPU scale (`docs/benchmark.md`): the target oracle
 * (`experiments/target_oracle.ts`, trained on the target's labels) at the benchmark's defaults,
 * and with one setting changed at a time — SynthCity's first scene geometry (version 1), twice the
 * image resolution, whole-image crops, twice the iterations, the previous learning rate, MiT-B0
 * instead of MiT-nano (from its own pretraining, `experiments/pretrain_b0.ts`). Its per-class IoU
 * table and heat map are `docs/benchmark_study.md`:
 *
 * ```sh
 * deno task sweep run sweeps/benchmark_learnability.ts --executor local
 * deno task sweep results sweeps/benchmark_learnability.ts --chart --out docs/benchmark_study.md
 * ```
 */
import { sweep } from "../runtime/sweep/sweep.ts";

/** Every dataset of the experiment in SynthCity scene version 1. */
const version1 = Object.fromEntries(
  ["source", "target", "targetVal", "sourceVal"].map((d) => [`data.${d}.version`, 1]),
);

export default sweep({
  experiments: ["experiments/target_oracle.ts"],
  seeds: [0],
  includeBase: true,
  patches: [
    { name: "scene_v1", set: version1 },
    {
      name: "images_512x256",
      set: { "data.source.scale": [512, 256], "data.targetVal.scale": [512, 256] },
    },
    { name: "crop_128x256", set: { "data.source.crop": [128, 256] } },
    { name: "iterations_1200", set: { "run.iterations": 1200 } },
    { name: "lr_6e-4", set: { "optimizer.lr": 6e-4 } },
    {
      name: "model_b0",
      set: {
        "model.encoder.variant": "b0",
        "model.encoder.pretrained": "experiments/pretrain_b0.ts",
      },
    },
  ],
});
