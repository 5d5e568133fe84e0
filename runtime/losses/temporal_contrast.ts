/**
 * PiPa++'s temporal contrast (arXiv 2407.17101: "temporal continuity under dynamic
 * environments", Fig. 3(c) "contrastive learning across frames"; `shared/reference/pipa_cluda.md`
 * §4). No PiPa++ code is public and its method section could not be read, so the form below is
 * PiPa's InfoNCE/SupCon (§1.6, §2.4) carried across frames, and each open choice is an option.
 *
 * Rows i < N pair the same scene point in the two frames: a_i (frame t, the anchors) and p_i
 * (frame t−k warped to t, or sampled at the flow correspondence, {@linkcode flowCorrespondence};
 * the same location when no flow is used). The contrast columns are the N partner rows, then the
 * M memory rows μ_m (constants, class c_m). With s_ij = ⟨a_i, b_j⟩/τ over those columns b:
 *
 * ```
 * active_i  = valid_i ∧ labelled(y_i) [∧ y_i = y'_i with `agreement`]
 * usable_j  = valid_j ∧ labelled(y'_j)   (j < N),   labelled(c_m)   (memory)
 * P_ij      = [j = i] ∨ [j ∈ H⁺_i ∧ usable_j]                    (partner; hard positives)
 * Q_ij      = usable_j ∧ ¬P_ij ∧ j ≠ i ∧ (j ∈ H⁻_i  if hard negatives are given,
 *             else class_j ≠ y_i; with "otherLocation" every partner row j ≠ i)
 * log p_ij  = s_ij − log(e^{s_ij} + Σ_k Q_ik e^{s_ik})             (each positive its own softmax)
 * ℓ_i       = −(1/|P_i|) Σ_j P_ij log p_ij
 * w_i       = active_i · q_i                                      (q ≡ 1 without confidence)
 * L         = Σ_i w_i ℓ_i / Z,   Z = max(1, Σ_i active_i) ("valid") or Σ_i w_i ("weight"; L = 0
 *             when it is 0)
 * ```
 *
 * y = labels of frame t, y' = labels of the partner rows, H⁺/H⁻ = the task-smart selection
 * ({@linkcode selectHard}, `task_smart_sampling.ts`). Every exponent is shifted by 1/τ (the
 * bound of a similarity of unit vectors), which the loss does not depend on. Anchor rows run in
 * chunks forward and backward with the gradient written out (as `cluda_contrast.ts`), so no N×N
 * matrix is whole and the tape keeps none; the memory rows receive no gradient. Gradients reach
 * both frames (PiPa's pixel SupCon has none stopped; the stop-gradient of its patch term belongs
 * to CAC's directional rule): a caller that wants frame t−k constant passes it stopped. The
 * reverse direction (anchors in frame t−k) is the same call with the frames swapped; adding it is
 * the caller's choice (PiPa's patch term adds its two directions, L¹ + L²).
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  concatRowSets,
  type HardSelection,
  labelled,
  rowSet,
  type SamplingOptions,
  taskSmartSample,
} from "./task_smart_sampling.ts";

/** Memory rows used as negatives: constant embeddings `[M, C]` and their classes. */
export interface MemoryNegatives {
  /** `[M, C]` unit embeddings (no gradient reaches them). */
  features: tf.Tensor2D;
  /** `[M]` class of each row (−1: an empty slot, never used). */
  classes: Int32Array;
}

/** What the loss reads: row i of `anchors` and of `partners` is the same scene point. */
export interface TemporalPairs {
  /** `[N, C]` unit embeddings of frame t. */
  anchors: tf.Tensor2D;
  /** `[N, C]` unit embeddings of frame t−k at the corresponding points. */
  partners: tf.Tensor2D;
  /** `[N]` nonzero where the correspondence exists (flow inside the frame, not occluded). */
  valid: ArrayLike<number>;
  /** `[N]` (pseudo-)labels of frame t. */
  labels: Int32Array;
  /** `[N]` (pseudo-)labels of the partner rows (default: `labels`, the same scene points). */
  partnerLabels?: Int32Array;
  /** `[N]` per-anchor weight, e.g. the teacher's confidence (default 1). */
  confidence?: ArrayLike<number>;
  /** Memory negatives (e.g. `SemanticMemory.all()` as a tensor). */
  memory?: MemoryNegatives;
  /** The task-smart selection; column indices: partner rows, then memory rows. */
  hard?: Partial<HardSelection>;
}

/** Options of {@linkcode temporalContrastLoss}. */
export interface TemporalContrastOptions {
  /**
   * τ (0.1): PiPa's pixel and patch contrasts both use 0.1 (§1.5, §2.4) and PiPa++ names no
   * other value. No τ/τ_base factor: PiPa's InfoNCE patch term has none (the weight absorbs it).
   */
  temperature: number;
  /**
   * Negatives without a hard selection. "otherClass" (default): other-class rows, as PiPa's
   * patch bank (§2.4) and the issue. "otherLocation": every other partner row, Fig. 2(b)'s
   * wording for the patch term ("features … at different locations"); memory rows stay
   * class-filtered (a class-wise memory exists to supply other-class negatives).
   */
  negatives: "otherClass" | "otherLocation";
  /**
   * Drop anchors whose two frames' labels differ (false by default: the partner is the positive
   * by correspondence, not by class; true treats disagreement as a flow error).
   */
  agreement: boolean;
  /**
   * Z: "valid" (default) divides by the active anchors, so confidence scales the term as
   * DAFormer's pseudo-weight scales its cross-entropy; "weight" divides by Σ w (a weighted mean).
   */
  normalise: "valid" | "weight";
  /** Anchor rows per chunk (memory: a few `rowChunk × (N + M)` matrices at a time). */
  rowChunk: number;
}

/** The defaults (reasons on each option). */
export const TEMPORAL_CONTRAST_DEFAULTS: Readonly<TemporalContrastOptions> = Object.freeze({
  temperature: 0.1,
  negatives: "otherClass",
  agreement: false,
  normalise: "valid",
  rowChunk: 256,
});

/** The correspondence of every position of frame t in frame t−k, flat over `[B, h, w]`. */
export interface Correspondence {
  /** `[B·h·w]` flat index of the corresponding position (its own index where invalid). */
  indices: Int32Array;
  /** `[B·h·w]` 1 where the corresponding position lies inside the frame. */
  valid: Uint8Array;
}

/**
 * Where each position of frame t is in frame t−k. With `flow` (`[B·h·w·2]`, (dx, dy) in grid
 * cells: the backward flow of the video-UDA code bases, §4) position (y, x) goes to
 * (round(y + dy), round(x + dx)), halves rounded up (`Math.round`), nearest-neighbour; outside
 * the grid or NaN is invalid. Without flow: the same location ("sameLocation"), all valid.
 */
export function flowCorrespondence(
  grid: readonly [number, number, number],
  flow?: ArrayLike<number>,
): Correspondence {
  const [batch, h, w] = grid;
  const n = batch * h * w;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const valid = new Uint8Array(n).fill(1);
  if (flow === undefined) return { indices, valid };
  if (flow.length !== 2 * n) throw new RangeError(`flowCorrespondence: flow needs ${2 * n} values`);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / (h * w));
    const y = Math.round(Math.floor(i / w) % h + flow[2 * i + 1]);
    const x = Math.round((i % w) + flow[2 * i]);
    if (y >= 0 && y < h && x >= 0 && x < w) indices[i] = (b * h + y) * w + x;
    else valid[i] = 0;
  }
  return { indices, valid };
}

/** Host-side facts of the columns and anchors, shared by every chunk. */
interface Plan {
  n: number;
  k: number;
  active: Uint8Array;
  /** w_i / Z. */
  weight: Float64Array;
  usable: Uint8Array;
  columnClass: Int32Array;
}

function makePlan(pairs: TemporalPairs, options: TemporalContrastOptions): Plan {
  const n = pairs.labels.length;
  const partnerLabels = pairs.partnerLabels ?? pairs.labels;
  const memoryClasses = pairs.memory?.classes ?? new Int32Array(0);
  const k = n + memoryClasses.length;
  const columnClass = new Int32Array(k);
  columnClass.set(partnerLabels);
  columnClass.set(memoryClasses, n);
  const usable = new Uint8Array(k);
  for (let j = 0; j < k; j++) {
    usable[j] = (j >= n || pairs.valid[j]) && labelled(columnClass[j]) ? 1 : 0;
  }
  const active = new Uint8Array(n);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const agrees = !options.agreement || pairs.labels[i] === partnerLabels[i];
    active[i] = pairs.valid[i] && labelled(pairs.labels[i]) && agrees ? 1 : 0;
    raw[i] = active[i] * (pairs.confidence?.[i] ?? 1);
  }
  const total = (v: ArrayLike<number>) =>
    Array.prototype.reduce.call(v, (s, x) => s + x, 0) as number;
  const z = options.normalise === "valid" ? Math.max(1, total(active)) : total(raw);
  const weight = raw.map((v) => (z > 0 ? v / z : 0));
  return { n, k, active, weight, usable, columnClass };
}

/** `[rows, K]` coefficients G_ij = P_ij w_i/(Z|P_i|) and negatives Q_ij of rows `start …`. */
function chunkMasks(
  plan: Plan,
  pairs: TemporalPairs,
  options: TemporalContrastOptions,
  start: number,
  rows: number,
) {
  const { n, k, usable, columnClass } = plan;
  const coefficient = new Float32Array(rows * k);
  const negative = new Float32Array(rows * k);
  const positive = new Uint8Array(k);
  for (let r = 0; r < rows; r++) {
    const i = start + r;
    if (!plan.active[i]) continue;
    positive.fill(0);
    positive[i] = 1;
    const hardPositives = pairs.hard?.positives;
    if (hardPositives) { for (const j of rowSet(hardPositives, i)) if (usable[j]) positive[j] = 1; }
    let count = 0;
    for (let j = 0; j < k; j++) count += positive[j];
    for (let j = 0; j < k; j++) if (positive[j]) coefficient[r * k + j] = plan.weight[i] / count;
    const isNegative = (j: number) => usable[j] && !positive[j] && j !== i;
    const hardNegatives = pairs.hard?.negatives;
    if (hardNegatives) {
      for (const j of rowSet(hardNegatives, i)) if (isNegative(j)) negative[r * k + j] = 1;
      continue;
    }
    const y = pairs.labels[i];
    const anyLocation = options.negatives === "otherLocation";
    for (let j = 0; j < k; j++) {
      if (isNegative(j) && ((anyLocation && j < n) || columnClass[j] !== y)) {
        negative[r * k + j] = 1;
      }
    }
  }
  return { coefficient, negative };
}

/** One chunk's `log p`, with what the gradient needs: E = e^{S − 1/τ}, A = Σ_k Q E, D = E + A. */
function chunkTerms(a: tf.Tensor2D, columns: tf.Tensor2D, negative: tf.Tensor2D, tau: number) {
  const logits = tf.sub(tf.div(tf.matMul(a, columns, false, true), tau), 1 / tau);
  const exp = tf.exp(logits);
  const negatives = tf.sum(tf.mul(exp, negative), 1, true);
  const denominator = tf.add(exp, negatives);
  return { exp, negatives, denominator, logP: tf.sub(logits, tf.log(denominator)) };
}

/** What both passes of one loss evaluation share. */
interface Setup {
  plan: Plan;
  tau: number;
  /** `[start, rows]` of each anchor chunk. */
  chunks: [number, number][];
  /** The chunk's G and Q as tensors. */
  masks: (start: number, rows: number) => { coefficient: tf.Tensor2D; negative: tf.Tensor2D };
  /** The contrast columns: the partner rows, then the memory rows. */
  columnsOf: (partners: tf.Tensor2D) => tf.Tensor2D;
}

function setupOf(pairs: TemporalPairs, options: TemporalContrastOptions): Setup {
  const plan = makePlan(pairs, options);
  const { n, k } = plan;
  const chunks: [number, number][] = [];
  for (let s = 0; s < n; s += options.rowChunk) chunks.push([s, Math.min(options.rowChunk, n - s)]);
  const masks = (start: number, rows: number) => {
    const m = chunkMasks(plan, pairs, options, start, rows);
    return {
      coefficient: tf.tensor2d(m.coefficient, [rows, k]),
      negative: tf.tensor2d(m.negative, [rows, k]),
    };
  };
  const columnsOf = (partners: tf.Tensor2D) =>
    (pairs.memory ? tf.concat([partners, pairs.memory.features]) : partners) as tf.Tensor2D;
  return { plan, tau: options.temperature, chunks, masks, columnsOf };
}

/** L = −Σ_chunks Σ_ij G_ij log p_ij. */
function lossValue(setup: Setup, anchors: tf.Tensor2D, partners: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const columns = setup.columnsOf(partners);
    const sums = setup.chunks.map(([start, rows]) =>
      tf.tidy(() => {
        const { coefficient, negative } = setup.masks(start, rows);
        const a = tf.slice(anchors, [start, 0], [rows, -1]) as tf.Tensor2D;
        return tf.sum(tf.mul(coefficient, chunkTerms(a, columns, negative, setup.tau).logP));
      })
    );
    return tf.neg(sums.length > 0 ? tf.addN(sums) : tf.scalar(0)) as tf.Scalar;
  });
}

/**
 * `[dL/d anchors, dL/d partners]`, chunk by chunk: with S = A·Bᵀ/τ,
 * `∂(Σ G log p)/∂S_ij = G_ij A_i/D_ij − Q_ij E_ij Σ_m G_im/D_im` (A_i the negatives' sum; the
 * positives pull through their own softmax, the negatives through every positive of the row),
 * then dA = dS·B/τ and dB = dSᵀ·A/τ, of which the memory rows' part is dropped.
 */
function lossGradients(
  setup: Setup,
  dy: tf.Tensor,
  anchors: tf.Tensor2D,
  partners: tf.Tensor2D,
): tf.Tensor[] {
  return tf.tidy(() => {
    const columns = setup.columnsOf(partners);
    const anchorGrads: tf.Tensor[] = [];
    let dColumns: tf.Tensor = tf.zerosLike(columns);
    for (const [start, rows] of setup.chunks) {
      const parts = tf.tidy(() => {
        const { coefficient, negative } = setup.masks(start, rows);
        const a = tf.slice(anchors, [start, 0], [rows, -1]) as tf.Tensor2D;
        const t = chunkTerms(a, columns, negative, setup.tau);
        const perDenominator = tf.div(coefficient, t.denominator);
        // dL/dS = −∂(Σ G log p)/∂S, since L = −Σ G log p.
        const dLogits = tf.sub(
          tf.mul(tf.mul(negative, t.exp), tf.sum(perDenominator, 1, true)),
          tf.mul(perDenominator, t.negatives),
        );
        const dS = tf.mul(dLogits, tf.div(dy, setup.tau));
        return { dA: tf.matMul(dS, columns), dB: tf.matMul(dS, a, true, false) };
      });
      anchorGrads.push(parts.dA);
      const next = tf.add(dColumns, parts.dB);
      tf.dispose([dColumns, parts.dB]);
      dColumns = next;
    }
    const dAnchors = anchorGrads.length > 0 ? tf.concat(anchorGrads) : tf.zerosLike(anchors);
    return [dAnchors, tf.slice(dColumns, [0, 0], [setup.plan.n, -1])];
  });
}

/**
 * The temporal contrast L (module documentation): a scalar, differentiable to `anchors` and
 * `partners`. The forward keeps none of its intermediates; the gradient recomputes each chunk.
 */
export function temporalContrastLoss(
  pairs: TemporalPairs,
  options: TemporalContrastOptions,
): tf.Scalar {
  const setup = setupOf(pairs, options);
  const loss = tf.customGrad(
    ((anchors: tf.Tensor2D, partners: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([anchors, partners]);
      return {
        value: lossValue(setup, anchors, partners),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          lossGradients(setup, dy, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return loss(pairs.anchors, pairs.partners) as tf.Scalar;
}

/**
 * The task-smart selection for {@linkcode temporalContrastLoss}: the similarities of every
 * anchor to the columns (partner rows, then memory rows), computed chunk by chunk outside the
 * gradient and read to the host synchronously (so a term can select inside its gradient; CPU
 * backends: wasm, cpu), go to `taskSmartSample`. Candidates: usable columns; an anchor's
 * own partner is excluded (it is the positive already); memory rows are negatives only unless
 * `memoryPositives` (the memory is described as a source of negatives).
 */
export function selectHard(
  pairs: TemporalPairs,
  options: Pick<TemporalContrastOptions, "agreement" | "rowChunk">,
  sampling: SamplingOptions,
  memoryPositives = false,
): HardSelection {
  const plan = makePlan(pairs, { ...TEMPORAL_CONTRAST_DEFAULTS, ...options });
  const n = plan.n;
  const positiveValid = plan.usable.map((u, j) => (j < n || memoryPositives ? u : 0));
  const anchorClasses = pairs.labels.map((y, i) => (plan.active[i] ? y : -1));
  const positives = [];
  const negatives = [];
  for (let start = 0; start < n; start += options.rowChunk) {
    const rows = Math.min(options.rowChunk, n - start);
    const similarity = tf.tidy(() => {
      const a = tf.slice(pairs.anchors, [start, 0], [rows, -1]);
      const columns = pairs.memory
        ? tf.concat([pairs.partners, pairs.memory.features])
        : pairs.partners;
      return tf.matMul(a, columns, false, true);
    });
    // Read before the next chunk: the sampling is host-side, and one chunk is alive at a time.
    // Read synchronously, so a loss term can select inside its gradient: CPU backends only.
    const values = similarity.dataSync() as Float32Array;
    similarity.dispose();
    const chosen = taskSmartSample({
      similarity: values,
      anchorClasses: anchorClasses.subarray(start, start + rows),
      candidateClasses: plan.columnClass,
      positiveValid,
      negativeValid: plan.usable,
      exclude: Int32Array.from({ length: rows }, (_, r) => start + r),
    }, sampling);
    positives.push(chosen.positives);
    negatives.push(chosen.negatives);
  }
  return { positives: concatRowSets(positives), negatives: concatRowSets(negatives) };
}
