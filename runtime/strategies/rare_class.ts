/**
 * Rare Class Sampling (DAFormer §3.3; `shared/reference/daformer_hrda_mic.md` §3): with f_c the
 * fraction of source pixels of class c (only classes that occur), P(c) = softmax((1 − f_c)/T),
 * T = 0.01; each class's candidate images hold more than `minPixels` (3000) of it.
 *
 * @module
 */

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
