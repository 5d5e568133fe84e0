/**
 * Fields every dataset block shares: the published pipeline of its role
 * (`shared/reference/daformer_hrda_mic.md` §1.4): keep-ratio resize to `scale`, random crop
 * `crop` with the category-ratio retry, flip. Not a block: the dataset block files spread these.
 *
 * @module
 */
import { num, pair } from "../schema.ts";

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
