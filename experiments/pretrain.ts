/**
 * Encoder pretraining: our stand-in for ImageNet weights, which cannot be downloaded here.
 *
 * DAFormer starts its student from ImageNet MiT weights and keeps a frozen copy of them for the
 * feature distance. ImageNet is a task distinct from both GTA and Cityscapes; so is this one:
 * segmentation of SynthCity's `randomized` domain, whose palette, textures, lighting, noise, blur
 * and tone are drawn afresh for every image, so classes must be recognised by shape and context
 * rather than by colour. Neither training domain (`game`, `real`) is seen.
 *
 * Other experiments name this file as their weights (`model.encoder.pretrained:
 * "experiments/pretrain.ts"`); `deno task run` trains it once into `runs/pretrain/` and then
 * reuses that run's `weights.safetensors` (encoder keys only are loaded). A user with the
 * official ImageNet MiT weights names their safetensors file instead.
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
    encoder: mit({ variant: "nano" }),
    decoder: daformerHead({ channels: 64 }),
  }),
  data: {
    source: synthCity({ domain: "randomized", count: 4000, seed: 7, ...halfResolution }),
    // Never read in training (no term uses it); kept because every experiment names a target.
    target: synthCity({
      domain: "real",
      count: 2000,
      seed: 1,
      catMaxRatio: 1, // the ratio check would read target labels
      ...halfResolution,
    }),
    targetVal: synthCity({ domain: "real", count: 100, seed: 1000, scale: [256, 128] }),
    sourceVal: synthCity({ domain: "randomized", count: 50, seed: 1002, scale: [256, 128] }),
    loader: loader({ batchSize: 2, workers: 1 }),
  },
  losses: {
    ce: crossEntropy(),
  },
  optimizer: adamw({ lr: 6e-4 }),
  schedule: poly({ warmupIters: 50 }),
  evaluation: evaluation({ every: 500, pictures: 4 }),
  run: runSettings({ iterations: 1000, logEvery: 10, checkpointEvery: 100 }),
});
