/**
 * Dataset blocks: where images come from and how a training crop is made from them. Each block
 * carries the published pipeline of its role (`shared/reference/daformer_hrda_mic.md` §1.4):
 * keep-ratio resize to `scale`, random crop `crop` with the category-ratio retry, flip.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, oneOf, pair, text } from "../schema.ts";

/** SynthCity rendering domains. */
export const SYNTHCITY_DOMAINS = ["game", "real", "synthia", "randomized"] as const;

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

const PIPELINE = {
  scale: pair([0, 0], 0),
  crop: pair([512, 512], 32, 32),
  catMaxRatio: num(0.75, { min: 0, max: 1, exclusiveMin: true }),
  flip: num(0.5, { min: 0, max: 1 }),
} as const;

/** Parameters of {@linkcode synthCity}. */
export interface SynthCityParams extends PipelineParams {
  /** Rendering domain: `game` (GTA-like source), `real` (Cityscapes-like target), `synthia`, `randomized` (a new style per image: the pretraining task). */
  domain: (typeof SYNTHCITY_DOMAINS)[number];
  /** Number of distinct images (indices wrap around). */
  count: number;
  /** Scene seed; use different seeds for training and validation sets. */
  seed: number;
}

/** The embedded procedural two-domain benchmark (see `docs/synthcity.md`). */
export const synthCity = defineBlock<"synthCity", SynthCityParams>({
  kind: "synthCity",
  family: "dataset",
  summary: "embedded procedural benchmark (512×256 images)",
  schema: {
    domain: oneOf(SYNTHCITY_DOMAINS, "game"),
    count: int(500, 1),
    seed: int(0),
    ...PIPELINE,
  },
});

/** Parameters of the real-dataset blocks. */
export interface FolderDatasetParams extends PipelineParams {
  /** Dataset root folder, in the official layout (see `docs/datasets.md`). */
  root: string;
  /** Split (Cityscapes `train`/`val`; GTA5 and SYNTHIA have one). */
  split: string;
}

/** GTA5 (Richter et al. 2016): `images/*.png`, `labels/*.png` (Cityscapes ids). */
export const gta5 = defineBlock<"gta5", FolderDatasetParams>({
  kind: "gta5",
  family: "dataset",
  summary: "GTA5 (24,966 images, 1914×1052)",
  schema: { root: text("data/gta"), split: text("all"), ...PIPELINE, scale: pair([1280, 720], 0) },
});

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

/** Dataset blocks. */
export type DatasetBlock =
  | Block<"synthCity", SynthCityParams>
  | Block<"gta5", FolderDatasetParams>
  | Block<"synthia", FolderDatasetParams>
  | Block<"cityscapes", FolderDatasetParams>;

/** Parameters of {@linkcode loader}. */
export interface LoaderParams {
  /** Images per domain per step (2 source + 2 target published, §1.4). */
  batchSize: number;
  /** Data worker threads (0 = inline on the training thread). */
  workers: number;
}

/** Batching and prefetching. */
export const loader = defineBlock<"loader", LoaderParams>({
  kind: "loader",
  family: "loader",
  summary: "batching and prefetching",
  schema: { batchSize: int(2, 1), workers: int(1, 0, 16) },
});

/** The loader block. */
export type LoaderBlock = Block<"loader", LoaderParams>;
