/**
 * PiPa++'s task-smart sampling (`runtime/losses/task_smart_sampling.ts`) on hand-made
 * similarities: the exact 10 % chosen, ties, the minimum-one rule, pooled and per-class negative
 * quotas, exclusions and validity masks, and the quota's rounding.
 */
import { strict as assert } from "node:assert";
import {
  concatRowSets,
  pickExtreme,
  quota,
  rowSet,
  SAMPLING_DEFAULTS,
  type SamplingInput,
  type SamplingOptions,
  taskSmartSample,
  toRowSets,
} from "../../runtime/losses/task_smart_sampling.ts";

const defaults: SamplingOptions = { ...SAMPLING_DEFAULTS };

/** One anchor of class 0 against candidates of the given classes and similarities. */
function oneAnchor(classes: number[], similarity: number[], extra: Partial<SamplingInput> = {}) {
  return {
    similarity: Float32Array.from(similarity),
    anchorClasses: Int32Array.from([0]),
    candidateClasses: Int32Array.from(classes),
    ...extra,
  };
}

const chosen = (input: SamplingInput, options = defaults) => {
  const s = taskSmartSample(input, options);
  return { positives: [...rowSet(s.positives, 0)], negatives: [...rowSet(s.negatives, 0)] };
};

Deno.test("task-smart sampling: the lowest 10 % of 40 same-class and the highest 10 % of 20 other-class candidates", () => {
  // Candidates 0–39 share the anchor's class at similarity 0.9, except four planted low ones and
  // a decoy that is the fifth lowest (0.35): ⌊0.1 · 40⌋ = 4 are 5, 17, 23, 38.
  // Candidates 40–59 are of class 1 at −0.5, except 44 (0.95), 51 (0.7) and a decoy 57 (0.6):
  // ⌊0.1 · 20⌋ = 2 are 44 and 51.
  const classes = Array.from({ length: 60 }, (_, j) => (j < 40 ? 0 : 1));
  const similarity = classes.map((c) => (c === 0 ? 0.9 : -0.5));
  Object.assign(similarity, { 5: 0.1, 17: 0.2, 23: 0.3, 38: 0.15, 30: 0.35 });
  Object.assign(similarity, { 44: 0.95, 51: 0.7, 57: 0.6 });
  const got = chosen(oneAnchor(classes, similarity));
  assert.deepEqual(got.positives, [5, 17, 23, 38]);
  assert.deepEqual(got.negatives, [44, 51]);
  // 20 % takes the decoys too, and fills up from the tied rest by the lowest index: 8 positives
  // (the five low ones, then 0, 1, 2 of the 0.9s) and 4 negatives (44, 51, 57, then 40).
  const wider = chosen(oneAnchor(classes, similarity), { ...defaults, fraction: 0.2 });
  assert.deepEqual(wider.positives, [0, 1, 2, 5, 17, 23, 30, 38]);
  assert.deepEqual(wider.negatives, [40, 44, 51, 57]);
});

Deno.test("task-smart sampling: ties at the cut go to the lower index, in both directions; −0 ties +0", () => {
  assert.deepEqual(pickExtreme([0.5, 0.3, 0.1, 0.3, 0.3], [0, 1, 2, 3, 4], 2, "lowest"), [1, 2]);
  assert.deepEqual(pickExtreme([0.5, 0.3, 0.1, 0.3, 0.3], [0, 1, 2, 3, 4], 3, "lowest"), [1, 2, 3]);
  assert.deepEqual(pickExtreme([0.2, 0.7, 0.7, 0.9, 0.7], [0, 1, 2, 3, 4], 2, "highest"), [1, 3]);
  assert.deepEqual(pickExtreme([-0, 0, -0, 0], [0, 1, 2, 3], 1, "highest"), [0]);
  assert.deepEqual(pickExtreme([0, -0, 0, -0], [0, 1, 2, 3], 1, "lowest"), [0]);
  // Ten equal same-class and ten equal other-class candidates: the first of each.
  const classes = Array.from({ length: 20 }, (_, j) => (j < 10 ? 0 : 2));
  const got = chosen(oneAnchor(classes, classes.map(() => 0.25)));
  assert.deepEqual(got, { positives: [0], negatives: [10] });
  // The same candidates presented through a subset keep the subset's order.
  assert.deepEqual(pickExtreme(classes.map(() => 0.25), [13, 15, 17], 2, "highest"), [13, 15]);
});

Deno.test("task-smart sampling: at least one from a non-empty set (minimum 1), none with minimum 0", () => {
  // Three same-class candidates (⌊0.3⌋ = 0) and two of another class.
  const classes = [0, 1, 0, 0, 1];
  const similarity = [0.8, 0.1, 0.4, 0.6, 0.3];
  assert.deepEqual(chosen(oneAnchor(classes, similarity)), { positives: [2], negatives: [4] });
  assert.deepEqual(chosen(oneAnchor(classes, similarity), { ...defaults, minimum: 0 }), {
    positives: [],
    negatives: [],
  });
  // No same-class candidate at all: no positive, still a negative.
  assert.deepEqual(chosen(oneAnchor([1, 1], [0.2, 0.4])), { positives: [], negatives: [1] });
  assert.equal(quota(0, defaults), 0);
  assert.equal(quota(5, defaults), 1);
  assert.equal(quota(5, { fraction: 0.1, minimum: 0 }), 0);
  assert.equal(quota(25, defaults), 2);
  assert.equal(quota(2, { fraction: 0.1, minimum: 3 }), 2);
  // ⌊0.29 · 100⌋ is 29 although 0.29 · 100 is 28.999999999999996 in float64.
  assert.equal(quota(100, { fraction: 0.29, minimum: 1 }), 29);
  assert.equal(quota(7, { fraction: 1, minimum: 1 }), 7);
});

Deno.test("task-smart sampling: pooled negatives follow the similarity; per class each class gives its own", () => {
  // Class 1: ten candidates at high similarity; class 2: three at low similarity.
  const classes = [...Array(10).fill(1), 2, 2, 2, 0];
  const similarity = [0.9, 0.8, 0.95, 0.7, 0.6, 0.85, 0.5, 0.65, 0.75, 0.55, -0.1, 0.1, 0.0, 0.3];
  // Pooled: ⌊0.1 · 13⌋ = 1, the 0.95 of class 1. Per class: ⌊1.0⌋ = 1 of class 1 and the
  // minimum one of class 2 (its highest, 0.1 at index 11).
  assert.deepEqual(chosen(oneAnchor(classes, similarity)).negatives, [2]);
  const perClass = chosen(oneAnchor(classes, similarity), {
    ...defaults,
    negativeQuota: "perClass",
  });
  assert.deepEqual(perClass.negatives, [2, 11]);
  assert.deepEqual(perClass.positives, [13]);
});

Deno.test("task-smart sampling: exclusions, validity masks and unlabelled anchors or candidates", () => {
  // Candidate 0 is the anchor's own partner (excluded), 1 may not be a positive, 4 not a
  // negative, 5 is unlabelled (255) and 6 an empty slot (−1).
  const classes = [0, 0, 0, 1, 1, 1, -1];
  const similarity = [0.0, -0.5, 0.5, 0.1, 0.9, 0.99, 0.99];
  const input = oneAnchor(classes, similarity, {
    exclude: Int32Array.from([0]),
    positiveValid: [1, 0, 1, 1, 1, 1, 1],
    negativeValid: [1, 1, 1, 1, 0, 1, 1],
  });
  input.candidateClasses[5] = 255;
  assert.deepEqual(chosen(input), { positives: [2], negatives: [3] });
  // An unlabelled anchor gets empty sets.
  const none = taskSmartSample({ ...input, anchorClasses: Int32Array.from([255]) }, defaults);
  assert.deepEqual([...none.positives.offsets, ...none.negatives.offsets], [0, 0, 0, 0]);
});

Deno.test("task-smart sampling: several anchors, their row sets, and concatenation", () => {
  // Two anchors (classes 0 and 1) over four candidates (classes 0, 0, 1, 1).
  const similarity = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6]);
  const input = {
    similarity,
    anchorClasses: Int32Array.from([0, 1]),
    candidateClasses: Int32Array.from([0, 0, 1, 1]),
  };
  const s = taskSmartSample(input, defaults);
  assert.deepEqual([...s.positives.offsets], [0, 1, 2]);
  assert.deepEqual([...s.positives.indices], [0, 3]);
  assert.deepEqual([...s.negatives.indices], [3, 0]);
  const both = concatRowSets([s.negatives, toRowSets([[1, 2], []])]);
  assert.deepEqual([...both.offsets], [0, 1, 2, 4, 4]);
  assert.deepEqual([...both.indices], [3, 0, 1, 2]);
});

Deno.test("task-smart sampling rejects a bad fraction, minimum, shape or NaN", () => {
  const input = oneAnchor([0, 1], [0.1, 0.2]);
  assert.throws(() => taskSmartSample(input, { ...defaults, fraction: 0 }), /fraction/);
  assert.throws(() => taskSmartSample(input, { ...defaults, fraction: 1.5 }), /fraction/);
  assert.throws(() => taskSmartSample(input, { ...defaults, minimum: 0.5 }), /minimum/);
  assert.throws(() => taskSmartSample(oneAnchor([0, 1], [0.1]), defaults), /similarity/);
  assert.throws(() => taskSmartSample(oneAnchor([0, 1], [0.1, NaN]), defaults), /NaN/);
});
