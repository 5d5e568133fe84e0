/**
 * The dataset interface every reader and the SynthCity generator implement. It is the `Source`
 * the data workers load, so any dataset can be prefetched.
 *
 * @module
 */
import type { Example } from "./transforms/geometry.ts";
import type { Source } from "./prefetch/protocol.ts";

/** An example with the name errors and reports use (its file, or its generator id). */
export type NamedExample = Example & { name: string };

/** One entry of a file-based dataset. */
export interface DatasetEntry {
  /** Name shown in errors and reports (the image file's path relative to the root). */
  name: string;
  /** Path of the RGB image. */
  image: string;
  /** Path of the label file, when the dataset is labelled. */
  label?: string;
}

/** A segmentation dataset: a sized, indexable source of examples labelled with trainIds. */
export interface SegmentationDataset extends Source {
  /** Dataset kind, e.g. `cityscapes`. */
  readonly kind: string;
  /** Where it lives (or a description for generated data). */
  readonly root: string;
  /** The split read. */
  readonly split: string;
  /** The files, for file-based datasets (label statistics are computed from these). */
  readonly entries?: readonly DatasetEntry[];
  /** Reads only the label of entry `index` (trainIds, 255 ignored) at native resolution. */
  getLabel(
    index: number,
  ): Promise<{ label: Uint8Array; width: number; height: number; name: string }>;
}
