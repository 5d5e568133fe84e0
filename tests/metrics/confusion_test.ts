import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { ConfusionMatrix, nanMean } from "../../runtime/eval/confusion.ts";
import { confusionFromTensors } from "../../runtime/eval/confusion_tensor.ts";
import { colourise } from "../../runtime/eval/colourise.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("metrics match a hand-worked 4-class confusion matrix", () => {
  // Classes 0..3. Class 2 is in neither prediction nor label; class 3 only in the prediction.
  const label = [0, 0, 0, 1, 1, 255, 0, 1];
  const pred = [0, 0, 1, 1, 3, 2, 0, 1];
  const m = new ConfusionMatrix(4).update(pred, label);
  // Non-ignored pixels: 7. Label 0: pred 0,0,1,0 → I0 = 3, gt0 = 4, pred0 = 3 → IoU 3/4.
  // Label 1: pred 1,3,1 → I1 = 2, gt1 = 3, pred1 = 3 (one from label 0) → IoU 2/4.
  // Class 2: absent (its only prediction is on an ignored pixel) → NaN. Class 3: I 0, pred 1 → 0.
  const iou = m.iou();
  assert.equal(iou[0], 0.75);
  assert.equal(iou[1], 0.5);
  assert.ok(Number.isNaN(iou[2]));
  assert.equal(iou[3], 0);
  const names = ["a", "b", "c", "d"];
  const result = m.metrics("19", names);
  assert.ok(
    Math.abs(result.mIoU - (0.75 + 0.5 + 0) / 3) < 1e-12,
    "NaN class excluded from the mean",
  );
  assert.ok(Math.abs(result.aAcc - 5 / 7) < 1e-12);
  assert.ok(
    Math.abs(result.mAcc - (3 / 4 + 2 / 3) / 2) < 1e-12,
    "accuracy only over classes in the label",
  );
  assert.deepEqual(result.iou, { a: 0.75, b: 0.5, c: null, d: 0 });
  assert.equal(result.pixels, 7);
  assert.throws(() => new ConfusionMatrix(4).update([5], [0]), /prediction 5/);
  assert.ok(Number.isNaN(nanMean([NaN])));
});

Deno.test("the 16- and 13-class protocols average only their classes", () => {
  const m = new ConfusionMatrix(19);
  // Every class predicted perfectly except wall (3) entirely wrong (predicted as road).
  const label: number[] = [];
  const pred: number[] = [];
  for (let c = 0; c < 19; c++) {
    label.push(c);
    pred.push(c === 3 ? 0 : c);
  }
  m.update(pred, label);
  // Road: I 1, gt 1, pred 2 → 0.5; wall 0; others 1.
  assert.ok(Math.abs(m.metrics("19").mIoU - (17 + 0.5) / 19) < 1e-12);
  assert.ok(Math.abs(m.metrics("16").mIoU - (14 + 0.5) / 16) < 1e-12);
  assert.ok(Math.abs(m.metrics("13").mIoU - (12 + 0.5) / 13) < 1e-12);
  assert.equal(Object.keys(m.metrics("16").iou).includes("terrain"), false);
});

Deno.test("merging matrices equals accumulating all pixels in one", () => {
  const rng = new RandomStream(1);
  const a = Array.from({ length: 500 }, () => rng.int(19));
  const b = Array.from({ length: 500 }, () => (rng.bernoulli(0.1) ? 255 : rng.int(19)));
  const whole = new ConfusionMatrix().update(a, b);
  const parts = new ConfusionMatrix().update(a.slice(0, 200), b.slice(0, 200))
    .merge(new ConfusionMatrix().update(a.slice(200), b.slice(200)));
  assert.deepEqual(parts.counts, whole.counts);
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`confusionFromTensors on ${backend} equals the TypeScript accumulation`, async () => {
    await useBackend(backend);
    const rng = new RandomStream(4);
    const label = Int32Array.from(
      { length: 2 * 16 * 16 },
      () => (rng.bernoulli(0.15) ? 255 : rng.int(19)),
    );
    const pred = Int32Array.from({ length: label.length }, () => rng.int(19));
    const m = await confusionFromTensors(
      tf.tensor(pred, [2, 16, 16], "int32"),
      tf.tensor(label, [2, 16, 16], "int32"),
      19,
    );
    assert.deepEqual(m.counts, new ConfusionMatrix().update(pred, label).counts);
  });
}

Deno.test("colourise uses the Cityscapes palette and draws ignored pixels black", () => {
  assert.deepEqual(Array.from(colourise([0, 13, 255])), [128, 64, 128, 0, 0, 142, 0, 0, 0]);
});
