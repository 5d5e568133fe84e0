/**
 * Opens a dataset by name: the real-format readers, the video readers (Cityscapes-Seq, VIPER,
 * SYNTHIA-Seq: frame pairs with `.flo` flow), the embedded SynthCity, or its sequences (frame
 * pairs with their exact flow, `runtime/data/video/`).
 *
 * @module
 */
import type { SegmentationDataset } from "./dataset.ts";
import { openCityscapes, openGta5, openSynthia } from "./readers/datasets.ts";
import { type Domain, openSynthCity } from "./synthcity/mod.ts";
import { openSynthCitySequence } from "./video/synthcity.ts";
import { openCityscapesSeq, openViperSeq, type SequenceReaderOptions } from "./video/readers.ts";
import { openSynthiaSeq } from "./video/synthia_seq.ts";

/** Dataset names `openDataset` understands. */
export const DATASET_NAMES = [
  "cityscapes",
  "gta5",
  "synthia",
  "synthcity",
  "synthcitySequence",
  "cityscapesSeq",
  "viperSeq",
  "synthiaSeq",
] as const;

/** The video readers' options a request carries (`runtime/data/video/readers.ts`). */
export interface SequenceReaderRequest {
  /** The offset k: frame t pairs with frame t−k (default 1). */
  offset?: number;
  /** `labelled` (default): the labelled frames; `all`: every frame with a frame t−k. */
  frames?: "labelled" | "all";
  /** A folder of `.flo` files of the flow t → t−k (unset: no flow). */
  flowRoot?: string;
}

/** Which dataset to open, as the command line gives it. */
export interface DatasetRequest {
  /** One of {@linkcode DATASET_NAMES}. */
  dataset: string;
  /** Root folder (real datasets). */
  root?: string;
  /** Split (Cityscapes: train or val). */
  split: string;
  /** SynthCity domain. */
  domain: string;
  /** SynthCity image count. */
  count: number;
  /** SynthCity seed. */
  seed: number;
  /** SynthCity scene version (default the latest). */
  version?: number;
  /** SynthCity sequences: how many sequences, frames per sequence and the pair offset k. */
  sequence?: { sequences: number; frames: number; offset: number };
  /** The video readers (`cityscapesSeq`, `viperSeq`, `synthiaSeq`): offset, frames and flow. */
  sequenceReader?: SequenceReaderRequest;
  /**
   * Whether a label value outside the dataset's ids (a Cityscapes `labelIds` 99) is an error
   * rather than a warning; unset: the process default (`setStrictLabels`, `--strict-labels`).
   * It decides only whether to stop: the values read are the same either way.
   */
  strictLabels?: boolean;
  /**
   * Where the request comes from in an experiment, as the block's dotted path (`data.targetVal`):
   * messages then name its fields (`data.targetVal.root`) instead of the data command's flags.
   */
  field?: string;
}

/** An error in what the user asked for (exit code 2 at the command line). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Opens the requested dataset. */
export async function openDataset(request: DatasetRequest): Promise<SegmentationDataset> {
  if (request.dataset === "synthcity") {
    return openSynthCity({
      domain: request.domain as Domain,
      count: request.count,
      seed: request.seed,
      version: request.version,
    });
  }
  if (request.dataset === "synthcitySequence") {
    if (request.sequence === undefined) {
      throw new UsageError("synthcitySequence needs its sequences, frames and offset.");
    }
    return openSynthCitySequence({
      domain: request.domain as Domain,
      ...request.sequence,
      seed: request.seed,
      version: request.version,
    });
  }
  if (!(DATASET_NAMES as readonly string[]).includes(request.dataset)) {
    throw new UsageError(
      `unknown dataset '${request.dataset}'; choose one of ${DATASET_NAMES.join(", ")}.`,
    );
  }
  if (request.root === undefined) {
    const flag = request.field === undefined ? "--root" : `${request.field}.root`;
    throw new UsageError(`${flag} is required for ${request.dataset}.`);
  }
  const options = { strictLabels: request.strictLabels, field: request.field };
  const reader: SequenceReaderOptions = { ...options, ...request.sequenceReader };
  if (request.dataset === "cityscapesSeq") {
    return await openCityscapesSeq(request.root, request.split, reader);
  }
  if (request.dataset === "viperSeq") {
    return await openViperSeq(request.root, request.split, reader);
  }
  if (request.dataset === "synthiaSeq") return await openSynthiaSeq(request.root, reader);
  if (request.dataset === "cityscapes") {
    return await openCityscapes(request.root, request.split, "auto", options);
  }
  if (request.dataset === "gta5") return await openGta5(request.root, options);
  return await openSynthia(request.root, options);
}
