/**
 * The video benchmark on the embedded data: SynthCity sequences, game → real, as VIPER →
 * Cityscapes-Seq is at paper scale (a game engine's driving sequences to real ones). The images
 * are the CPU-scale recipe's (`experiments/cpu_scale.ts`); only the datasets become sequences and
 * the protocol VIPER's 15 classes. Not an experiment: the video experiments extend their image
 * counterparts with it, so `deno task diff experiments/daformer.ts experiments/video/daformer.ts`
 * shows exactly the change of data.
 *
 * Scaled, one line each:
 * - training: 70 sequences of 30 frames per domain, 70 × 29 = 2030 frames with a frame t−1, as the
 *   image benchmark's 2000 images;
 * - validation: 5 target sequences of 21 frames (100 frames with a pair) and 5 source sequences of
 *   11 (50), as the image benchmark's 100 and 50.
 */
import { type ExperimentPatch, synthCitySequence } from "../../dsl/mod.ts";
import { cpuEvalImages, cpuTrainImages } from "../cpu_scale.ts";

/** SynthCity sequences in place of SynthCity images, evaluated on VIPER's 15 classes. */
export const synthCityVideo: ExperimentPatch = {
  data: {
    source: synthCitySequence({ domain: "game", sequences: 70, seed: 0, ...cpuTrainImages }),
    // The ratio check would read target labels.
    target: synthCitySequence({
      domain: "real",
      sequences: 70,
      seed: 1,
      catMaxRatio: 1,
      ...cpuTrainImages,
    }),
    targetVal: synthCitySequence({
      domain: "real",
      sequences: 5,
      frames: 21,
      seed: 1000,
      ...cpuEvalImages,
    }),
    sourceVal: synthCitySequence({
      domain: "game",
      sequences: 5,
      frames: 11,
      seed: 1001,
      ...cpuEvalImages,
    }),
  },
  evaluation: { protocol: "15" },
};
