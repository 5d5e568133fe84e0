/**
 * Source-only training: SynthCity `game` (labelled) → evaluated on SynthCity `real`.
 *
 * DAFormer's recipe (AdamW, poly decay, batch 2, cat_max_ratio 0.75, a DAFormer head on a MiT
 * encoder) at the CPU scale of `experiments/cpu_scale.ts` (256×128 images, 128² crops, MiT-nano,
 * 600 iterations: about 5 minutes on 2 cores with the wasm backend). As in DAFormer, the encoder
 * starts from pretrained weights: ours come from `experiments/pretrain.ts` (ImageNet weights
 * cannot be downloaded here), trained once on first use.
 *
 * `experiments/daformer.ts` extends this file, so `deno task diff experiments/source_only.ts
 * experiments/daformer.ts` shows exactly what DAFormer adds; `experiments/target_oracle.ts`
 * extends it with the target's labels, the upper bound.
 */
import {
  adamw,
  crossEntropy,
  daformerHead,
  evaluation,
  experiment,
  extend,
  loader,
  mit,
  poly,
  runSettings,
  segmentor,
  synthCity,
} from "../dsl/mod.ts";
import { cpuEvalImages, cpuScale, cpuTrainImages } from "./cpu_scale.ts";

const sourceOnly = experiment({
  model: segmentor({
    encoder: mit({ pretrained: "experiments/pretrain.ts" }),
    decoder: daformerHead(),
  }),
  data: {
    source: synthCity({ domain: "game", count: 2000, seed: 0, ...cpuTrainImages }),
    // The ratio check would read target labels.
    target: synthCity({ domain: "real", count: 2000, seed: 1, catMaxRatio: 1, ...cpuTrainImages }),
    targetVal: synthCity({ domain: "real", count: 100, seed: 1000, ...cpuEvalImages }),
    sourceVal: synthCity({ domain: "game", count: 50, seed: 1001, ...cpuEvalImages }),
    loader: loader(),
  },
  losses: {
    ce: crossEntropy(),
  },
  optimizer: adamw(),
  schedule: poly(),
  evaluation: evaluation(),
  run: runSettings(),
});

export default extend(sourceOnly, cpuScale);
