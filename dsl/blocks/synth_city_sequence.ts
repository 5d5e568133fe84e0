/**
 * SynthCity sequences: consecutive frames of the embedded benchmark's scenes (ego-motion, moving
 * objects), each frame t paired with frame t−k and the exact optical flow between them
 * (`runtime/data/video/`, `docs/pipapp.md`). As a dataset block it reads like `synthCity` (its
 * frames are the images); a video module that reads the previous frame asks its loader for the
 * pairs.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, oneOf } from "../schema.ts";
import type { Issue } from "../issues.ts";
import { PIPELINE, type PipelineParams } from "./dataset_fields.ts";
import { checkSynthCitySizes, SYNTHCITY_DOMAINS } from "./synth_city.ts";

/** Parameters of {@linkcode synthCitySequence}. */
export interface SynthCitySequenceParams extends PipelineParams {
  /** Rendering domain (`game` source, `real` target, ...). */
  domain: (typeof SYNTHCITY_DOMAINS)[number];
  /** Number of sequences (scenes). */
  sequences: number;
  /** Frames per sequence (30: a Cityscapes-Seq snippet). */
  frames: number;
  /**
   * The offset k of a pair (frame t with frame t−k): 1, the previous frame, as DA-VSN and TPS
   * pair Cityscapes-Seq frames; negative pairs with a later frame.
   */
  offset: number;
  /** Scene seed; use different seeds for training and validation sets. */
  seed: number;
  /** Scene version (2, the benchmark geometry; 1 the first generator). */
  version: number;
}

/** A {@linkcode synthCitySequence} block. */
export type SynthCitySequenceBlock = Block<"synthCitySequence", SynthCitySequenceParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** SynthCity sequences, frames paired with their flow. */
    synthCitySequence: SynthCitySequenceBlock;
  }
}

/** SynthCity sequences: frame t, frame t−k and the exact flow between them. */
export const synthCitySequence = defineBlock<"synthCitySequence", SynthCitySequenceParams>({
  kind: "synthCitySequence",
  family: "dataset",
  summary: "SynthCity sequences (frame pairs with exact optical flow, 512×256)",
  schema: {
    domain: oneOf(SYNTHCITY_DOMAINS, "real"),
    sequences: int(20, 1),
    frames: int(30, 2),
    offset: int(1, -1000, 1000),
    seed: int(0),
    version: int(2, 1, 2),
    ...PIPELINE,
  },
  check: (block, { path }) => {
    const issues: Issue[] = checkSynthCitySizes(block, path);
    if (block.offset === 0 || Math.abs(block.offset) >= block.frames) {
      issues.push({
        path: `${path}.offset`,
        message: `the offset k pairs frame t with frame t−k, so it must be nonzero and smaller ` +
          `than frames (${block.frames}) in size; got ${block.offset}`,
      });
    }
    return issues;
  },
});
