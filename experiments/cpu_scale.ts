/**
 * The CPU-scale benchmark recipe, in one place: every SynthCity experiment extends this patch, so
 * changing the benchmark's scale is one edit here, and `deno task diff` between two methods shows
 * scale lines only where a method changes scale itself (as HRDA's detail crops do).
 *
 * What it fixes, and why (measured in `docs/benchmark.md`):
 * - Half-resolution images (256×128) and 128×128 crops, with SynthCity's scene version 2, whose
 *   small classes are large and frequent enough to be learnt at this size.
 * - MiT-nano with a 64-wide decoder and 600 iterations of batch 2 (50 of warm-up, evaluated every
 *   200): what lets a DAFormer run, whose step costs about three source-only steps, finish within
 *   about 15 minutes on 2 cores.
 * - Base learning rate 2e-3 rather than the published 6e-5 (the head still gets ×10): that rate is
 *   tuned for ImageNet MiT-B5 over 40k iterations. With 600 iterations the small classes are
 *   learnt only while the rate is high; 6e-4, the previous value here, leaves several of them near
 *   0 IoU (`sweeps/benchmark_learnability.ts`, its `lr_6e-4` row in `docs/benchmark.md`).
 *
 * `experiments/source_only.ts` applies it (and builds its datasets from the same image sizes, since
 * an experiment must be valid before a patch applies); everything that extends it inherits it.
 */
import type { ExperimentPatch } from "../dsl/mod.ts";

/** Training images: SynthCity scene version 2, resized to 256×128, cropped to 128². */
export const cpuTrainImages = { version: 2, scale: [256, 128], crop: [128, 128] } as const;
/** Evaluated images: whole, at 256×128. */
export const cpuEvalImages = { version: 2, scale: [256, 128] } as const;

/** The benchmark's scale: resolution, crops, model size, iterations and schedule. */
export const cpuScale: ExperimentPatch = {
  model: { encoder: { variant: "nano" }, decoder: { channels: 64 } },
  data: {
    source: cpuTrainImages,
    target: cpuTrainImages,
    targetVal: cpuEvalImages,
    sourceVal: cpuEvalImages,
    loader: { batchSize: 2, workers: 1 },
  },
  optimizer: { lr: 2e-3 },
  schedule: { warmupIters: 50 },
  evaluation: { every: 200, pictures: 4 },
  run: { iterations: 600, logEvery: 10, checkpointEvery: 100 },
};

/** HRDA's training images: twice the resolution, crops of twice the side (`cpuHighResolution`). */
export const cpuHighResolutionTrainImages = { scale: [512, 256], crop: [256, 256] } as const;

/**
 * The benchmark at twice the resolution, for methods whose point is resolution (HRDA): 512×256
 * images and 256² crops, as HRDA trains on full-resolution Cityscapes (2048×1024, 1024² crops)
 * where DAFormer used half (1024×512, 512² crops). Evaluated at 512×256.
 */
export const cpuHighResolution: ExperimentPatch = {
  data: {
    source: cpuHighResolutionTrainImages,
    target: cpuHighResolutionTrainImages,
    targetVal: { scale: [512, 256] },
    sourceVal: { scale: [512, 256] },
  },
};
