/**
 * SYNTHIA-Seq (SYNTHIA-SEQS, Ros et al., CVPR 2016), the synthetic video source of SYNTHIA-Seq →
 * Cityscapes-Seq: one rendered sequence, `SYNTHIA-SEQS-04-DAWN` in DA-VSN, TPS and
 * UnifiedVideoDA, labelled on every frame, read as frame pairs
 * (`runtime/data/video/synthia_seq.ts`).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { pair, text } from "../schema.ts";
import {
  checkSequenceOffset,
  PIPELINE,
  SEQUENCE,
  type SequenceDatasetParams,
} from "./dataset_fields.ts";

/** A {@linkcode synthiaSeq} block. */
export type SynthiaSeqBlock = Block<"synthiaSeq", SequenceDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** SYNTHIA-Seq. */
    synthiaSeq: SynthiaSeqBlock;
  }
}

/**
 * SYNTHIA-Seq: `root` is one sequence folder, `RGB/Stereo_Left/Omni_F/*.png` with 16-bit
 * `GT/LABELS/Stereo_Left/Omni_F/*.png`. Kept at its native 1280×760 with the source's ratio check
 * 0.75, as UnifiedVideoDA's SYNTHIA-Seq pipeline (`Resize(1280, 760)`). SYNTHIA-SEQS has no
 * splits (`split` is not read, as the image `synthia` block's). DA-VSN also cuts the bottom 120
 * rows of every frame; this block does not.
 */
export const synthiaSeq = defineBlock<"synthiaSeq", SequenceDatasetParams>({
  kind: "synthiaSeq",
  family: "dataset",
  summary: "SYNTHIA-Seq (SYNTHIA-SEQS-04-DAWN: 850 frames, 1280×760, every frame labelled)",
  schema: {
    root: text("data/SYNTHIA-SEQS-04-DAWN"),
    split: text("all"),
    ...PIPELINE,
    scale: pair([1280, 760], 0),
    ...SEQUENCE,
  },
  check: (block, { path }) => checkSequenceOffset(block, path),
});
