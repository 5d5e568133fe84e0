/**
 * Rare Class Sampling (DAFormer §3.3; `shared/reference/daformer_hrda_mic.md` §3): with f_c the
 * fraction of source pixels of class c (only classes that occur), P(c) = softmax((1 − f_c)/T),
 * T = 0.01; each class's candidate images hold more than `minPixels` (3000) of it.
 *
 * @module
 */
import { type ImageClassStats, samplesWithClass, totalCounts } from "../data/class_stats.ts";
import type { RareClassPlan } from "../data/transforms/pipeline.ts";

/** Sampling probabilities of the classes that occur in `counts` (pixels per class). */
export function rareClassProbabilities(
  counts: readonly number[],
  temperature = 0.01,
): { classes: number[]; probabilities: number[] } {
  if (!(temperature > 0)) {
    throw new RangeError(`rare class sampling: temperature must be > 0, got ${temperature}`);
  }
  const classes = counts.flatMap((n, c) => (n > 0 ? [c] : []));
  const total = classes.reduce((a, c) => a + counts[c], 0);
  if (total === 0) throw new Error("rare class sampling: the source labels hold no class pixels");
  const logits = classes.map((c) => (1 - counts[c] / total) / temperature);
  // Subtracting the maximum keeps exp() finite for T = 0.01 (logits up to 100).
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return { classes, probabilities: exps.map((e) => e / sum) };
}

/** Rare-class-sampling settings (the fields of the experiment's `data.sampling` block). */
export interface RareClassSettings {
  /** Temperature T (0.01). */
  temperature: number;
  /** Candidate images hold more than `minPixels · pixelScale` pixels of the class (3000). */
  minPixels: number;
  /** Crops are accepted above `minPixels · minCropRatio · pixelScale` pixels (0.5). */
  minCropRatio: number;
  /** Scale of both thresholds for images smaller than the published ones (1). */
  pixelScale: number;
}

/**
 * The sampling plan of a source set from its per-image class statistics: f_c from the total
 * counts, P(c) over the classes that occur, candidate images per class (count > minPixels).
 */
export function rareClassPlan(
  images: readonly ImageClassStats[],
  settings: RareClassSettings,
): RareClassPlan {
  const { classes, probabilities } = rareClassProbabilities(
    totalCounts(images).counts,
    settings.temperature,
  );
  const withClass = samplesWithClass(images, settings.minPixels * settings.pixelScale);
  const candidates = classes.map((c) => (withClass.get(c) ?? []).map((s) => s.index));
  if (candidates.every((list) => list.length === 0)) {
    throw new Error(
      `rare class sampling: no source image holds more than ${
        settings.minPixels * settings.pixelScale
      } pixels of any class; lower data.sampling.minPixels or pixelScale.`,
    );
  }
  return {
    classes,
    probabilities,
    candidates,
    minCropPixels: settings.minPixels * settings.minCropRatio * settings.pixelScale,
  };
}
