/**
 * Cityscapes, the real target (and its validation set) of both benchmarks.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { num, pair, text } from "../schema.ts";
import { type FolderDatasetParams, PIPELINE } from "./dataset_fields.ts";

/** A {@linkcode cityscapes} block. */
export type CityscapesBlock = Block<"cityscapes", FolderDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** Cityscapes. */
    cityscapes: CityscapesBlock;
  }
}

/** Cityscapes: `leftImg8bit/<split>/...`, `gtFine/<split>/..._labelTrainIds.png`. */
export const cityscapes = defineBlock<"cityscapes", FolderDatasetParams>({
  kind: "cityscapes",
  family: "dataset",
  summary: "Cityscapes (2,975 train / 500 val, 2048×1024)",
  schema: {
    root: text("data/cityscapes"),
    split: text("train"),
    ...PIPELINE,
    scale: pair([1024, 512], 0),
    catMaxRatio: num(1, { min: 0, max: 1, exclusiveMin: true }),
  },
});
