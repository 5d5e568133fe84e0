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
import { applyPairPipeline } from "../video/pair_pipeline.ts";
import type { FramePair } from "../video/pairs.ts";

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
  /** Rare-class sampling: which image each sample index reads (see `order` when absent). */
  rareClass?: RareClassPlan;
  /**
   * Without rare-class sampling: `shuffle` (default) reads a fresh permutation of the dataset
   * each epoch, drawn from the loader seed, as mmseg's shuffled sampler does; `random` draws
   * each sample uniformly with replacement, as the reference draws the target image when the
   * source is rare-class sampled (`np.random.choice(len(target))`).
   */
  order?: "shuffle" | "random";
  /**
   * Load frame pairs (a video module asked, `adjustPipeline`): each sample is frame t with frame
   * t−k and the flow between them, from the source's `getPair`, through `applyPairPipeline`
   * (frame t exactly as without pairs).
   */
  pairs?: boolean;
}

/**
 * Rare-class sampling as plain data (`shared/reference/daformer_hrda_mic.md` §3), computed once
 * from the class statistics: the classes that occur, P(c), and each class's candidate images.
 */
export interface RareClassPlan {
  /** Classes that can be drawn. */
  classes: number[];
  /** Their probabilities, aligned with `classes`. */
  probabilities: number[];
  /** Candidate image indices of each class, aligned with `classes` (none = never drawn). */
  candidates: number[][];
  /** A crop is accepted when it holds more than this many pixels of the drawn class. */
  minCropPixels: number;
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
  /** With `pairs`: frame t−k, normalised RGB, H×W×3. */
  previous?: Float32Array;
  /** With `pairs` and a source with flow: backward flow t → t−k in pixels, H×W×2. */
  flow?: Float32Array;
  /** 1 where `flow` is valid, H×W. */
  flowValid?: Uint8Array;
}

/** The sample stream of index `index` under `seed`. */
export function sampleStream(seed: number, index: number): RandomStream {
  return new RandomStream(seed).fork(`sample:${index}`);
}

/** The example a sample reads, as far as it is known before loading. */
export interface SampleChoice {
  /** Example index. */
  index: number;
  /** The class rare-class sampling drew, or undefined for uniform sampling. */
  rareClass?: number;
}

/** The permutations of the last few epochs, by (seed, epoch, size): each costs O(size) once. */
const epochOrders = new Map<string, Uint32Array>();

/**
 * The order in which epoch `epoch` reads a dataset of `size` examples: a permutation drawn from
 * the loader seed alone, so every worker (and a resumed run) computes the same one.
 */
export function epochPermutation(seed: number, epoch: number, size: number): Uint32Array {
  const key = `${seed}:${epoch}:${size}`;
  let order = epochOrders.get(key);
  if (order === undefined) {
    const rng = new RandomStream(seed).fork(`epoch:${epoch}`);
    order = Uint32Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    if (epochOrders.size >= 8) epochOrders.delete(epochOrders.keys().next().value!);
    epochOrders.set(key, order);
  }
  return order;
}

/**
 * Which example sample `sampleIndex` reads. Without rare-class sampling: position
 * `sampleIndex mod size` of epoch ⌊sampleIndex / size⌋'s permutation of the loader seed
 * (`order: "shuffle"`), or a uniform draw from the sample's own stream (`order: "random"`).
 * With rare-class sampling: a class c ~ P and a uniformly chosen candidate image of c (the
 * sample index only seeds it, as the reference ignores the index).
 */
export function chooseExample(
  spec: PipelineSpec,
  sampleIndex: number,
  size: number,
  rng: RandomStream,
  loaderSeed = 0,
): SampleChoice {
  const plan = spec.rareClass;
  if (plan === undefined) {
    if (spec.order === "random") return { index: rng.int(size) };
    const epoch = Math.floor(sampleIndex / size);
    return { index: epochPermutation(loaderSeed, epoch, size)[sampleIndex % size] };
  }
  // Classes without candidate images are never drawn: P is renormalised over the others.
  const weights = plan.probabilities.map((p, i) => (plan.candidates[i].length > 0 ? p : 0));
  let u = rng.next() * weights.reduce((a, w) => a + w, 0);
  let k = weights.findIndex((w) => w > 0 && (u -= w) < 0);
  if (k < 0) k = weights.findLastIndex((w) => w > 0); // rounding at the top end
  const candidates = plan.candidates[k];
  return { index: candidates[rng.int(candidates.length)], rareClass: plan.classes[k] };
}

/** Pixels of class `c` in a label crop. */
function countClass(label: Uint8Array, c: number): number {
  let n = 0;
  for (let i = 0; i < label.length; i++) if (label[i] === c) n++;
  return n;
}

/**
 * Loads and processes sample `sampleIndex`: picks its example, runs the pipeline with the
 * sample's own stream, and under rare-class sampling re-crops up to 10 times until the crop
 * holds more than `minCropPixels` of the drawn class (the 10th re-draw is kept unchecked, §3).
 * The inline loader and the workers both call this, so their output is identical.
 */
export async function loadSample(
  source: {
    size: number;
    get(index: number): Promise<Example & { name: string }>;
    getPair?(index: number): Promise<FramePair>;
  },
  spec: PipelineSpec,
  seed: number,
  sampleIndex: number,
): Promise<Processed & { name: string }> {
  const rng = sampleStream(seed, sampleIndex);
  const choice = chooseExample(spec, sampleIndex, source.size, rng, seed);
  let example: Example & { name: string };
  let run: () => Processed;
  if (spec.pairs) {
    if (source.getPair === undefined) {
      throw new Error(
        `this dataset has no frame pairs, and a video module reads the previous frame of its ` +
          `samples; use a sequence dataset (frame pairs with their flow) for this role`,
      );
    }
    const pair = await source.getPair(choice.index);
    example = pair;
    run = () => applyPairPipeline(pair, spec, rng);
  } else {
    const single = await source.get(choice.index);
    example = single;
    run = () => applyPipeline(single, spec, rng);
  }
  let sample = run();
  if (choice.rareClass !== undefined && sample.label !== undefined) {
    const threshold = spec.rareClass!.minCropPixels;
    for (let attempt = 0; attempt < 10; attempt++) {
      if (countClass(sample.label!, choice.rareClass) > threshold) break;
      sample = run();
    }
  }
  return { ...sample, name: example.name };
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
