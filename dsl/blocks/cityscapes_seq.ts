/**
 * Cityscapes-Seq, the real target of the video benchmarks (VIPER → Cityscapes-Seq, SYNTHIA-Seq →
 * Cityscapes-Seq; DA-VSN, TPS, UnifiedVideoDA): Cityscapes' 30-frame snippets, each labelled on
 * its 20th frame, read as frame pairs (`runtime/data/video/readers.ts`, `docs/pipapp.md`).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { num, pair, text } from "../schema.ts";
import type { Issue } from "../issues.ts";
import {
  checkSequenceOffset,
  PIPELINE,
  SEQUENCE,
  type SequenceDatasetParams,
} from "./dataset_fields.ts";

/** A {@linkcode cityscapesSeq} block. */
export type CityscapesSeqBlock = Block<"cityscapesSeq", SequenceDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** Cityscapes-Seq. */
    cityscapesSeq: CityscapesSeqBlock;
  }
}

/**
 * Cityscapes-Seq: `leftImg8bit_sequence/<split>/...` frames, the `gtFine` label of each snippet's
 * 20th frame. `root` is the Cityscapes folder the sequence archive was unpacked into (its
 * `gtFine/` is the image dataset's); scale 1024×512 and no ratio check, as the image
 * `cityscapes` block and UnifiedVideoDA's Cityscapes-Seq pipeline (`Resize(1024, 512)`).
 */
export const cityscapesSeq = defineBlock<"cityscapesSeq", SequenceDatasetParams>({
  kind: "cityscapesSeq",
  family: "dataset",
  summary: "Cityscapes-Seq (2,975 train / 500 val snippets of 30 frames, 2048×1024)",
  schema: {
    root: text("data/cityscapes"),
    split: text("train"),
    ...PIPELINE,
    scale: pair([1024, 512], 0),
    catMaxRatio: num(1, { min: 0, max: 1, exclusiveMin: true }),
    ...SEQUENCE,
  },
  check: (block, { path }) => {
    const issues: Issue[] = checkSequenceOffset(block, path);
    // Only 1 frame in 30 has a label: elsewhere than the unlabelled target, `all` would give
    // examples without the labels the role reads.
    if (block.frames === "all" && path !== "data.target") {
      issues.push({
        path: `${path}.frames`,
        message: `"all" includes the 29 unlabelled frames of every snippet, but ${path} reads ` +
          `labels; use "labelled" here ("all" is for data.target)`,
      });
    }
    return issues;
  },
});
