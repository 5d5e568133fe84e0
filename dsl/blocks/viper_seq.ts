/**
 * VIPER (Richter et al., "Playing for Benchmarks", ICCV 2017), the game-engine video source of
 * VIPER → Cityscapes-Seq: driving sequences labelled on every frame, read as frame pairs with
 * VIPER's ids mapped to the train classes (`runtime/data/video/viper_labels.ts`).
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

/** A {@linkcode viperSeq} block. */
export type ViperSeqBlock = Block<"viperSeq", SequenceDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** VIPER. */
    viperSeq: ViperSeqBlock;
  }
}

/**
 * VIPER: `<split>/img/<seq>/<seq>_<frame>.jpg` (or `.png`) frames with `<split>/cls/` labels.
 * Resized to 1280×720 with the source's ratio check 0.75, as UnifiedVideoDA's VIPER pipeline
 * (`Resize(1280, 720)`, `cat_max_ratio=0.75`; GTA5's, whose frames are the same size).
 */
export const viperSeq = defineBlock<"viperSeq", SequenceDatasetParams>({
  kind: "viperSeq",
  family: "dataset",
  summary: "VIPER (game-engine driving sequences, 1920×1080, every frame labelled)",
  schema: {
    root: text("data/viper"),
    split: text("train"),
    ...PIPELINE,
    scale: pair([1280, 720], 0),
    ...SEQUENCE,
  },
  check: (block, { path }) => checkSequenceOffset(block, path),
});
