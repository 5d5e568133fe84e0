/**
 * The published data pipelines as plain data: source = resize → random crop with category-ratio
 * retry → flip → normalise; target = the same with no ratio check (`shared/reference/
 * daformer_hrda_mic.md` §1.4). A sample's randomness comes from its own stream, derived from
 * (seed, index), so the result does not depend on which worker computed it.
 *
 * @module
 */
import { RandomStream } from "../../random.ts";
import { type Example, keepRatioSize, randomCrop, randomFlip, resize } from "./geometry.ts";
import { normalize } from "./photometric.ts";

/** How a pipeline resizes before cropping. */
export type ResizeSpec =
  | { kind: "keepRatio"; maxLong: number; maxShort: number }
  | { kind: "exact"; width: number; height: number }
  | { kind: "none" };

/** A pipeline, as plain serialisable data. */
export interface PipelineSpec {
  /** Resize step (mmseg `Resize(img_scale, keep_ratio)`). */
  resize: ResizeSpec;
  /** Crop width and height (mmseg `RandomCrop(crop_size)`). */
  crop: { width: number; height: number };
  /** `cat_max_ratio`: 0.75 for labelled source data, 1 (off) for the target. */
  catMaxRatio: number;
  /** Horizontal-flip probability (0.5). */
  flip: number;
}

/** A pipeline's output: a normalised float image and, for labelled data, the label crop. */
export interface Processed {
  /** Normalised RGB, H×W×3. */
  image: Float32Array;
  /** trainIds, H×W, or undefined for unlabelled data. */
  label?: Uint8Array;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
}

/** The sample stream of index `index` under `seed`. */
export function sampleStream(seed: number, index: number): RandomStream {
  return new RandomStream(seed).fork(`sample:${index}`);
}

/** Runs the pipeline on one example with its own random stream. */
export function applyPipeline(example: Example, spec: PipelineSpec, rng: RandomStream): Processed {
  let x = example;
  if (spec.resize.kind === "keepRatio") {
    const [w, h] = keepRatioSize(x.width, x.height, spec.resize.maxLong, spec.resize.maxShort);
    x = resize(x, w, h);
  } else if (spec.resize.kind === "exact") {
    x = resize(x, spec.resize.width, spec.resize.height);
  }
  x = randomCrop(x, spec.crop.width, spec.crop.height, spec.catMaxRatio, rng);
  x = randomFlip(x, spec.flip, rng);
  return { image: normalize(x.image), label: x.label, width: x.width, height: x.height };
}
