/**
 * PiPa's pixel-wise contrast (`shared/reference/pipa_cluda.md` §1.4–1.6), a port of
 * ContrastiveSeg's loss without its memory bank: anchor sampling per (image, class) with the
 * hard/easy split, and the SupCon loss over the sampled embeddings.
 *
 * The groups (which classes of which image are sampled, and n_view) come from the labels on the
 * host; the hard/easy split needs the current prediction, which lives on the device inside the
 * gradient, so it is made there: each group's hard and easy pixels are ranked by random scores
 * (`topk`), the quotas computed from their counts, and the candidates outside a quota masked out
 * of the loss. No device value is read on the host, so GPU backends run it as they run the rest.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { RandomStream } from "../random.ts";
import { IGNORE_LABEL } from "../data/labels.ts";

/** What the groups of {@linkcode anchorGroups} depend on. */
export interface AnchorOptions {
  /** Anchors per batch at most (1024, `max_samples`). */
  maxSamples: number;
  /** Anchors per (image, class) at most (100, `max_views`). */
  maxViews: number;
  /** A class is sampled in an image with more than this many pixels (100). */
  minPixels: number;
  /** Count 255 as a class (the released quirk) instead of dropping it. */
  ignoreAsClass: boolean;
}

/** The sampled (image, class) groups and the anchors per group. */
export interface AnchorGroups {
  /** Image of each group. */
  images: number[];
  /** Class of each group. */
  classes: number[];
  /** n_view = min(⌊maxSamples / groups⌋, maxViews). */
  views: number;
}

/**
 * ContrastiveSeg's groups: per image (in order) the classes (ascending) with more than
 * `minPixels` pixels, and n_view = min(⌊maxSamples / groups⌋, maxViews); undefined when none
 * qualifies (the released code crashes there).
 */
export function anchorGroups(
  labels: ArrayLike<number>,
  batch: number,
  options: AnchorOptions,
): AnchorGroups | undefined {
  const size = labels.length / batch;
  const images: number[] = [];
  const classes: number[] = [];
  let smallest = Infinity;
  for (let b = 0; b < batch; b++) {
    const counts = new Map<number, number>();
    for (let i = b * size; i < (b + 1) * size; i++) {
      const c = labels[i];
      if (c === IGNORE_LABEL && !options.ignoreAsClass) continue;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    for (const [c, n] of [...counts].sort((x, y) => x[0] - y[0])) {
      if (n > options.minPixels) {
        images.push(b);
        classes.push(c);
        smallest = Math.min(smallest, n);
      }
    }
  }
  if (classes.length === 0) return undefined;
  // The smallest group's size binds only when minPixels < maxViews (the reference ties both to
  // 100, so every group has more pixels than n_view).
  const views = Math.min(
    Math.floor(options.maxSamples / classes.length),
    options.maxViews,
    smallest,
  );
  return views === 0 ? undefined : { images, classes, views };
}

/**
 * The hard/easy quotas of `_hard_anchor_sampling` for a group with `hard` and `easy` pixels:
 * ⌊n/2⌋ hard and the rest easy when both have n/2; else all of the scarcer kind and the rest
 * from the other. Written with tensor ops so it runs on the device, one value per group.
 */
export function quotas(hard: tf.Tensor1D, easy: tf.Tensor1D, views: number): tf.Tensor1D {
  return tf.tidy(() => {
    const half = views / 2;
    const hardEnough = tf.greaterEqual(hard, half);
    const easyEnough = tf.greaterEqual(easy, half);
    const both = tf.logicalAnd(hardEnough, easyEnough);
    const onlyHard = tf.sub(views, easy);
    return tf.where(
      both,
      tf.fill(hard.shape, Math.floor(views / 2)),
      tf.where(hardEnough, onlyHard, hard),
    ) as tf.Tensor1D;
  });
}

/**
 * The sampled anchors: each group's hard then easy candidates (2·n_view), which of them count, and
 * the weights of the SupCon mean that follow from the selection.
 */
export interface SampledAnchors {
  /** `[M]` indices (as floats) into the batch's `B·h·w` pixels, M = groups · 2·n_view. */
  indices: tf.Tensor1D;
  /** `[M]` 1 for a candidate inside its group's quota, 0 otherwise. */
  selected: tf.Tensor1D;
  /** `[M]` 1 / (number of its selected positives), or 1 where it has none. */
  inverseCount: tf.Tensor1D;
  /** `[M]` 1 / (selected anchors with a positive) for such an anchor, 0 for the others. */
  anchorWeight: tf.Tensor1D;
  /** The class of each candidate. */
  classes: Int32Array;
  /** `[M·M]` 1 where candidates i and j share a class (built once, read by the loss). */
  sameClass: Float32Array;
}

/**
 * Draws each group's anchors. `labels` (host, `B·h·w` of the feature `grid` `[B, h, w]`) and the
 * argmax of `logits` (device, resized to the grid) define hard (label c, prediction ≠ c) and easy pixels of the
 * group's image; each kind is ranked by U(0, 1) scores from `rng` and its first quota taken.
 *
 * The selection depends on the prediction but is no function to differentiate: it runs inside a
 * custom gradient that returns 0 for the logits, so its comparisons and `topk` stay off the tape.
 */
export function sampleAnchors(
  labels: Int32Array,
  logits: tf.Tensor4D,
  grid: readonly [number, number, number],
  groups: AnchorGroups,
  rng: RandomStream,
): SampledAnchors {
  const batch = grid[0];
  const pixels = labels.length;
  const size = pixels / batch;
  const g = groups.classes.length;
  const v = groups.views;
  const member = new Float32Array(g * pixels);
  const score = new Float32Array(g * pixels);
  groups.classes.forEach((c, k) => {
    const image = groups.images[k];
    for (let i = image * size; i < (image + 1) * size; i++) {
      if (labels[i] === c) member[k * pixels + i] = 1;
      // A member's score is in (1, 2]: above every non-member's 0.
      score[k * pixels + i] = 1 + (1 - rng.next());
    }
  });
  const m = g * 2 * v;
  const classes = new Int32Array(m);
  groups.classes.forEach((c, k) => classes.fill(c, k * 2 * v, (k + 1) * 2 * v));
  const same = sameClassMatrix(classes);
  const select = tf.customGrad(
    ((x: tf.Tensor4D) => {
      const value = tf.tidy(() => {
        const sameClass = tf.tensor2d(same, [m, m]);
        // The prediction at the feature grid (PyTorch `nearest`: the top-left source pixel).
        const [, h, w] = grid;
        const atGrid = x.shape[1] === h && x.shape[2] === w
          ? x
          : tf.image.resizeNearestNeighbor(x, [h, w]);
        const predictions = tf.argMax(atGrid, -1).reshape([-1]);
        const isMember = tf.tensor2d(member, [g, pixels]);
        const correct = tf.cast(tf.equal(predictions, tf.tensor1d(labels, "int32")), "float32");
        const easyMember = tf.mul(isMember, correct);
        const hardMember = tf.sub(isMember, easyMember);
        const keepHard = quotas(tf.sum(hardMember, 1), tf.sum(easyMember, 1), v);
        const keepEasy = tf.sub(v, keepHard);
        const scores = tf.tensor2d(score, [g, pixels]);
        const top = (kind: tf.Tensor) =>
          tf.cast(tf.topk(tf.mul(kind, scores), v).indices, "float32");
        const indices = tf.concat([top(hardMember), top(easyMember)], 1).reshape([-1]);
        const rank = tf.range(0, v).reshape([1, v]);
        const within = (keep: tf.Tensor) => tf.cast(tf.less(rank, keep.reshape([g, 1])), "float32");
        const selected = tf.concat([within(keepHard), within(keepEasy)], 1).reshape([-1]);
        // Selected positives per candidate: same class, both selected, not itself.
        const positives = tf.sub(tf.matMul(sameClass, selected.reshape([m, 1])).reshape([m]), 1);
        const count = tf.mul(positives, selected);
        const anchor = tf.cast(tf.greater(count, 0), "float32");
        const inverseCount = tf.div(1, tf.maximum(count, 1));
        const anchorWeight = tf.div(anchor, tf.maximum(tf.sum(anchor), 1));
        return tf.stack([indices, selected, inverseCount, anchorWeight]);
      });
      return { value, gradFunc: () => tf.zerosLike(x) };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return tf.tidy(() => {
    const packed = select(logits) as tf.Tensor2D;
    const [indices, selected, inverseCount, anchorWeight] = tf.unstack(packed) as tf.Tensor1D[];
    return {
      indices,
      selected,
      inverseCount,
      anchorWeight,
      classes,
      sameClass: same,
    };
  });
}

/**
 * The SupCon loss of ContrastiveSeg's `_contrastive` over embeddings `z` (`[M, D]`, unit norm) of
 * the candidates of {@linkcode sampleAnchors}: for a selected anchor i and a selected positive j
 * (same class, j ≠ i), `log p_ij = ℓ_ij − log(exp ℓ_ij + Σ_{k selected, class ≠} exp ℓ_ik)` with
 * `ℓ = z·zᵀ/τ − c`; `L_i = −(τ/τ_base) · mean_j log p_ij`; the mean over the selected anchors that
 * have a positive (the reference divides by zero for one that has none).
 *
 * The reference subtracts each row's maximum from ℓ to keep the exponentials small; the loss does
 * not depend on that constant, and with unit-norm embeddings every similarity is at most 1/τ, so
 * c = 1/τ is as stable and leaves no maximum to differentiate.
 */
export function supConLoss(
  z: tf.Tensor2D,
  anchors: Omit<SampledAnchors, "indices">,
  temperature: number,
  baseTemperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const m = z.shape[0];
    const sameClass = tf.tensor2d(anchors.sameClass, [m, m]);
    const { selected } = anchors;
    const pair = tf.mul(selected.reshape([m, 1]), selected.reshape([1, m]));
    const positive = tf.mul(tf.mul(sameClass, pair), tf.sub(1, tf.eye(m)));
    const negative = tf.mul(tf.sub(1, sameClass), selected.reshape([1, m]));
    const logits = tf.sub(tf.div(tf.matMul(z, z, false, true), temperature), 1 / temperature);
    const exp = tf.exp(logits);
    const negatives = tf.sum(tf.mul(exp, negative), 1, true);
    const logProb = tf.sub(logits, tf.log(tf.add(exp, negatives)));
    const meanPositive = tf.mul(tf.sum(tf.mul(positive, logProb), 1), anchors.inverseCount);
    const perAnchor = tf.mul(meanPositive, -(temperature / baseTemperature));
    return tf.sum(tf.mul(perAnchor, anchors.anchorWeight)) as tf.Scalar;
  });
}

/** `[M·M]` 1 where candidates i and j share a class. */
function sameClassMatrix(classes: Int32Array): Float32Array {
  const m = classes.length;
  const same = new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) if (classes[i] === classes[j]) same[i * m + j] = 1;
  }
  return same;
}

/**
 * Rows `indices` of `x` (`[N, D]`), with the gradient of `tf.gather` for `x` (rows summed back by
 * index, `UnsortedSegmentSum`) and none for the indices: a custom gradient, because the indices
 * come from the anchor selection, which sits on the tape, and tfjs's own gather gradient rejects
 * integer indices there. Checked against finite differences in `tests/backend/fd_cases.ts`.
 */
export const gatherRows: (x: tf.Tensor2D, indices: tf.Tensor1D) => tf.Tensor2D = tf.customGrad(
  ((x: tf.Tensor2D, indices: tf.Tensor1D, save: (t: tf.Tensor[]) => void) => {
    save([indices]);
    const n = x.shape[0];
    return {
      value: tf.gather(x, tf.cast(indices, "int32")),
      gradFunc: (dy: tf.Tensor2D, [saved]: tf.Tensor[]) => [
        tf.unsortedSegmentSum(dy, tf.cast(saved, "int32") as tf.Tensor1D, n),
        tf.zerosLike(saved),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as (x: tf.Tensor2D, indices: tf.Tensor1D) => tf.Tensor2D;

/** L2-normalises along the last axis (`F.normalize`, its eps 1e-12 on the norm squared here). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-24))) as T);
}

/**
 * Nearest downsampling of `[B, H, W]` labels to `[B, h, w]` as PyTorch's `nearest`: source pixel
 * ⌊y·H/h⌋, ⌊x·W/w⌋ (the top-left pixel of each cell).
 */
export function downsampleLabels(
  labels: ArrayLike<number>,
  batch: number,
  from: readonly [number, number],
  to: readonly [number, number],
): Int32Array {
  const [height, width] = from;
  const [h, w] = to;
  const out = new Int32Array(batch * h * w);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      const sy = Math.floor((y * height) / h);
      for (let x = 0; x < w; x++) {
        out[(b * h + y) * w + x] = labels[(b * height + sy) * width + Math.floor((x * width) / w)];
      }
    }
  }
  return out;
}

/** The `box` `[top, left, height, width]` of `[B, H, W]` labels. */
export function cropLabels(
  labels: ArrayLike<number>,
  batch: number,
  size: readonly [number, number],
  box: readonly [number, number, number, number],
): Int32Array {
  const [height, width] = size;
  const [top, left, h, w] = box;
  const out = new Int32Array(batch * h * w);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(b * h + y) * w + x] = labels[(b * height + top + y) * width + left + x];
      }
    }
  }
  return out;
}
