/**
 * Segmentation metrics as mmseg computes them (`shared/reference/daformer_hrda_mic.md` §8.1): a
 * confusion matrix accumulated over the whole dataset (ignored pixels dropped), per-class
 * IoU = I / (pred + gt − I) (NaN when the class is in neither prediction nor label), mIoU =
 * the NaN-ignoring mean over a protocol's classes, aAcc = ΣI / Σgt.
 *
 * Protocols (§8.4): "19" (GTA→Cityscapes), "16" (SYNTHIA→Cityscapes: no terrain, truck, train;
 * computed as the mean over those 16 classes of a 19-output model — the READMEs' shortcut
 * mIoU19·19/16 equals it only when the 3 absent classes have IoU 0 and no NaN), "13" (the 16 without
 * wall, fence, pole), and the video benchmarks' "11" (SYNTHIA-Seq→Cityscapes-Seq) and "15"
 * (VIPER→Cityscapes-Seq), listed in `runtime/data/labels.ts`.
 *
 * @module
 */
import { CLASS_NAMES, IGNORE_LABEL, PROTOCOL_CLASSES } from "../data/labels.ts";

/** A metric protocol: which classes the mean runs over. */
export type Protocol = keyof typeof PROTOCOL_CLASSES;

/** JSON-serialisable evaluation result; IoUs and accuracies in [0, 1], NaN → null. */
export interface SegmentationMetrics {
  /** Protocol the mean was taken over. */
  protocol: Protocol;
  /** Mean IoU over the protocol's classes present in prediction or label. */
  mIoU: number;
  /** Pixel accuracy over non-ignored pixels. */
  aAcc: number;
  /** Mean per-class accuracy over the protocol's classes present in the label. */
  mAcc: number;
  /** Per-class IoU by class name (null where the class is in neither prediction nor label). */
  iou: Record<string, number | null>;
  /** Non-ignored pixels counted. */
  pixels: number;
}

/** A `numClasses × numClasses` confusion matrix, rows = label, columns = prediction (float64). */
export class ConfusionMatrix {
  readonly numClasses: number;
  readonly counts: Float64Array;

  /** An empty matrix. */
  constructor(numClasses = CLASS_NAMES.length) {
    this.numClasses = numClasses;
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * Adds one image (or batch): `pred` and `label` hold class ids pixel by pixel. Pixels labelled
   * `ignoreIndex` are skipped; a label or prediction outside [0, numClasses) is an error naming it.
   */
  update(pred: ArrayLike<number>, label: ArrayLike<number>, ignoreIndex = IGNORE_LABEL): this {
    if (pred.length !== label.length) {
      throw new Error(
        `ConfusionMatrix.update: ${pred.length} predictions for ${label.length} labels`,
      );
    }
    const n = this.numClasses;
    for (let i = 0; i < label.length; i++) {
      const g = label[i];
      if (g === ignoreIndex) continue;
      const p = pred[i];
      if (!(g >= 0 && g < n) || !(p >= 0 && p < n)) {
        throw new Error(
          `ConfusionMatrix.update: pixel ${i} has label ${g} and prediction ${p}; both must be in [0, ${n}) or the label ${ignoreIndex}`,
        );
      }
      this.counts[g * n + p] += 1;
    }
    return this;
  }

  /** Adds another matrix's counts (for evaluation split across workers). */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses) {
      throw new Error("ConfusionMatrix.merge: class counts differ");
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  /** Per-class IoU, NaN for a class absent from both prediction and label. */
  iou(): number[] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, c) => {
      let row = 0;
      let col = 0;
      for (let k = 0; k < n; k++) {
        row += this.counts[c * n + k];
        col += this.counts[k * n + c];
      }
      const intersection = this.counts[c * n + c];
      const union = row + col - intersection;
      return union === 0 ? NaN : intersection / union;
    });
  }

  /** Per-class accuracy (recall), NaN for a class absent from the label. */
  classAccuracy(): number[] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, c) => {
      let row = 0;
      for (let k = 0; k < n; k++) row += this.counts[c * n + k];
      return row === 0 ? NaN : this.counts[c * n + c] / row;
    });
  }

  /** Summary metrics over a protocol's classes. */
  metrics(protocol: Protocol = "19", names: readonly string[] = CLASS_NAMES): SegmentationMetrics {
    const classes = PROTOCOL_CLASSES[protocol].filter((c) => c < this.numClasses);
    const iou = this.iou();
    const acc = this.classAccuracy();
    let correct = 0;
    let total = 0;
    for (let c = 0; c < this.numClasses; c++) {
      correct += this.counts[c * this.numClasses + c];
      for (let k = 0; k < this.numClasses; k++) total += this.counts[c * this.numClasses + k];
    }
    return {
      protocol,
      mIoU: nanMean(classes.map((c) => iou[c])),
      aAcc: total === 0 ? NaN : correct / total,
      mAcc: nanMean(classes.map((c) => acc[c])),
      iou: Object.fromEntries(
        classes.map((c) => [names[c] ?? `class ${c}`, Number.isNaN(iou[c]) ? null : iou[c]]),
      ),
      pixels: total,
    };
  }
}

/** Mean of the non-NaN values (NaN when there are none), as numpy's `nanmean`. */
export function nanMean(values: readonly number[]): number {
  const kept = values.filter((v) => !Number.isNaN(v));
  return kept.length === 0 ? NaN : kept.reduce((a, b) => a + b, 0) / kept.length;
}
