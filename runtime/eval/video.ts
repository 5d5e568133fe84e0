/**
 * Video evaluation (PiPa++ video benchmarks, `shared/reference/pipa_cluda.md` §4): per-frame
 * mIoU over a sequence beside the dataset mIoU of the summed confusion matrix, and temporal
 * consistency, the share of pixels whose prediction agrees with the previous frame's prediction
 * carried along the optical flow.
 *
 * Flow follows the convention of `runtime/data/synthcity/flow.ts`: backward flow from frame t+1
 * to frame t, for each pixel (x, y) of frame t+1 the displacement (dx, dy) in pixels to its
 * position in frame t, float32 interleaved H×W×2, with a validity mask over frame t+1's pixels.
 * Class maps are warped nearest-neighbour (`runtime/data/video/warp.ts`: source pixel
 * round(x + dx), round(y + dy)), since class ids must not be interpolated.
 *
 * @module
 */
import { CLASS_NAMES, PROTOCOL_CLASSES } from "../data/labels.ts";
import { warpNearest } from "../data/video/warp.ts";
import { ConfusionMatrix, nanMean, type Protocol, type SegmentationMetrics } from "./confusion.ts";

/** Per-frame and whole-sequence mIoU under one protocol. */
export interface SequenceMetrics {
  /** Protocol every mean was taken over. */
  protocol: Protocol;
  /**
   * mIoU of each frame's own confusion matrix, in frame order; NaN for a frame in which none of
   * the protocol's classes is in the prediction or the label.
   */
  frameMIoU: number[];
  /** NaN-ignoring mean of {@linkcode SequenceMetrics.frameMIoU}. */
  meanFrameMIoU: number;
  /** mIoU of the summed confusion matrix: the dataset figure the benchmarks report. */
  mIoU: number;
  /** All metrics of the summed confusion matrix. */
  metrics: SegmentationMetrics;
  /** The summed confusion matrix. */
  confusion: ConfusionMatrix;
}

/**
 * Per-frame mIoU and the sequence (dataset) mIoU from the frames' confusion matrices. The two
 * differ: a frame mean weighs every frame alike and only the classes each frame shows, while
 * the summed matrix weighs pixels, as mmseg's dataset mIoU does.
 */
export function sequenceMetrics(
  frames: readonly ConfusionMatrix[],
  protocol: Protocol = "19",
  names: readonly string[] = CLASS_NAMES,
): SequenceMetrics {
  if (frames.length === 0) throw new Error("sequenceMetrics: a sequence needs at least one frame");
  const confusion = new ConfusionMatrix(frames[0].numClasses);
  for (const frame of frames) confusion.merge(frame);
  const frameMIoU = frames.map((frame) => frame.metrics(protocol, names).mIoU);
  const metrics = confusion.metrics(protocol, names);
  return {
    protocol,
    frameMIoU,
    meanFrameMIoU: nanMean(frameMIoU),
    mIoU: metrics.mIoU,
    metrics,
    confusion,
  };
}

/** A class map: one class id per pixel, row-major H×W. */
export type ClassMap = Uint8Array | Int32Array;

/** The predictions of two consecutive frames and the flow between them. */
export interface PredictionPair {
  /** Predicted class ids of frame t, H×W. */
  previous: ClassMap;
  /** Predicted class ids of frame t+1, H×W. */
  current: ClassMap;
  /** Backward flow t+1 → t: (dx, dy) pixels per pixel of frame t+1, interleaved H×W×2. */
  flow: Float32Array;
  /** 1 where the flow of a frame-t+1 pixel is valid (visible in frame t), H×W. */
  flowValid: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Temporal consistency over the pixels counted; shares in [0, 1]. */
export interface TemporalConsistencyResult {
  /** Protocol the class mean and the per-class table run over. */
  protocol: Protocol;
  /**
   * Share of the counted pixels of frame t+1 (flow valid, source inside frame t) whose
   * prediction equals frame t's warped prediction, over every class; NaN when none is counted.
   */
  share: number;
  /** Pixels counted. */
  pixels: number;
  /** Counted pixels whose predictions agree. */
  agreeing: number;
  /** NaN-ignoring mean of the per-class shares over the protocol's classes. */
  classMean: number;
  /**
   * Share per class of the frame-t+1 prediction, by class name, over the protocol's classes;
   * null where no counted pixel of frame t+1 is predicted as the class.
   */
  perClass: Record<string, number | null>;
}

/**
 * Temporal consistency accumulated over frame pairs, counted per class of the frame-t+1
 * prediction so that a dataset figure weighs pixels (as the confusion matrix does) and pairs
 * split across workers merge.
 */
export class TemporalConsistency {
  /** Number of classes a prediction may hold. */
  readonly numClasses: number;
  /** Counted pixels of frame t+1 by predicted class. */
  readonly counted: Float64Array;
  /** Of those, the pixels whose warped frame-t prediction is the same class. */
  readonly agreeing: Float64Array;

  /** An empty count. */
  constructor(numClasses: number = CLASS_NAMES.length) {
    this.numClasses = numClasses;
    this.counted = new Float64Array(numClasses);
    this.agreeing = new Float64Array(numClasses);
  }

  /**
   * Adds one frame pair. Pixels whose flow is invalid, or whose source position falls outside
   * frame t, are not counted: they have no counterpart to agree or disagree with.
   */
  update(pair: PredictionPair): this {
    const { previous, current, flowValid, width, height } = pair;
    checkPair(pair, this.numClasses);
    const warped = warpNearest(previous, pair.flow, width, height);
    for (let i = 0; i < current.length; i++) {
      if (flowValid[i] === 0 || warped.valid[i] === 0) continue;
      const c = current[i];
      this.counted[c] += 1;
      if (warped.values[i] === c) this.agreeing[c] += 1;
    }
    return this;
  }

  /** Adds another accumulator's counts. */
  merge(other: TemporalConsistency): this {
    if (other.numClasses !== this.numClasses) {
      throw new Error(
        `TemporalConsistency.merge: ${other.numClasses} classes into ${this.numClasses}`,
      );
    }
    for (let c = 0; c < this.numClasses; c++) {
      this.counted[c] += other.counted[c];
      this.agreeing[c] += other.agreeing[c];
    }
    return this;
  }

  /** The overall share, and the per-class shares over a protocol's classes. */
  result(
    protocol: Protocol = "19",
    names: readonly string[] = CLASS_NAMES,
  ): TemporalConsistencyResult {
    const classes = PROTOCOL_CLASSES[protocol].filter((c) => c < this.numClasses);
    const shares = Array.from(
      this.counted,
      (n, c) => n === 0 ? NaN : this.agreeing[c] / n,
    );
    const pixels = this.counted.reduce((a, b) => a + b, 0);
    const agreeing = this.agreeing.reduce((a, b) => a + b, 0);
    return {
      protocol,
      share: pixels === 0 ? NaN : agreeing / pixels,
      pixels,
      agreeing,
      classMean: nanMean(classes.map((c) => shares[c])),
      perClass: Object.fromEntries(
        classes.map((c) => [names[c] ?? `class ${c}`, Number.isNaN(shares[c]) ? null : shares[c]]),
      ),
    };
  }
}

/** Options of {@linkcode temporalConsistency}. */
export interface TemporalConsistencyOptions {
  /** Number of classes a prediction may hold (19). */
  numClasses?: number;
  /** Protocol of the class mean and the per-class table ("19"). */
  protocol?: Protocol;
  /** Class names, by class id (the Cityscapes names). */
  names?: readonly string[];
}

/** Temporal consistency of one frame pair (see {@linkcode TemporalConsistency.update}). */
export function temporalConsistency(
  pair: PredictionPair,
  options: TemporalConsistencyOptions = {},
): TemporalConsistencyResult {
  return new TemporalConsistency(options.numClasses).update(pair)
    .result(options.protocol, options.names);
}

/** Fails with the offending sizes or pixel unless the pair is consistent and in range. */
function checkPair(pair: PredictionPair, numClasses: number): void {
  const { previous, current, flowValid, width, height } = pair;
  const n = width * height;
  if (previous.length !== n || current.length !== n || flowValid.length !== n) {
    throw new RangeError(
      `temporal consistency: expected ${n} pixels (${width}×${height}) in both predictions and ` +
        `the flow mask, got ${previous.length}, ${current.length} and ${flowValid.length}`,
    );
  }
  for (const [what, map] of [["frame t", previous], ["frame t+1", current]] as const) {
    for (let i = 0; i < n; i++) {
      if (!(map[i] >= 0 && map[i] < numClasses)) {
        throw new RangeError(
          `temporal consistency: ${what} predicts ${map[i]} at pixel ${i}; classes are in ` +
            `[0, ${numClasses})`,
        );
      }
    }
  }
}
