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
import { extend } from "../dsl/mod.ts";
import sourceOnly from "./source_only.ts";

/**
 * Source-only training on the `randomized` domain from random weights, longer: so
 * `deno task diff experiments/source_only.ts experiments/pretrain.ts` shows what pretraining is.
 * (`source_only.ts` names this file only as a string, so the imports do not form a cycle.)
 */
export default extend(sourceOnly, {
  model: { encoder: { pretrained: "" } },
  data: {
    source: { domain: "randomized", count: 4000, seed: 7 },
    // The target is never read in training (no term uses it); every experiment names one.
    sourceVal: { domain: "randomized", seed: 1002 },
  },
  // The rate this pretraining was tuned with; the CPU-scale 2e-3 is tuned for fine-tuning.
  optimizer: { lr: 6e-4 },
  evaluation: { every: 500 },
  run: { iterations: 1000 },
});
