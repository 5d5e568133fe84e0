/**
 * Source-only training: SynthCity `game` (labelled) → evaluated on SynthCity `real`.
 *
 * CPU scale: half-resolution images (256×128), 128×128 crops, MiT-nano with a 64-wide DAFormer
 * head for 600 iterations, which takes about 6 minutes on 2 cores with the wasm backend. As in
 * DAFormer, the encoder starts from pretrained weights: ours come from `experiments/pretrain.ts`
 * (ImageNet weights cannot be downloaded here), trained once on first use. The published 6e-5 is
 * tuned for ImageNet MiT-B5 over 40k iterations and is far too small for 600 iterations of a
 * small encoder, so the base rate is 6e-4 (the head still gets ×10) with a short warm-up;
 * everything else is DAFormer's recipe (AdamW, poly decay, batch 2, cat_max_ratio 0.75).
 *
 * `experiments/daformer.ts` extends this file, so `deno task diff experiments/source_only.ts
 * experiments/daformer.ts` shows exactly what DAFormer adds.
 */
import {
  adamw,
  crossEntropy,
  daformerHead,
  evaluation,
  experiment,
  loader,
  mit,
  poly,
  runSettings,
  segmentor,
  synthCity,
} from "../dsl/mod.ts";

const halfResolution = { scale: [256, 128], crop: [128, 128] } as const;

export default experiment({
  model: segmentor({
    encoder: mit({ variant: "nano", pretrained: "experiments/pretrain.ts" }),
    decoder: daformerHead({ channels: 64 }),
  }),
  data: {
    source: synthCity({ domain: "game", count: 2000, seed: 0, ...halfResolution }),
    target: synthCity({
      domain: "real",
      count: 2000,
      seed: 1,
      catMaxRatio: 1, // the ratio check would read target labels
      ...halfResolution,
    }),
    targetVal: synthCity({ domain: "real", count: 100, seed: 1000, scale: [256, 128] }),
    sourceVal: synthCity({ domain: "game", count: 50, seed: 1001, scale: [256, 128] }),
    loader: loader({ batchSize: 2, workers: 1 }),
  },
  losses: {
    ce: crossEntropy(),
  },
  optimizer: adamw({ lr: 6e-4 }),
  schedule: poly({ warmupIters: 50 }),
  evaluation: evaluation({ every: 200, pictures: 4 }),
  run: runSettings({ iterations: 600, logEvery: 10, checkpointEvery: 100 }),
});
