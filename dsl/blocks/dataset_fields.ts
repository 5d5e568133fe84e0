/**
 * Fields every dataset block shares: the published pipeline of its role
 * (`shared/reference/daformer_hrda_mic.md` §1.4): keep-ratio resize to `scale`, random crop
 * `crop` with the category-ratio retry, flip; and the fields the video readers' blocks add (the
 * pair offset, the flow folder, which frames). Not a block: the dataset block files spread these.
 *
 * @module
 */
import type { Issue } from "../issues.ts";
import { int, num, oneOf, pair, text } from "../schema.ts";

/** The encoder's output stride: crops (and evaluated images) must be multiples of it. */
export const ENCODER_STRIDE = 32;

/** Pipeline fields every dataset block shares. */
export interface PipelineParams {
  /**
   * mmseg `img_scale` `[long, short]` of the keep-ratio resize applied before cropping and at
   * evaluation: the image is scaled so that its long side ≤ long and its short side ≤ short.
   * `[0, 0]` keeps the native size.
   */
  scale: readonly [number, number];
  /** Training crop `[height, width]` (512×512 published, §1.4); multiples of the stride 32. */
  crop: readonly [number, number];
  /** `cat_max_ratio`: re-draw a crop up to 10 times while one class covers more (0.75 source). */
  catMaxRatio: number;
  /** Horizontal-flip probability (0.5). */
  flip: number;
}

/** The pipeline fields' schema with the published defaults. */
export const PIPELINE = {
  scale: pair([0, 0], 0),
  crop: pair([512, 512], ENCODER_STRIDE, ENCODER_STRIDE),
  catMaxRatio: num(0.75, { min: 0, max: 1, exclusiveMin: true }),
  flip: num(0.5, { min: 0, max: 1 }),
} as const;

/** Parameters of the real-dataset blocks (folders in the official layout). */
export interface FolderDatasetParams extends PipelineParams {
  /** Dataset root folder, in the official layout (see `docs/datasets.md`). */
  root: string;
  /** Split (Cityscapes `train`/`val`; GTA5 and SYNTHIA have one). */
  split: string;
}

/** Which frames of a video dataset are examples: the labelled ones, or every frame with a pair. */
export const SEQUENCE_FRAMES = ["labelled", "all"] as const;

/** Parameters of the video-dataset blocks (frame pairs read from the official layouts). */
export interface SequenceDatasetParams extends FolderDatasetParams {
  /**
   * The offset k of a pair (frame t with frame t−k): 1, the previous frame, as DA-VSN and TPS
   * pair frames; negative pairs with a later frame (UnifiedVideoDA's VIPER source, −1).
   */
  offset: number;
  /**
   * A folder of `.flo` files of the flow t → t−k mirroring the split's image folder
   * (`runtime/data/video/file_pairs.ts`), as FlowNet2 writes them; "" = no flow.
   */
  flowRoot: string;
  /**
   * `labelled` (default): the frames with a label file are the examples; `all`: every frame with
   * a frame t−k, labelled or not (an unlabelled target's whole sequences).
   */
  frames: (typeof SEQUENCE_FRAMES)[number];
}

/** The video-dataset fields' schema (offset 1, no flow, the labelled frames). */
export const SEQUENCE = {
  offset: int(1, -1000, 1000),
  flowRoot: text(""),
  frames: oneOf(SEQUENCE_FRAMES, "labelled"),
} as const;

/** A zero offset would pair a frame with itself. */
export function checkSequenceOffset(block: SequenceDatasetParams, path: string): Issue[] {
  if (block.offset !== 0) return [];
  return [{
    path: `${path}.offset`,
    message: "the offset k pairs frame t with frame t−k, so it must be nonzero (1: the previous " +
      "frame, −1: the next)",
  }];
}
