/**
 * Batching and prefetching: the block `data.loader` holds (the default when left out).
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int } from "../schema.ts";

/** Parameters of {@linkcode loader}. */
export interface LoaderParams {
  /** Images per domain per step (2 source + 2 target published, §1.4). */
  batchSize: number;
  /** Data worker threads (0 = inline on the training thread). */
  workers: number;
}

declare module "../families.ts" {
  interface LoaderBlocks {
    /** Batching and prefetching. */
    loader: Block<"loader", LoaderParams>;
  }
}

/** Batching and prefetching. */
export const loader = defineBlock<"loader", LoaderParams>({
  kind: "loader",
  family: "loader",
  summary: "batching and prefetching",
  familyDefault: true,
  schema: { batchSize: int(2, 1), workers: int(1, 0, 16) },
});
