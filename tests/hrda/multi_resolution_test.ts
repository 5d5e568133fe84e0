/**
 * HRDA's arithmetic on hand-made inputs (`runtime/nn/multi_resolution.ts`), each against values
 * worked out independently here: the fusion inside and outside the detail box and at its edges,
 * the sliding-window grid and its overlap counts, the detail-box offsets, the attention mask and
 * the two-part loss.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  averageWindows,
  boxMask,
  contextCrop,
  coverage,
  cutWindows,
  fuseScales,
  placeOnCanvas,
  sampleDetailBox,
  scaleBox,
  slidingWindows,
} from "../../runtime/nn/multi_resolution.ts";
import { crossEntropy, weightedCrossEntropy } from "../../runtime/losses/cross_entropy.ts";

await tf.setBackend("cpu");

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance,
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("fusion: detail where the attention is 1, context where it is 0, a blend between", () => {
  // Context logits and attention at the context grid 2×3, detail canvas at the crop grid 2×3
  // (same grid, so no upsampling): fused = a·hr + (1 − a)·lr exactly.
  const lr = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
  const a = tf.tensor4d([0, 1, 0.25, 0, 1, 0.5], [1, 2, 3, 1]);
  const hr = tf.tensor4d([10, 20, 30, 40, 50, 60], [1, 2, 3, 1]);
  const fused = fuseScales(lr, a, hr).dataSync();
  close(fused, [1, 20, 0.25 * 30 + 0.75 * 3, 4, 50, 0.5 * 60 + 0.5 * 6]);
});

Deno.test("fusion upsamples the attention and the weighted context separately (×2, half-pixel)", () => {
  // One context cell per 2×2 crop cells: lr [[2, 4]], a [[1, 0]] at 1×2; the crop grid is 2×4.
  const lr = tf.tensor4d([2, 4], [1, 1, 2, 1]);
  const a = tf.tensor4d([1, 0], [1, 1, 2, 1]);
  const hr = tf.tensor4d([7, 7, 7, 7, 7, 7, 7, 7], [1, 2, 4, 1]);
  // Half-pixel bilinear ×2 of [v0, v1] along a row: [v0, 0.75·v0 + 0.25·v1, 0.25·v0 + 0.75·v1, v1].
  const up = (v0: number, v1: number) => [v0, 0.75 * v0 + 0.25 * v1, 0.25 * v0 + 0.75 * v1, v1];
  const upA = up(1, 0);
  const upWeightedLr = up((1 - 1) * 2, (1 - 0) * 4);
  const row = upA.map((ai, i) => ai * 7 + upWeightedLr[i]);
  close(fuseScales(lr, a, hr).dataSync(), [...row, ...row]);
  // Not the same as upsampling the blend: (1 − up(a))·up(lr) differs at the box edge.
  const upLr = up(2, 4);
  const naive = upA.map((ai, i) => ai * 7 + (1 - ai) * upLr[i]);
  assert.notDeepEqual(row, naive);
  // That blend is CLUDA's released order (`fuseAfterUpsampling`).
  close(fuseScales(lr, a, hr, true).dataSync(), [...naive, ...naive]);
});

Deno.test("the detail canvas is zero outside the box and the logits inside it", () => {
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
  const canvas = placeOnCanvas(x, [4, 5], [1, 2, 2, 3]).dataSync();
  const expected = new Float32Array(20);
  [[1, 2, 1], [1, 3, 2], [1, 4, 3], [2, 2, 4], [2, 3, 5], [2, 4, 6]].forEach(([y, xx, v]) =>
    expected[y * 5 + xx] = v
  );
  close(canvas, expected);
  assert.throws(() => placeOnCanvas(x, [4, 5], [0, 0, 3, 3]), /sizes differ/);
});

Deno.test("inside the box fused = a·detail + (1 − a)·context, outside it the context alone", () => {
  // A 16×16 crop: context grid 2×2 (stride 8 of the crop), crop grid 4×4 (stride 4). Detail box
  // [8, 8, 8, 8] px = cells [1, 1, 1, 1] of the context grid and [2, 2, 2, 2] of the crop grid.
  const box = [8, 8, 8, 8] as const;
  const contextGrid = [2, 2] as const;
  const mask = boxMask(contextGrid, scaleBox(box, 8));
  close(mask.dataSync(), [0, 0, 0, 1]);
  const lr = tf.fill([1, 2, 2, 1], 3) as tf.Tensor4D;
  const a = tf.mul(tf.fill([1, 2, 2, 1], 0.6), mask) as tf.Tensor4D;
  const detail = tf.fill([1, 2, 2, 1], 10) as tf.Tensor4D;
  const canvas = placeOnCanvas(detail, [4, 4], scaleBox(box, 4));
  const fused = fuseScales(lr, a, canvas).arraySync()[0].map((row) => row.map((v) => v[0]));
  // Far from the box (top-left cell): attention 0 after upsampling, fused = context = 3.
  close([fused[0][0]], [3]);
  // Bottom-right corner, fully inside: up(a) = 0.6, up((1 − a)·lr) = 0.4·3.
  close([fused[3][3]], [0.6 * 10 + 0.4 * 3]);
  // Box edge (row 2, column 3): bilinear weights 0.75 / 0.25 between context rows 1 and 0.
  const edgeA = 0.75 * 0.6;
  const edgeLr = 0.25 * 3 + 0.75 * (0.4 * 3);
  close([fused[2][3]], [edgeA * 10 + edgeLr]);
  // Just outside the box (row 1, column 3): the canvas is 0 there, so only the context remains.
  const outsideLr = 0.75 * 3 + 0.25 * (0.4 * 3);
  close([fused[1][3]], [outsideLr]);
});

Deno.test("sliding windows: the reference's grid, clipped to the image, covering it exactly", () => {
  // 256² crop, 128² windows at stride 64: 3×3 windows at 0, 64, 128.
  const grid = slidingWindows([256, 256], [128, 128], [64, 64]);
  assert.equal(grid.length, 9);
  assert.deepEqual(grid.map((b) => b[0]), [0, 0, 0, 64, 64, 64, 128, 128, 128]);
  assert.deepEqual(grid.map((b) => b[1]), [0, 64, 128, 0, 64, 128, 0, 64, 128]);
  // 1024² windows at stride 512 over 2048×1024: 1 row × 3 columns (§6.4).
  assert.deepEqual(slidingWindows([1024, 2048], [1024, 1024], [512, 512]), [
    [0, 0, 1024, 1024],
    [0, 512, 1024, 1024],
    [0, 1024, 1024, 1024],
  ]);
  // A stride that does not divide: the last window is moved back to end at the border.
  assert.deepEqual(slidingWindows([10, 7], [4, 4], [3, 3]).map((b) => `${b}`), [
    "0,0,4,4",
    "0,3,4,4",
    "3,0,4,4",
    "3,3,4,4",
    "6,0,4,4",
    "6,3,4,4",
  ]);
  // A window larger than the image becomes the image.
  assert.deepEqual(slidingWindows([6, 9], [8, 8], [4, 4]), [[0, 0, 6, 8], [0, 1, 6, 8]]);
  // Overlap counts of the 3×3 grid at stride 4 (cells): corners 1, edges 2, centre 4.
  const counts = coverage(grid.map((b) => scaleBox(b, 4)), [64, 64]);
  const at = (y: number, x: number) => counts[y * 64 + x];
  assert.deepEqual([at(0, 0), at(0, 20), at(20, 20), at(40, 20), at(40, 40), at(63, 63)], [
    1,
    2,
    4,
    4,
    4,
    1,
  ]);
  assert.equal(counts.reduce((a, b) => a + b, 0), 9 * 32 * 32);
  assert.throws(() => coverage([[0, 0, 2, 2]], [2, 3]), /uncovered/);
});

Deno.test("window averaging: each cell is the mean of the windows that cover it", () => {
  // Two images, 3 windows of 2×2 over a 2×4 grid; window k of image i is filled with 10i + k.
  const boxes = slidingWindows([2, 4], [2, 2], [1, 1]);
  assert.equal(boxes.length, 3);
  const values: number[] = [];
  for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) values.push(...Array(4).fill(10 * i + k));
  const windows = tf.tensor4d(values, [6, 2, 2, 1]);
  const averaged = averageWindows(windows, boxes, [2, 4]).dataSync();
  // Columns: 0 → window 0; 1 → windows 0, 1; 2 → windows 1, 2; 3 → window 2.
  const row = (i: number) => [10 * i, 10 * i + 0.5, 10 * i + 1.5, 10 * i + 2];
  close(averaged, [...row(0), ...row(0), ...row(1), ...row(1)]);
});

Deno.test("cutting windows and averaging them back returns the image", () => {
  const rng = new RandomStream(3);
  const image = tf.tensor4d(rng.normalArray(2 * 12 * 10 * 3), [2, 12, 10, 3]);
  const boxes = slidingWindows([12, 10], [8, 8], [4, 4]);
  const windows = cutWindows(image, boxes);
  assert.deepEqual(windows.shape, [2 * boxes.length, 8, 8, 3]);
  close(averageWindows(windows, boxes, [12, 10]).dataSync(), image.dataSync());
});

Deno.test("detail-box offsets: multiples of k, in range, the reference's choices", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const [top, left, h, w] = sampleDetailBox(new RandomStream(i), [1024, 1024], [512, 512], 8);
    assert.deepEqual([h, w], [512, 512]);
    for (const v of [top, left]) {
      assert.equal(v % 8, 0);
      assert.ok(v >= 0 && v + 512 <= 1024);
      seen.add(v);
    }
  }
  // randint(0, (512 + 1) // 8) · 8: 0, 8, …, 504 all drawn, 512 never (the reference's quirk).
  assert.equal(seen.size, 64);
  assert.ok(!seen.has(512) && seen.has(504) && seen.has(0));
  // Non-square crops: each axis has its own range.
  for (let i = 0; i < 200; i++) {
    const [top, left] = sampleDetailBox(new RandomStream(i), [64, 256], [32, 128], 8);
    assert.ok(top <= 32 && left <= 128 && top % 8 === 0 && left % 8 === 0);
  }
  assert.throws(() => sampleDetailBox(new RandomStream(0), [64, 64], [128, 64], 8), /larger/);
});

Deno.test("the attention mask covers the box's cells of the context grid, nothing else", () => {
  // 64×96 crop, context × 0.5 → context logits 8×12 (stride 8 of the crop); box at (16, 40), 32².
  const mask = boxMask([8, 12], scaleBox([16, 40, 32, 32], 8)).dataSync();
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 12; x++) {
      const inside = y >= 2 && y < 6 && x >= 5 && x < 9;
      assert.equal(mask[y * 12 + x], inside ? 1 : 0, `cell ${y},${x}`);
    }
  }
  assert.throws(() => scaleBox([4, 0, 8, 8], 8), /whole cells/);
});

Deno.test("the two-part loss: (1 − λ_d)·CE(fused) + λ_d·CE(detail on its box of the labels)", () => {
  const rng = new RandomStream(11);
  const fused = tf.tensor4d(rng.normalArray(2 * 4 * 6 * 5), [2, 4, 6, 5]);
  const detail = tf.tensor4d(rng.normalArray(2 * 2 * 3 * 5), [2, 2, 3, 5]);
  const labels = Int32Array.from(
    { length: 2 * 16 * 24 },
    () => rng.int(6) === 5 ? 255 : rng.int(5),
  );
  const label = tf.tensor3d(labels, [2, 16, 24], "int32");
  const weight = tf.tensor3d(rng.uniformArray(2 * 16 * 24), [2, 16, 24]);
  const box = [4, 8, 8, 12] as const;
  const loss = weightedCrossEntropy(
    [
      { logits: fused, weight: 0.9 },
      { logits: detail, weight: 0.1, box },
    ],
    label,
    { weight },
  ).dataSync()[0];
  // Independently: the detail part against labels and weights cut by hand.
  const cut = (t: tf.Tensor3D) =>
    tf.tensor3d(
      t.arraySync().map((img) => img.slice(4, 12).map((row) => row.slice(8, 20))),
    );
  const cutLabel = tf.tensor3d(
    label.arraySync().map((img) => img.slice(4, 12).map((row) => row.slice(8, 20))),
    [2, 8, 12],
    "int32",
  );
  const expected = 0.9 * crossEntropy(fused, label, { weight }).dataSync()[0] +
    0.1 * crossEntropy(detail, cutLabel, { weight: cut(weight) }).dataSync()[0];
  close([loss], [expected], 1e-5);
  // A single whole-crop part of weight 1 is the plain cross-entropy.
  close(
    weightedCrossEntropy([{ logits: fused, weight: 1 }], label).dataSync(),
    crossEntropy(fused, label).dataSync(),
  );
});

Deno.test("the context crop × 0.5 is the 2×2 average of the crop", () => {
  const rng = new RandomStream(5);
  const values = rng.normalArray(1 * 4 * 6 * 2);
  const context = contextCrop(tf.tensor4d(values, [1, 4, 6, 2]), 0.5);
  assert.deepEqual(context.shape, [1, 2, 3, 2]);
  const expected: number[] = [];
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 3; x++) {
      for (let c = 0; c < 2; c++) {
        const v = (yy: number, xx: number) => values[(yy * 6 + xx) * 2 + c];
        expected.push(
          (v(2 * y, 2 * x) + v(2 * y, 2 * x + 1) + v(2 * y + 1, 2 * x) + v(2 * y + 1, 2 * x + 1)) /
            4,
        );
      }
    }
  }
  close(context.dataSync(), expected);
});
