/**
 * SYNTHIA-RAND-CITYSCAPES, the synthetic source of SYNTHIA→Cityscapes.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { pair, text } from "../schema.ts";
import { type FolderDatasetParams, PIPELINE } from "./dataset_fields.ts";

/** A {@linkcode synthia} block. */
export type SynthiaBlock = Block<"synthia", FolderDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** SYNTHIA-RAND-CITYSCAPES. */
    synthia: SynthiaBlock;
  }
}

/** SYNTHIA-RAND-CITYSCAPES: `RGB/*.png`, `GT/LABELS/*.png` (SYNTHIA ids). */
export const synthia = defineBlock<"synthia", FolderDatasetParams>({
  kind: "synthia",
  family: "dataset",
  summary: "SYNTHIA-RAND-CITYSCAPES (9,400 images, 1280×760)",
  schema: {
    root: text("data/synthia"),
    split: text("all"),
    ...PIPELINE,
    scale: pair([1280, 760], 0),
  },
});
