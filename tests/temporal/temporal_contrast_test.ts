/**
 * PiPa++'s temporal contrast (`runtime/losses/temporal_contrast.ts`): hand-worked values on a
 * 3-row example for every option, the float64 reference on random examples, row chunks, the
 * task-smart selection on hand-made geometry, the memory as negatives, flow correspondences,
 * and no tensor leaks. The gradients are checked in `temporal_gradient_test.ts`.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import {
  flowCorrespondence,
  selectHard,
  TEMPORAL_CONTRAST_DEFAULTS,
  temporalContrastLoss,
  type TemporalContrastOptions,
} from "../../runtime/losses/temporal_contrast.ts";
import { rowSet, SAMPLING_DEFAULTS } from "../../runtime/losses/task_smart_sampling.ts";
import { entriesTensor, SemanticMemory } from "../../runtime/strategies/semantic_memory.ts";
import { type Example, pairsOf, randomExample, reference } from "./reference.ts";

await useBackend("cpu");

const defaults: TemporalContrastOptions = { ...TEMPORAL_CONTRAST_DEFAULTS };

async function lossOf(x: Example, options: TemporalContrastOptions): Promise<number> {
  const loss = tf.tidy(() => temporalContrastLoss(pairsOf(x), options));
  const value = (await loss.data())[0];
  loss.dispose();
  return value;
}

/**
 * Frame t: a0 = (1,0), a1 = (0,1), a2 = (1,0); frame t−k at the same points: p0 = (1,0),
 * p1 = (0,1), p2 = (0,1); classes 0, 1, 0. τ = 1 so the similarities are the exponents.
 */
const three: Example = {
  anchors: [[1, 0], [0, 1], [1, 0]],
  partners: [[1, 0], [0, 1], [0, 1]],
  valid: [1, 1, 1],
  labels: [0, 1, 0],
};
const ln = Math.log;
const e = Math.E;

Deno.test("temporal contrast: hand-worked values on three rows, for every option", async () => {
  const tau1 = { ...defaults, temperature: 1 };
  const cases: [string, Example, TemporalContrastOptions, number][] = [
    // Row 0: positive s = 1, negative p1 (s = 0): −ln(e/(e+1)). Row 1: positive 1, negatives p0
    // (0) and p2 (1): −ln(e/(2e+1)). Row 2: positive p2 (0), negative p1 (0): ln 2.
    ["plain", three, tau1, (ln(1 + 1 / e) + ln(2 + 1 / e) + ln(2)) / 3],
    // A memory row (1,0) of class 1 adds e¹ to the negatives of rows 0 and 2.
    [
      "memory",
      { ...three, memory: [[1, 0]], memoryClasses: [1] },
      tau1,
      (2 * ln(2 + 1 / e) + ln(2 + e)) / 3,
    ],
    // Confidences 1, 0.5, 0: "valid" divides by the 3 active rows, "weight" by 1.5.
    [
      "confidence/valid",
      { ...three, confidence: [1, 0.5, 0] },
      tau1,
      (ln(1 + 1 / e) + 0.5 * ln(2 + 1 / e)) / 3,
    ],
    [
      "confidence/weight",
      { ...three, confidence: [1, 0.5, 0] },
      { ...tau1, normalise: "weight" },
      (ln(1 + 1 / e) + 0.5 * ln(2 + 1 / e)) / 1.5,
    ],
    // Row 0 with hard positive p2 (s = 0): −½[(1 − ln(e+1)) + (0 − ln 2)].
    [
      "hard positive",
      { ...three, hardPositives: [[2], [], []] },
      tau1,
      ((ln(e + 1) + ln(2) - 1) / 2 + ln(2 + 1 / e) + ln(2)) / 3,
    ],
    // Row 1 invalid: neither an anchor nor a column. Row 0: only the memory row (s = 1) is a
    // negative: ln 2; row 2: ln(1 + e); two active rows.
    [
      "invalid row",
      { ...three, valid: [1, 0, 1], memory: [[1, 0]], memoryClasses: [1] },
      tau1,
      (ln(2) + ln(1 + e)) / 2,
    ],
    // Every other location: row 0 against p1, p2 (0, 0); row 1 against p0 (0), p2 (1); row 2
    // against p0 (1), p1 (0).
    [
      "otherLocation",
      three,
      { ...tau1, negatives: "otherLocation" },
      (ln(1 + 2 / e) + ln(2 + 1 / e) + ln(2 + e)) / 3,
    ],
    // Partner labels 0, 1, 1: row 2 disagrees. Row 0's negatives are p1 and p2 (now class 1):
    // ln(1 + 2/e); row 1's only p0: ln(1 + 1/e); row 2 (kept without `agreement`): ln 2.
    [
      "partner labels",
      { ...three, partnerLabels: [0, 1, 1] },
      tau1,
      (ln(1 + 2 / e) + ln(1 + 1 / e) + ln(2)) / 3,
    ],
    [
      "agreement",
      { ...three, partnerLabels: [0, 1, 1] },
      { ...tau1, agreement: true },
      (ln(1 + 2 / e) + ln(1 + 1 / e)) / 2,
    ],
    // τ = 0.1 (the default): row 0 −ln(e¹⁰/(e¹⁰+1)), row 1 −ln(e¹⁰/(2e¹⁰+1)), row 2 ln 2.
    ["τ 0.1", three, defaults, (ln(1 + e ** -10) + ln(2 + e ** -10) + ln(2)) / 3],
  ];
  for (const [name, x, options, byHand] of cases) {
    const ref = reference(x, options);
    assert.ok(Math.abs(ref - byHand) < 1e-12, `${name}: reference ${ref} vs by hand ${byHand}`);
    const got = await lossOf(x, options);
    assert.ok(Math.abs(got - byHand) <= 1e-6, `${name}: ${got} vs by hand ${byHand}`);
  }
});

Deno.test("temporal contrast: random examples against the float64 reference; chunks equal the whole", async () => {
  for (
    const [seed, n, c, m, hard] of [[1, 7, 3, 4, false], [2, 7, 3, 4, true], [
      3,
      60,
      8,
      20,
      false,
    ]] as const
  ) {
    const x = randomExample(seed, n, c, m, hard);
    for (
      const options of [
        defaults,
        { ...defaults, negatives: "otherLocation", agreement: true, normalise: "weight" },
      ] as TemporalContrastOptions[]
    ) {
      const expected = reference(x, options);
      const whole = await lossOf(x, { ...options, rowChunk: n });
      assert.ok(
        Math.abs(whole - expected) <= 1e-5 * Math.max(1, Math.abs(expected)),
        `seed ${seed}: ${whole} vs ${expected}`,
      );
      for (const rowChunk of [1, 3, 7, 256]) {
        const chunked = await lossOf(x, { ...options, rowChunk });
        assert.ok(Math.abs(chunked - whole) <= 1e-6, `chunk ${rowChunk}: ${chunked} vs ${whole}`);
      }
    }
  }
});

/**
 * Anchor 0 = (1,0) of class 0 against partner rows p0 (its own) … p5 and memory m0, m1 (columns
 * 6, 7); row 4 has no correspondence.
 */
const geometry: Example = {
  anchors: [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]],
  partners: [[1, 0], [0.6, 0.8], [0.8, 0.6], [0, 1], [-1, 0], [0.8, -0.6]],
  valid: [1, 1, 1, 1, 0, 1],
  labels: [0, 0, 0, 1, 1, 1],
  memory: [[0.6, -0.8], [0, 1]],
  memoryClasses: [1, 0],
};

Deno.test("temporal contrast: the task-smart selection on hand-made similarities, and the loss on it", async () => {
  const sampling = { ...SAMPLING_DEFAULTS, fraction: 0.5 };
  const pairs = pairsOf(geometry);
  for (const rowChunk of [6, 4]) {
    // Positives of anchor 0: partner rows of class 0 but its own: p1 (0.6), p2 (0.8); ⌊1⌋ = 1,
    // the lowest: p1. Negatives: usable class-1 columns p3 (0), p5 (0.8), m0 (0.6) (p4 has no
    // correspondence); ⌊1.5⌋ = 1, the highest: p5.
    const chosen = await selectHard(pairs, { ...defaults, rowChunk }, sampling);
    assert.deepEqual([...rowSet(chosen.positives, 0)], [1]);
    assert.deepEqual([...rowSet(chosen.negatives, 0)], [5]);
    // Row 4 is no anchor.
    assert.deepEqual([...rowSet(chosen.positives, 4), ...rowSet(chosen.negatives, 4)], []);
    // With memory positives, m1 (column 7, similarity 0) is the lowest of p1, p2, m1.
    const withMemory = await selectHard(pairs, { ...defaults, rowChunk }, sampling, true);
    assert.deepEqual([...rowSet(withMemory.positives, 0)], [7]);
    const x: Example = {
      ...geometry,
      hardPositives: [...Array(6).keys()].map((i) => [...rowSet(chosen.positives, i)]),
      hardNegatives: [...Array(6).keys()].map((i) => [...rowSet(chosen.negatives, i)]),
    };
    const got = (await temporalContrastLoss({ ...pairs, hard: chosen }, defaults).data())[0];
    assert.ok(
      Math.abs(got - reference(x, defaults)) <= 1e-5,
      `${got} vs ${reference(x, defaults)}`,
    );
  }
  tf.dispose([pairs.anchors, pairs.partners, pairs.memory!.features]);
});

Deno.test("temporal contrast: a semantic memory's entries as negatives", async () => {
  const memory = new SemanticMemory({
    classes: 2,
    capacity: 2,
    dim: 2,
    threshold: 0.9,
    perClassPerPush: 0,
  });
  // Class 1 keeps its newest two, (0.6, 0.8) and (1, 0); class 0's row is not confident.
  memory.push([0, 1, 0.6, 0.8, 1, 0, -1, 0], [1, 1, 1, 0], [1, 0.95, 0.9, 0.5]);
  const { features, classes } = entriesTensor(memory.all(), 2);
  const x: Example = {
    ...three,
    memory: [[Math.fround(0.6), Math.fround(0.8)], [1, 0]],
    memoryClasses: [1, 1],
  };
  const pairs = { ...pairsOf(three), memory: { features, classes } };
  const got = (await temporalContrastLoss(pairs, defaults).data())[0];
  assert.ok(Math.abs(got - reference(x, defaults)) <= 1e-5, `${got} vs ${reference(x, defaults)}`);
  assert.ok(Math.abs(got - reference(three, defaults)) > 1e-3, "the memory changed nothing");
  tf.dispose([pairs.anchors, pairs.partners, features]);
});

Deno.test("flow correspondences: nearest, halves rounded up, outside or NaN invalid, per image", () => {
  // Two 2×3 frames; (dx, dy) per position.
  const flow = [
    [1, 1],
    [0, 0],
    [0.5, 0],
    [0.5, 0],
    [0, -1.4],
    [-2.5, 0],
    [2, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [NaN, 0],
  ].flat();
  const { indices, valid } = flowCorrespondence([2, 2, 3], flow);
  // (0,0)+(1,1) → 4; (0,2)+0.5 → x 3: outside; (1,0)+0.5 → x 1 → 4; (1,1)−1.4 → y −0 → 1;
  // (1,2)−2.5 → x −0 → 3; image 1: (0,0)+2 → 6 + 2.
  assert.deepEqual([...indices], [4, 1, 2, 4, 1, 3, 8, 7, 8, 9, 10, 11]);
  assert.deepEqual([...valid], [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  const same = flowCorrespondence([1, 2, 2]);
  assert.deepEqual([...same.indices, ...same.valid], [0, 1, 2, 3, 1, 1, 1, 1]);
  assert.throws(() => flowCorrespondence([1, 2, 2], [0, 0]), /flow needs 8/);
});

Deno.test("temporal contrast: the loss, its gradients and the selection leak no tensor", async () => {
  const x = randomExample(4, 7, 3, 4, true);
  const anchors = tf.tensor2d(x.anchors);
  const partners = tf.tensor2d(x.partners);
  const pairs = pairsOf(x, anchors, partners);
  const before = tf.memory().numTensors;
  const options = { ...defaults, rowChunk: 3 };
  const grads = tf.grads((a: tf.Tensor, p: tf.Tensor) =>
    temporalContrastLoss(
      { ...pairs, anchors: a as tf.Tensor2D, partners: p as tf.Tensor2D },
      options,
    )
  )([anchors, partners]);
  tf.dispose(grads);
  tf.dispose(temporalContrastLoss(pairs, options));
  await selectHard(pairs, options, SAMPLING_DEFAULTS);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([anchors, partners, pairs.memory!.features]);
});
