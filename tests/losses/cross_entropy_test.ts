import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { crossEntropy } from "../../runtime/losses/cross_entropy.ts";

Deno.test("crossEntropy matches a hand-worked example, counting ignored pixels in the mean", async () => {
  await useBackend("cpu");
  // One image, 1×3 pixels, 2 classes. Pixel logits: [0, 0], [ln 3, 0], [5, -5] (ignored).
  const logits = tf.tensor4d([0, 0, Math.log(3), 0, 5, -5], [1, 1, 3, 2]);
  const label = tf.tensor3d([1, 0, 255], [1, 1, 3], "int32");
  // −log(1/2) for pixel 0, −log(3/4) for pixel 1, 0 for the ignored pixel; mean over 3 pixels.
  const expected = (Math.log(2) + Math.log(4 / 3)) / 3;
  const loss = crossEntropy(logits, label);
  assert.ok(Math.abs((await loss.data())[0] - expected) < 1e-6);

  const weight = tf.tensor3d([0.5, 2, 7], [1, 1, 3]);
  const weighted = crossEntropy(logits, label, { weight });
  const expectedWeighted = (0.5 * Math.log(2) + 2 * Math.log(4 / 3)) / 3;
  assert.ok(Math.abs((await weighted.data())[0] - expectedWeighted) < 1e-6);
  tf.dispose([logits, label, loss, weight, weighted]);
});

Deno.test("crossEntropy upsamples stride-4 logits bilinearly to the label size", async () => {
  await useBackend("cpu");
  const logits = tf.tensor4d([1, 2, 3, 4, 4, 3, 2, 1], [1, 2, 2, 2]);
  const label = tf.tensor3d(new Array(64).fill(0).map((_, i) => i % 2), [1, 8, 8], "int32");
  const up = tf.image.resizeBilinear(logits, [8, 8], false, true);
  const direct = crossEntropy(up, label);
  const resized = crossEntropy(logits, label);
  assert.ok(Math.abs((await direct.data())[0] - (await resized.data())[0]) < 1e-6);
  tf.dispose([logits, label, up, direct, resized]);
});

Deno.test("crossEntropy's gradient is softmax minus one-hot over the pixel count", async () => {
  await useBackend("cpu");
  const logits = tf.tensor4d([0.3, -0.2, 1.1, 0.0, 0.5, 0.7], [1, 1, 2, 3]);
  const label = tf.tensor3d([2, 255], [1, 1, 2], "int32");
  const grad = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor4D, label))(logits);
  const g = await grad.data();
  const row = [0.3, -0.2, 1.1];
  const z = row.reduce((s, v) => s + Math.exp(v), 0);
  const expected = row.map((v, i) => (Math.exp(v) / z - (i === 2 ? 1 : 0)) / 2);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(g[i] - expected[i]) < 1e-6);
  for (let i = 3; i < 6; i++) assert.ok(g[i] === 0, `ignored pixel gradient ${g[i]}`);
  tf.dispose([logits, label, grad]);
});
