/**
 * GTA5 (Richter et al. 2016), the synthetic source of GTA→Cityscapes.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { pair, text } from "../schema.ts";
import { type FolderDatasetParams, PIPELINE } from "./dataset_fields.ts";

/** A {@linkcode gta5} block. */
export type Gta5Block = Block<"gta5", FolderDatasetParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** GTA5. */
    gta5: Gta5Block;
  }
}

/** GTA5 (Richter et al. 2016): `images/*.png`, `labels/*.png` (Cityscapes ids). */
export const gta5 = defineBlock<"gta5", FolderDatasetParams>({
  kind: "gta5",
  family: "dataset",
  summary: "GTA5 (24,966 images, 1914×1052)",
  schema: { root: text("data/gta"), split: text("all"), ...PIPELINE, scale: pair([1280, 720], 0) },
});
