import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { marginPixels, pseudoLabels } from "../../runtime/strategies/pseudo_label.ts";

const DAFORMER_MARGINS = [15 / 512, 120 / 512, 0, 0] as const;
const NONE = [0, 0, 0, 0] as const;

Deno.test("pseudo-labels: argmax, and q per image vs one q per batch", async () => {
  await useBackend("cpu");
  // 2 images of 1×4 pixels, 2 classes. Logit gaps: ln(0.98/0.02) ≈ 3.89 gives p = 0.98 ≥ 0.968;
  // a gap of 1 gives p = 0.731 < 0.968.
  const big = Math.log(0.98 / 0.02);
  const logits = tf.tensor4d([
    [[[big, 0], [0, big], [1, 0], [0, 1]]], // image 0: 2 of 4 confident
    [[[big, 0], [big, 0], [big, 0], [0, 1]]], // image 1: 3 of 4 confident
  ]);
  const image = pseudoLabels(logits, [1, 4], {
    threshold: 0.968,
    confidence: "image",
    margins: NONE,
  });
  assert.deepEqual(await image.label.array(), [[[0, 1, 0, 1]], [[0, 0, 0, 1]]]);
  assert.deepEqual(Array.from(await image.confidence.data()), [0.5, 0.75]);
  assert.deepEqual(await image.weight.array(), [[[0.5, 0.5, 0.5, 0.5]], [[
    0.75,
    0.75,
    0.75,
    0.75,
  ]]]);
  const batch = pseudoLabels(logits, [1, 4], {
    threshold: 0.968,
    confidence: "batch",
    margins: NONE,
  });
  assert.deepEqual(Array.from(await batch.confidence.data()), [0.625, 0.625], "5 of 8 pixels");
  assert.deepEqual(await batch.label.array(), await image.label.array());
  tf.dispose([logits, image.label, image.weight, image.confidence]);
  tf.dispose([batch.label, batch.weight, batch.confidence]);
});

Deno.test("pseudo-labels: DAFormer's margins scale with the crop (15/120 rows of 512)", async () => {
  await useBackend("cpu");
  assert.deepEqual(marginPixels([512, 512], DAFORMER_MARGINS), [15, 120, 0, 0]);
  assert.deepEqual(marginPixels([128, 128], DAFORMER_MARGINS), [4, 30, 0, 0]);
  assert.deepEqual(marginPixels([1024, 2048], [30 / 1024, 240 / 1024, 30 / 2048, 30 / 2048]), [
    30,
    240,
    30,
    30,
  ]);
  // Logits at stride 4 are upsampled to the 128×128 crop; all pixels confident → q = 1.
  const logits = tf.concat([tf.fill([1, 32, 32, 1], 10), tf.zeros([1, 32, 32, 1])], -1);
  const { label, weight, confidence } = pseudoLabels(logits as tf.Tensor4D, [128, 128], {
    threshold: 0.968,
    confidence: "image",
    margins: DAFORMER_MARGINS,
  });
  assert.deepEqual(label.shape, [1, 128, 128]);
  const rows = (await weight.array())[0].map((row) => row.reduce((a, b) => a + b, 0));
  assert.deepEqual(rows.map((r, y) => [y, r]).filter(([, r]) => r !== 128).map(([y]) => y), [
    ...[0, 1, 2, 3],
    ...Array.from({ length: 30 }, (_, i) => 98 + i),
  ]);
  assert.ok(rows.every((r) => r === 0 || r === 128));
  assert.deepEqual(Array.from(await confidence.data()), [1], "margins do not change q");
  assert.throws(
    () =>
      pseudoLabels(logits as tf.Tensor4D, [4, 4], {
        threshold: 0,
        confidence: "image",
        margins: NONE,
      }),
    /threshold must be in \(0, 1\]/,
  );
  assert.throws(
    () =>
      pseudoLabels(logits as tf.Tensor4D, [4, 4], {
        threshold: 0.9,
        confidence: "image",
        margins: [0.5, 0.5, 0, 0],
      }),
    /leave part of the crop/,
  );
  tf.dispose([logits, label, weight, confidence]);
});
