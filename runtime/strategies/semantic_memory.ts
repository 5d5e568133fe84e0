/**
 * PiPa++'s semantic-aware memory (arXiv 2407.17101, TL;DR; `shared/reference/pipa_cluda.md` §4):
 * one FIFO queue of embeddings per class, filled from confident pseudo-labels, that the pixel,
 * patch and temporal contrasts share as their source of (other-class) negatives. The paper text
 * that specifies it could not be read, so its size and update rule are options with reasons.
 *
 * - Class c's queue holds at most `capacity` embeddings; a push appends at the newest end and,
 *   when full, drops the oldest (exact FIFO; rows of one push enter in row order).
 * - A row is pushed only if its pseudo-label is a class in [0, classes) and its confidence is
 *   ≥ `threshold`.
 * - It keeps host memory only (typed arrays, no tensors), so it cannot leak tensors, and
 *   `serialize()` / `restore()` give and take the record of named Float32Array buffers a
 *   checkpoint stores (the form of the patch bank's `bank.*` buffers in
 *   `runtime/blocks/patch_contrast.ts`): a resumed run holds the same bits in the same order.
 * - No randomness: the state is a function of the pushes alone.
 *
 * All contrasts that share one memory must embed into the same dimension `dim`.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** Options of {@linkcode SemanticMemory}. */
export interface SemanticMemoryOptions {
  /** Number of classes (19 for Cityscapes trainIds). */
  classes: number;
  /** Embeddings per class queue. */
  capacity: number;
  /** Embedding dimension. */
  dim: number;
  /** Confidence a pseudo-label needs to enter the memory (inclusive). */
  threshold: number;
  /**
   * At most this many rows of one class per push, the most confident (ties: lower row index),
   * entered in row order; 0: no limit. One frame holds thousands of near-identical road pixels
   * that would otherwise flush the road queue at every step.
   */
  perClassPerPush: number;
}

/**
 * Defaults where the paper gives nothing: 512 per class ≈ the 9600 entries of PiPa's patch bank
 * (3 steps × 3200, §2.4) spread over 19 classes, rounded to a power of two; threshold 0.968,
 * DAFormer's `pseudo_threshold` (the base's definition of a confident pseudo-label, also CLUDA's
 * Γ, §5.5); no per-push limit (the caller subsamples as PiPa's bank does, §2.4).
 */
export const SEMANTIC_MEMORY_DEFAULTS: Readonly<
  Pick<SemanticMemoryOptions, "capacity" | "threshold" | "perClassPerPush">
> = Object.freeze({ capacity: 512, threshold: 0.968, perClassPerPush: 0 });

/** Embeddings with their classes, row-major `[rows, dim]`. */
export interface MemoryEntries {
  /** `[rows·dim]` embeddings. */
  features: Float32Array;
  /** `[rows]` class of each row. */
  classes: Int32Array;
  /** Number of rows. */
  rows: number;
}

/** Class-wise FIFO queues of embeddings (module documentation). */
export class SemanticMemory {
  /** The options it was built with. */
  readonly options: Readonly<SemanticMemoryOptions>;
  #features: Float32Array;
  /** Entries per class. */
  #count: Int32Array;
  /** Next slot to write per class (the oldest entry once the queue is full). */
  #head: Int32Array;

  /** An empty memory. */
  constructor(options: SemanticMemoryOptions) {
    const { classes, capacity, dim, perClassPerPush } = options;
    for (const [name, v] of Object.entries({ classes, capacity, dim })) {
      if (!(Number.isInteger(v) && v >= 1)) {
        throw new RangeError(`SemanticMemory: ${name} must be a positive integer, got ${v}`);
      }
    }
    if (!(Number.isInteger(perClassPerPush) && perClassPerPush >= 0)) {
      throw new RangeError(`SemanticMemory: perClassPerPush must be an integer ≥ 0`);
    }
    this.options = Object.freeze({ ...options });
    this.#features = new Float32Array(classes * capacity * dim);
    this.#count = new Int32Array(classes);
    this.#head = new Int32Array(classes);
  }

  /**
   * Enqueues the confident rows of `features` (`[n·dim]`) by their `labels`; returns how many
   * entered. Rows of one class enter in row order (the last row is the newest).
   */
  push(
    features: ArrayLike<number>,
    labels: ArrayLike<number>,
    confidence: ArrayLike<number>,
  ): number {
    const { classes, dim, threshold, perClassPerPush } = this.options;
    const n = labels.length;
    if (features.length !== n * dim || confidence.length !== n) {
      throw new RangeError(
        `SemanticMemory.push: ${features.length} features, ${n} labels and ` +
          `${confidence.length} confidences do not describe rows of ${dim}`,
      );
    }
    const rows: number[][] = Array.from({ length: classes }, () => []);
    for (let r = 0; r < n; r++) {
      const c = labels[r];
      if (Number.isInteger(c) && c >= 0 && c < classes && confidence[r] >= threshold) {
        rows[c].push(r);
      }
    }
    let pushed = 0;
    rows.forEach((list, c) => {
      const chosen = perClassPerPush > 0 && list.length > perClassPerPush
        ? list.slice().sort((p, q) => confidence[q] - confidence[p] || p - q)
          .slice(0, perClassPerPush).sort((p, q) => p - q)
        : list;
      for (const r of chosen) this.#enqueue(c, features, r);
      pushed += chosen.length;
    });
    return pushed;
  }

  /** {@linkcode push} from tensors (read asynchronously; the caller keeps and disposes them). */
  async pushTensors(
    features: tf.Tensor2D,
    labels: tf.Tensor1D | ArrayLike<number>,
    confidence: tf.Tensor1D | ArrayLike<number>,
  ): Promise<number> {
    const read = async (x: tf.Tensor | ArrayLike<number>) =>
      x instanceof tf.Tensor ? await x.data() : x;
    return this.push(await features.data(), await read(labels), await read(confidence));
  }

  #enqueue(c: number, features: ArrayLike<number>, row: number): void {
    const { capacity, dim } = this.options;
    const slot = c * capacity + this.#head[c];
    for (let d = 0; d < dim; d++) this.#features[slot * dim + d] = features[row * dim + d];
    this.#head[c] = (this.#head[c] + 1) % capacity;
    this.#count[c] = Math.min(this.#count[c] + 1, capacity);
  }

  /** Entries held for class `c`. */
  size(c: number): number {
    return this.#count[c];
  }

  /** Class `c`'s queue, oldest first. */
  queue(c: number): MemoryEntries {
    return this.#gather([c]);
  }

  /** Every entry whose class is not `c` (the negatives of a class-c anchor), class by class. */
  negativesFor(c: number): MemoryEntries {
    return this.#gather([...this.#count.keys()].filter((k) => k !== c));
  }

  /** Every entry, class by class (ascending), each queue oldest first. */
  all(): MemoryEntries {
    return this.#gather([...this.#count.keys()]);
  }

  #gather(classList: number[]): MemoryEntries {
    const { capacity, dim } = this.options;
    const rows = classList.reduce((s, c) => s + this.#count[c], 0);
    const features = new Float32Array(rows * dim);
    const classes = new Int32Array(rows);
    let r = 0;
    for (const c of classList) {
      const oldest = (this.#head[c] - this.#count[c] + capacity) % capacity;
      for (let k = 0; k < this.#count[c]; k++, r++) {
        const slot = c * capacity + ((oldest + k) % capacity);
        features.set(this.#features.subarray(slot * dim, (slot + 1) * dim), r * dim);
        classes[r] = c;
      }
    }
    return { features, classes, rows };
  }

  /** The buffers a checkpoint stores, with their shapes (to allocate them before a restore). */
  stateShapes(prefix = "memory"): Record<string, number[]> {
    const { classes, capacity, dim } = this.options;
    return {
      [`${prefix}.features`]: [classes * capacity, dim],
      [`${prefix}.count`]: [classes],
      [`${prefix}.head`]: [classes],
    };
  }

  /**
   * The state as named Float32Array buffers (copies): the embeddings slot by slot, and per class
   * the entry count and next slot (integers below 2²⁴, exact in float32).
   */
  serialize(prefix = "memory"): Record<string, Float32Array> {
    return {
      [`${prefix}.features`]: this.#features.slice(),
      [`${prefix}.count`]: Float32Array.from(this.#count),
      [`${prefix}.head`]: Float32Array.from(this.#head),
    };
  }

  /** Takes the state of {@linkcode serialize} (copied; checked against this memory's shape). */
  restore(state: Record<string, Float32Array>, prefix = "memory"): void {
    const { classes, capacity } = this.options;
    const shapes = this.stateShapes(prefix);
    for (const [name, shape] of Object.entries(shapes)) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (state[name]?.length !== size) {
        throw new RangeError(`SemanticMemory.restore: ${name} needs ${size} values`);
      }
    }
    const count = state[`${prefix}.count`];
    const head = state[`${prefix}.head`];
    for (let c = 0; c < classes; c++) {
      const ok = (v: number, top: number) => Number.isInteger(v) && v >= 0 && v <= top;
      if (!ok(count[c], capacity) || !ok(head[c], capacity - 1)) {
        throw new RangeError(
          `SemanticMemory.restore: class ${c} has count ${count[c]}, ` +
            `head ${head[c]} outside a queue of ${capacity}`,
        );
      }
    }
    this.#features = state[`${prefix}.features`].slice();
    this.#count = Int32Array.from(count);
    this.#head = Int32Array.from(head);
  }
}

/** Entries as a `[rows, dim]` tensor (owned by the caller) and their classes. */
export function entriesTensor(
  entries: MemoryEntries,
  dim: number,
): { features: tf.Tensor2D; classes: Int32Array } {
  return { features: tf.tensor2d(entries.features, [entries.rows, dim]), classes: entries.classes };
}
