import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { featureDistance, featureDistanceMask } from "../../runtime/losses/feature_distance.ts";

const THINGS = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18];

/** A 1×8×16 label map of two 8×8 cells filled by `fill(cell, index)`. */
function labels(fill: (cell: number, i: number) => number): tf.Tensor3D {
  const data = new Int32Array(8 * 16);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 16; x++) data[y * 16 + x] = fill(x >= 8 ? 1 : 0, y * 8 + (x % 8));
  }
  return tf.tensor3d(data, [1, 8, 16], "int32");
}

Deno.test("FD mask: ≥ 75% of one thing class counts; 74%, stuff and ignore do not", async () => {
  await useBackend("cpu");
  const check = async (fill: (cell: number, i: number) => number, expected: number[]) => {
    const label = labels(fill);
    const mask = featureDistanceMask(label, [1, 2], { classes: THINGS, majority: 0.75 });
    assert.deepEqual(Array.from(await mask.data()), expected);
    tf.dispose([label, mask]);
  };
  // 64 pixels per cell: 48 = 75% exactly, 47 = 73.4%.
  await check((cell, i) => (i < (cell === 0 ? 48 : 47) ? 13 : 0), [1, 0]);
  // Road (stuff) at 100% does not count; a person at 100% does.
  await check((cell) => (cell === 0 ? 0 : 11), [0, 1]);
  // Ignore as the majority (48 of 64) → not counted, even though the rest is a car.
  await check((cell, i) => (cell === 0 && i < 48 ? 255 : 13), [0, 1]);
  // Car 40 + truck 24: mixed things with no class at 75% → not counted.
  await check((cell, i) => (cell === 0 ? (i < 40 ? 13 : 14) : 18), [0, 1]);
  assert.throws(
    () => featureDistanceMask(labels(() => 0), [3, 2], { classes: THINGS, majority: 0.75 }),
    /not an integer multiple/,
  );
});

Deno.test("FD value: mean over masked cells of the L2 norm, and its gradient", async () => {
  await useBackend("cpu");
  // 1×1×2 cells, 2 channels: cell 0 differs by (3, 4) → 5; cell 1 by (1, 0) but is masked out.
  const student = tf.tensor4d([[[[3, 4], [1, 0]]]]);
  const frozen = tf.zeros([1, 1, 2, 2]) as tf.Tensor4D;
  const mask = tf.tensor3d([[[1, 0]]]);
  assert.equal((await featureDistance(student, frozen, mask).data())[0], 5);
  const both = tf.tensor3d([[[1, 1]]]);
  assert.equal((await featureDistance(student, frozen, both).data())[0], 3, "(5 + 1) / 2");
  // d/ds ‖s‖ = s/‖s‖ on the masked cell, /count: (0.6, 0.8) and 0 elsewhere.
  const grad = tf.grad((s: tf.Tensor) => featureDistance(s as tf.Tensor4D, frozen, mask))(student);
  const g = Array.from(await grad.data());
  [0.6, 0.8, 0, 0].forEach((v, i) => assert.ok(Math.abs(g[i] - v) < 1e-6, `${g}`));
  // Finite differences agree on the two-cell mask.
  const f = (s: tf.Tensor4D) => featureDistance(s, frozen, both).dataSync()[0];
  const grad2 = tf.grad((s: tf.Tensor) => featureDistance(s as tf.Tensor4D, frozen, both))(student);
  const analytic = await grad2.data();
  const base = await student.data();
  for (let i = 0; i < 4; i++) {
    const plus = Float32Array.from(base), minus = Float32Array.from(base);
    plus[i] += 1e-2;
    minus[i] -= 1e-2;
    const numeric = (f(tf.tensor4d(plus, [1, 1, 2, 2])) - f(tf.tensor4d(minus, [1, 1, 2, 2]))) /
      2e-2;
    assert.ok(Math.abs(numeric - analytic[i]) < 1e-3, `${i}: ${numeric} vs ${analytic[i]}`);
  }
  tf.dispose([student, frozen, mask, both, grad, grad2]);
});

Deno.test("FD guards: an empty mask gives 0, equal features give gradient 0 (not NaN)", async () => {
  await useBackend("cpu");
  const student = tf.tensor4d([[[[1, 2], [3, 4]]]]);
  const empty = tf.zeros([1, 1, 2]) as tf.Tensor3D;
  const { value, grad: grads } = tf.valueAndGrad((s: tf.Tensor) =>
    featureDistance(s as tf.Tensor4D, student, empty)
  )(student);
  assert.equal((await value.data())[0], 0);
  assert.deepEqual(Array.from(await grads.data()), [0, 0, 0, 0]);
  const full = tf.ones([1, 1, 2]) as tf.Tensor3D;
  const same = tf.grad((s: tf.Tensor) => featureDistance(s as tf.Tensor4D, student.clone(), full))(
    student,
  );
  const g = Array.from(await same.data());
  assert.ok(g.every((v) => v === 0), `${g}`);
  tf.dispose([student, empty, value, grads, full, same]);
});
