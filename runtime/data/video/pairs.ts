/**
 * The frame-pair dataset interface: a segmentation dataset of frames t (its `get(i)` is frame t's
 * image and label, so samplers, class statistics and the data workers use it as any dataset)
 * that also gives, by `getPair(i)`, the previous frame t−k and the flow between them. The offset
 * k is a parameter of the dataset. Flow follows `runtime/data/synthcity/flow.ts`: backward,
 * t → t−k, pixels, float32 interleaved H×W×2, with a validity mask.
 *
 * @module
 */
import type { DatasetEntry, NamedExample, SegmentationDataset } from "../dataset.ts";

/** Frame t−k of a pair. */
export interface PreviousFrame {
  /** RGB, H×W×3, the size of frame t. */
  image: Uint8Array;
  /** Name shown in errors and reports. */
  name: string;
}

/** One example of a frame-pair dataset. */
export interface FramePair extends NamedExample {
  /** The offset k: `previous` is frame t−k. */
  offset: number;
  /** Frame t−k. */
  previous: PreviousFrame;
  /** Backward flow t → t−k, (dx, dy) pixels interleaved H×W×2, when the dataset has flow. */
  flow?: Float32Array;
  /** 1 where `flow` is valid (visible in frame t−k), H×W; present with `flow`. */
  flowValid?: Uint8Array;
}

/** A file-based pair: frame t's entry plus the files of frame t−k and of the flow. */
export interface FramePairEntry extends DatasetEntry {
  /** Path of frame t−k's image. */
  previous: string;
  /** Name of frame t−k (its path relative to the root). */
  previousName: string;
  /** Path of the `.flo` file of flow t → t−k, when flow is attached. */
  flow?: string;
}

/** A segmentation dataset of frames t, each paired with frame t−k. */
export interface FramePairDataset extends SegmentationDataset {
  /** The offset k between the frames of a pair (`previous` is frame t−k; k < 0: a later frame). */
  readonly offset: number;
  /** Whether `getPair` returns flow. */
  readonly hasFlow: boolean;
  /** The pairs, for file-based datasets. */
  readonly entries?: readonly FramePairEntry[];
  /** Frame t of example `index` with frame t−k and, when `hasFlow`, the flow. */
  getPair(index: number): Promise<FramePair>;
}

/**
 * Fails unless `offset` is a nonzero integer: k > 0 pairs frame t with the earlier frame t−k (as
 * DA-VSN and TPS do with k = 1), k < 0 with the later frame t + |k| (UnifiedVideoDA's VIPER source
 * uses the next frame); k = 0 would pair a frame with itself.
 */
export function checkOffset(offset: number, what: string): number {
  if (!(Number.isInteger(offset) && offset !== 0)) {
    throw new RangeError(
      `${what}: the frame offset k must be a nonzero integer (frame t pairs with t−k), got ` +
        `${offset}.`,
    );
  }
  return offset;
}
