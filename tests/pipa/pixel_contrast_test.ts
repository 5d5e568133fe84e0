/**
 * PiPa's pixel contrast (`runtime/losses/pixel_contrast.ts`, `runtime/blocks/pixel_contrast.ts`)
 * against hand-worked values: the (image, class) groups and n_view, the hard/easy quotas, the
 * sampled anchors, the SupCon loss on a 6-anchor example computed independently in float64, the
 * empty-anchor guard; and a tiny DAFormer run with the term that trains the projection head and
 * resumes bit for bit.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  anchorGroups,
  cropLabels,
  downsampleLabels,
  l2Normalize,
  quotas,
  sampleAnchors,
  supConLoss,
} from "../../runtime/losses/pixel_contrast.ts";
import { extend, pixelContrast } from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { train } from "../../runtime/train/loop.ts";
import { checkpointPath, readCheckpoint } from "../../runtime/train/checkpoint.ts";
import { fresh, reproducible, trainAndResume } from "../train/helpers.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";
import tinyHrda from "../fixtures/tiny_hrda.ts";

await useBackend("cpu");

const OPTIONS = { maxSamples: 1024, maxViews: 100, minPixels: 100, ignoreAsClass: false };

Deno.test("groups: classes with more than 100 pixels per image; n_view = min(⌊1024 / groups⌋, 100)", () => {
  // Two images of 400 pixels: image 0 has class 3 × 250, class 5 × 101, class 7 × 49; image 1
  // class 3 × 100 (not more than 100), 255 × 150, class 9 × 150.
  const labels = new Int32Array(800);
  labels.fill(3, 0, 250).fill(5, 250, 351).fill(7, 351, 400);
  labels.fill(3, 400, 500).fill(255, 500, 650).fill(9, 650, 800);
  const groups = anchorGroups(labels, 2, OPTIONS)!;
  assert.deepEqual(groups.images, [0, 0, 1]);
  assert.deepEqual(groups.classes, [3, 5, 9]);
  assert.equal(groups.views, 100); // ⌊1024 / 3⌋ = 341, capped at 100
  // The released quirk: 255 is a class.
  const quirk = anchorGroups(labels, 2, { ...OPTIONS, ignoreAsClass: true })!;
  assert.deepEqual(quirk.classes, [3, 5, 9, 255]);
  // 30 groups: n_view = ⌊1024 / 30⌋ = 34.
  const many = new Int32Array(30 * 101).map((_, i) => Math.floor(i / 101));
  assert.equal(anchorGroups(many, 1, OPTIONS)!.views, 34);
  // Nothing qualifies: no groups (the released code crashes there).
  assert.equal(anchorGroups(new Int32Array(400).fill(255), 1, OPTIONS), undefined);
});

Deno.test("quotas: ⌊n/2⌋ hard when both kinds suffice, else all of the scarcer kind", () => {
  const hard = tf.tensor1d([60, 80, 10, 50, 49]);
  const easy = tf.tensor1d([60, 5, 90, 50, 51]);
  // n = 100: both ≥ 50 → 50; only hard → 100 − 5; only easy → 10 hard; both exactly 50 → 50;
  // 49 hard, 51 easy → 49.
  assert.deepEqual(Array.from(quotas(hard, easy, 100).dataSync()), [50, 95, 10, 50, 49]);
  // Odd n = 7: both ≥ 3.5 → ⌊7/2⌋ = 3 hard, 4 easy.
  assert.deepEqual(Array.from(quotas(tf.tensor1d([4]), tf.tensor1d([4]), 7).dataSync()), [3]);
});

Deno.test("sampled anchors: n_view per group, hard ones mispredicted, easy ones right, no repeats", () => {
  // One image, a 4×6 grid: class 1 in the left half (12 px), class 2 in the right half (12 px).
  const labels = new Int32Array(24).map((_, i) => (i % 6 < 3 ? 1 : 2));
  // The prediction says 1 everywhere except 3 pixels of the left half, which it calls 2.
  const prediction = new Int32Array(24).fill(1);
  for (const i of [0, 7, 14]) prediction[i] = 2;
  const logits = tf.oneHot(tf.tensor1d(prediction, "int32"), 3).reshape([
    1,
    4,
    6,
    3,
  ]) as tf.Tensor4D;
  const options = { maxSamples: 16, maxViews: 8, minPixels: 2, ignoreAsClass: false };
  const groups = anchorGroups(labels, 1, options)!;
  assert.equal(groups.views, 8);
  const anchors = sampleAnchors(labels, logits, [1, 4, 6], groups, new RandomStream(3));
  const indices = Array.from(anchors.indices.dataSync());
  const selected = Array.from(anchors.selected.dataSync());
  assert.equal(indices.length, 2 * 2 * 8);
  const picked = indices.filter((_, k) => selected[k] === 1);
  assert.equal(picked.length, 16);
  // Class 1: 3 hard (< n/2 = 4) → all 3 hard and 5 easy. Class 2: 12 hard (all predicted 1), 0
  // easy → 8 hard.
  const group1 = indices.slice(0, 16).filter((_, k) => selected[k] === 1);
  const group2 = indices.slice(16).filter((_, k) => selected[16 + k] === 1);
  assert.deepEqual(group1.filter((i) => prediction[i] !== 1).sort((a, b) => a - b), [0, 7, 14]);
  assert.equal(group1.filter((i) => prediction[i] === 1 && labels[i] === 1).length, 5);
  assert.ok(group2.every((i) => labels[i] === 2 && prediction[i] !== 2) && group2.length === 8);
  assert.equal(new Set(picked).size, 16, "an anchor is drawn once");
  assert.deepEqual(Array.from(anchors.classes.slice(0, 16)), new Array(16).fill(1));
});

Deno.test("SupCon on 6 anchors equals the formula computed by hand in float64", () => {
  // Embeddings of 6 candidates in 3-d (then normalised), classes [0, 0, 1, 1, 1, 0]; candidate 5
  // is not selected, so it is neither an anchor nor in any contrast set.
  const raw = [
    [1, 0.2, 0],
    [0.8, 0.1, 0.3],
    [-0.2, 1, 0.1],
    [0, 0.9, -0.4],
    [0.3, 0.7, 0.6],
    [0.5, -0.5, 0.5],
  ];
  const classes = Int32Array.from([0, 0, 1, 1, 1, 0]);
  const selected = [1, 1, 1, 1, 1, 0];
  const tau = 0.1;
  const base = 0.07;
  const z = raw.map((r) => {
    const n = Math.hypot(...r);
    return r.map((v) => v / n);
  });
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
  let total = 0;
  let anchors = 0;
  const weights = { inverseCount: [] as number[], anchorWeight: [] as number[] };
  for (let i = 0; i < 6; i++) {
    const positives = [0, 1, 2, 3, 4, 5].filter((j) =>
      j !== i && selected[i] && selected[j] && classes[j] === classes[i]
    );
    weights.inverseCount.push(1 / Math.max(positives.length, 1));
    if (positives.length === 0) continue;
    const l = (j: number) => dot(z[i], z[j]) / tau;
    const negatives = [0, 1, 2, 3, 4, 5].filter((k) => selected[k] && classes[k] !== classes[i])
      .reduce((s, k) => s + Math.exp(l(k)), 0);
    const mean = positives.reduce((s, j) => s + l(j) - Math.log(Math.exp(l(j)) + negatives), 0) /
      positives.length;
    total += -(tau / base) * mean;
    anchors++;
  }
  const expected = total / anchors;
  for (let i = 0; i < 6; i++) weights.anchorWeight.push(i < 5 ? 1 / anchors : 0);
  const loss = supConLoss(
    l2Normalize(tf.tensor2d(raw)),
    {
      classes,
      sameClass: Float32Array.from(
        { length: 36 },
        (_, k) => classes[Math.floor(k / 6)] === classes[k % 6] ? 1 : 0,
      ),
      selected: tf.tensor1d(selected),
      inverseCount: tf.tensor1d(weights.inverseCount),
      anchorWeight: tf.tensor1d(weights.anchorWeight),
    },
    tau,
    base,
  ).dataSync()[0];
  assert.ok(Math.abs(loss - expected) < 1e-4 * Math.abs(expected), `${loss} vs ${expected}`);
});

Deno.test("sampleAnchors' weights: 1/|P(i)| and the mean over anchors with a positive", () => {
  // Class 1 has 3 pixels, class 2 has 1: with n_view 1 each group has one anchor, so no anchor has
  // a positive within its own class... except across images, as SupCon's positives are.
  const labels = Int32Array.from([1, 1, 1, 2, 1, 1, 1, 2]);
  const logits = tf.zeros([2, 1, 4, 3]) as tf.Tensor4D;
  const groups = anchorGroups(labels, 2, { ...OPTIONS, minPixels: 0, maxViews: 1 })!;
  assert.deepEqual(groups.classes, [1, 2, 1, 2]);
  const a = sampleAnchors(labels, logits, [2, 1, 4], groups, new RandomStream(1));
  const sel = Array.from(a.selected.dataSync());
  const counts = Array.from(a.inverseCount.dataSync());
  const weights = Array.from(a.anchorWeight.dataSync());
  // Candidates: per group one hard and one easy slot; exactly one of each pair is selected.
  assert.equal(sel.reduce((x, y) => x + y, 0), 4);
  // Every selected anchor has exactly one positive (its class in the other image): 1/1.
  sel.forEach((s, k) => s === 1 && assert.equal(counts[k], 1));
  // Four anchors with a positive: weight 1/4 each, 0 for the unselected.
  sel.forEach((s, k) => assert.equal(weights[k], s === 1 ? 0.25 : 0));
});

Deno.test("labels: nearest downsampling takes the top-left pixel; crops cut the box", () => {
  const labels = Int32Array.from({ length: 2 * 4 * 8 }, (_, i) => i);
  assert.deepEqual(Array.from(downsampleLabels(labels, 2, [4, 8], [2, 4])), [
    0,
    2,
    4,
    6,
    16,
    18,
    20,
    22,
    32,
    34,
    36,
    38,
    48,
    50,
    52,
    54,
  ]);
  assert.deepEqual(Array.from(cropLabels(labels, 1, [4, 8], [1, 2, 2, 3])), [
    10,
    11,
    12,
    18,
    19,
    20,
  ]);
});

const quiet = { name: "pixel", write: () => {}, terminal: false, command: [] };

Deno.test("a tiny DAFormer run with pixel contrast trains its head and resumes bit for bit", async () => {
  await useBackend("wasm");
  await ensureTinyEncoder();
  // 16² feature grids of 64² crops: 20 px per class is PiPa's 100 of a 160² grid, scaled.
  const experiment = extend(tinyDaformer, {
    losses: { pixel: pixelContrast({ minPixels: 20, projectionDim: 8 }) },
    run: { iterations: 6 },
    evaluation: { every: 6 },
  });
  const { dir: whole, records } = await trainAndResume(compile(experiment), ".cache/test-pixel", 3);
  const pixel = records.filter((r) => r.type === "train").map((r) => r.losses!.pixel);
  assert.ok(pixel.every((v) => Number.isFinite(v) && v > 0), `${pixel}`);
  const last = await readCheckpoint(checkpointPath(whole, 6));
  const moments = last.file.tensors.get("optimizer.proj_head.proj.2.weight.exp_avg");
  assert.ok(moments && (moments.data as Float32Array).some((v) => v !== 0), "head trained");
});

Deno.test("on HRDA the term reads the detail crop's features and runs a step", async () => {
  await useBackend("wasm");
  await ensureTinyEncoder();
  const losses: Record<string, number[]> = {};
  for (
    const [hardFrom, hrdaLabel] of [
      ["prediction", "cropped"],
      ["untrainedHead", "cropped"],
      ["prediction", "full"],
    ] as const
  ) {
    const experiment = extend(tinyHrda, {
      losses: { pixel: pixelContrast({ minPixels: 5, projectionDim: 8, hardFrom, hrdaLabel }) },
      run: { iterations: 2 },
      evaluation: { every: 2 },
    });
    const program = compile(experiment);
    const dir = await fresh(".cache/test-pixel", `hrda-${hardFrom}-${hrdaLabel}`);
    const finished = await train(program, { ...quiet, runDir: dir, resume: "auto" });
    assert.equal(finished.status, "finished", finished.message);
    const records = (await reproducible(dir)) as {
      type: string;
      losses?: Record<string, number>;
    }[];
    const pixel = records.filter((r) => r.type === "train").map((r) => r.losses!.pixel);
    assert.ok(pixel.every((v) => Number.isFinite(v)), `${pixel}`);
    losses[`${hardFrom}/${hrdaLabel}`] = pixel;
  }
  // The detail crop's box is what the labels are cut to: the whole crop's label (the released
  // misalignment) gives other anchors, so another loss from the same draws.
  assert.notDeepEqual(losses["prediction/cropped"], losses["prediction/full"]);
});
