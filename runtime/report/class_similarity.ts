/**
 * Per-class cosine similarity of unit embeddings, the picture of what a pixel contrast does:
 * entry (a, b) is the mean of ⟨e_i, e_j⟩ over pixels i of class a and j of class b, which for
 * unit vectors is ⟨ē_a, ē_b⟩ with ē the class means (so the diagonal is intra-class compactness,
 * the off-diagonal inter-class overlap). PiPa's pixel contrast should raise the one and lower the
 * other as training goes.
 *
 * @module
 */
import { CLASS_NAMES } from "../data/labels.ts";
import { similarityHeatmap } from "./heatmap.ts";

/** Running class sums of unit embeddings, added image by image. */
export class ClassSimilarity {
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;

  /** For `classes` classes of `dim`-wide embeddings. */
  constructor(readonly classes: number, readonly dim: number) {
    this.#sums = new Float64Array(classes * dim);
    this.#counts = new Float64Array(classes);
  }

  /** Adds `n` rows of `embeddings` (`[n, dim]`, row-major) with their labels; others ignored. */
  add(embeddings: Float32Array, labels: ArrayLike<number>): void {
    const n = labels.length;
    if (embeddings.length !== n * this.dim) {
      throw new Error(`ClassSimilarity: ${embeddings.length} values for ${n} × ${this.dim}`);
    }
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!(c >= 0 && c < this.classes)) continue; // 255 and anything else: no class.
      this.#counts[c] += 1;
      for (let d = 0; d < this.dim; d++) {
        this.#sums[c * this.dim + d] += embeddings[i * this.dim + d];
      }
    }
  }

  /** Pixels seen of each class. */
  counts(): number[] {
    return [...this.#counts];
  }

  /** The `classes × classes` mean pairwise cosine similarity; null where a class was not seen. */
  matrix(): (number | null)[][] {
    const mean = (c: number) =>
      Array.from({ length: this.dim }, (_, d) => this.#sums[c * this.dim + d] / this.#counts[c]);
    const means = Array.from(
      { length: this.classes },
      (_, c) => (this.#counts[c] > 0 ? mean(c) : null),
    );
    return means.map((a) =>
      means.map((b) => (a === null || b === null ? null : a.reduce((s, v, d) => s + v * b[d], 0)))
    );
  }

  /** The matrix as an SVG heat map of the classes seen (Cityscapes names). */
  svg(): string {
    const seen = this.counts().flatMap((n, c) => (n > 0 ? [c] : []));
    const full = this.matrix();
    return similarityHeatmap(
      seen.map((c) => CLASS_NAMES[c] ?? `class ${c}`),
      seen.map((a) => seen.map((b) => full[a][b])),
    );
  }
}
