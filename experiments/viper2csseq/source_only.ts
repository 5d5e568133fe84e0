/**
 * Source-only VIPER → Cityscapes-Seq at paper scale, the floor of the video table:
 * `experiments/source_only.ts` trained on VIPER's labelled sequences and evaluated per frame on
 * Cityscapes-Seq's labelled val frames under the 15-class protocol (road, sidewalk, building,
 * fence, light, sign, vegetation, terrain, sky, person, car, truck, bus, motorcycle, bicycle;
 * `docs/pipapp.md`), with DAFormer's paper-scale recipe less its self-training (MiT-B5 from the
 * ImageNet weights, a 256-wide DAFormer head, 512² crops, batch 2, AdamW 6e-5, 40 000 iterations;
 * the values of `experiments/gta2cs/daformer.ts`, so `deno task diff` from here to `./daformer.ts`
 * prints DAFormer only).
 *
 * Published: the video-UDA tables' Source-only row is 37.1 mIoU on these 15 classes
 * (`shared/reference/pipa_cluda.md` §4, the UDASS README); that row comes from the DA-VSN-era
 * baselines, not from MiT-B5, so it places this run rather than being its target.
 *
 * Data (layouts in `docs/pipapp.md`): VIPER under `data/viper` (`train/img`, `train/cls`; frame
 * t paired with the next frame, offset −1, as UnifiedVideoDA's VIPER source), Cityscapes-Seq
 * unpacked into `data/cityscapes` (`leftImg8bit_sequence/`, beside the image dataset's `gtFine/`;
 * frame t with t−1), and the official `mit_b5` weights converted to safetensors
 * (`docs/weights.md`). `deno task show` and `plan` need none of them.
 *
 * @module
 */
import {
  cityscapesSeq,
  daformerHead,
  type ExperimentPatch,
  extend,
  mit,
  off,
  poly,
  runSettings,
  viperSeq,
} from "../../dsl/mod.ts";
import sourceOnly from "../source_only.ts";

/**
 * The paper-scale recipe of a source-only run: `experiments/gta2cs/daformer.ts`'s model, loader,
 * optimiser, schedule, evaluation and run settings, without its self-training.
 */
export const paperSourceOnly: ExperimentPatch = {
  model: {
    encoder: mit({ variant: "b5", pretrained: "pretrained/mit_b5.safetensors" }),
    decoder: daformerHead({ channels: 256 }),
  },
  data: { sourceVal: off, loader: { batchSize: 2, workers: 4 } },
  optimizer: { lr: 6e-5 },
  schedule: poly({ warmupIters: 1500 }),
  evaluation: { every: 4000, pictures: 8 },
  run: runSettings({ iterations: 40000, logEvery: 50, checkpointEvery: 2000 }),
};

/**
 * VIPER → Cityscapes-Seq's data: VIPER frames paired with the next one (offset −1, as
 * UnifiedVideoDA's source; the pair only matters to a term that reads the source's previous
 * frame), Resize(1280, 720) and 512² crops with the ratio check 0.75; Cityscapes-Seq's labelled
 * frames paired with the previous one (offset 1), Resize(1024, 512), 512² crops, evaluated whole
 * at 1024×512; the 15-class protocol.
 */
export const viperToCityscapesSeq: ExperimentPatch = {
  data: {
    source: viperSeq({ root: "data/viper", split: "train", offset: -1, crop: [512, 512] }),
    target: cityscapesSeq({ root: "data/cityscapes", split: "train", crop: [512, 512] }),
    targetVal: cityscapesSeq({ root: "data/cityscapes", split: "val" }),
  },
  evaluation: { protocol: "15" },
};

export default extend(extend(sourceOnly, paperSourceOnly), viperToCityscapesSeq);
