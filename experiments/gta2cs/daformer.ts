/**
 * DAFormer GTA5 → Cityscapes at paper scale, the variant that targets the published number
 * (Hoyer et al., CVPR 2022, Table 1: 68.3 mIoU): that number came from the released code, which
 * pools the pseudo-label confidence over the batch (`confidence: "batch"`) and draws ClassMix
 * classes from the whole source batch (`classPool: "batch"`), where the paper describes
 * per-image versions (`daformer_paper.ts` is that variant). Otherwise `experiments/daformer.ts`
 * with the real datasets, MiT-B5 from ImageNet weights, 512×512 crops and the published schedule
 * (`shared/reference/daformer_hrda_mic.md` §1.4). It needs the datasets under `data/`
 * (docs/datasets.md) and the official `mit_b5` weights converted to safetensors
 * (docs/weights.md); `deno task plan` shows it without either.
 */
import {
  cityscapes,
  daformerHead,
  extend,
  gta5,
  mit,
  off,
  poly,
  runSettings,
} from "../../dsl/mod.ts";
import daformer from "../daformer.ts";

export default extend(daformer, {
  model: {
    encoder: mit({ variant: "b5", pretrained: "pretrained/mit_b5.safetensors" }),
    decoder: daformerHead({ channels: 256 }),
  },
  data: {
    // GTA: Resize(1280, 720) keep-ratio, RandomCrop 512² with cat_max_ratio 0.75, flip 0.5.
    source: gta5({ root: "data/gta", crop: [512, 512] }),
    // Cityscapes: Resize(1024, 512), RandomCrop 512², flip 0.5; evaluated whole at 1024×512.
    target: cityscapes({ root: "data/cityscapes", split: "train", crop: [512, 512] }),
    targetVal: cityscapes({ root: "data/cityscapes", split: "val" }),
    sourceVal: off,
    sampling: { pixelScale: 1 },
    loader: { batchSize: 2, workers: 4 },
  },
  // The released `dacs.py` (§2.1 step 5, §2.2), which produced the published 68.3.
  teacher: { alpha: 0.999, confidence: "batch" },
  mixing: { classPool: "batch" },
  optimizer: { lr: 6e-5 },
  schedule: poly({ warmupIters: 1500 }),
  evaluation: { every: 4000, pictures: 8 },
  run: runSettings({ iterations: 40000, logEvery: 50, checkpointEvery: 2000 }),
});
