import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { emaAlpha, updateEmaTeacher } from "../../runtime/strategies/ema_teacher.ts";
import { rareClassProbabilities } from "../../runtime/strategies/rare_class.ts";

Deno.test("EMA α_t = min(1 − 1/(t+1), α): the reference's sequence", () => {
  assert.deepEqual([0, 1, 9, 99].map((t) => emaAlpha(t)), [0, 0.5, 0.9, 0.99]);
  assert.equal(emaAlpha(998), 1 - 1 / 999);
  assert.equal(emaAlpha(999), 0.999);
  assert.equal(emaAlpha(40000), 0.999);
  assert.throws(() => emaAlpha(-1), /integer ≥ 0/);
});

Deno.test("EMA update: copy at t = 0, weighted mean after, BatchNorm buffers untouched", async () => {
  await useBackend("cpu");
  const make = (w: number[], mean: number[]) => {
    const store = new ParamStore();
    store.add("conv.weight", tf.tensor1d(w), "plain");
    store.add("bn.running_mean", tf.tensor1d(mean), "plain", false);
    return store;
  };
  const student = make([1, 2], [5, 5]);
  const teacher = make([9, 9], [7, 7]);
  updateEmaTeacher(teacher, student, 0);
  assert.deepEqual(Array.from(await teacher.get("conv.weight").data()), [1, 2]);
  student.get("conv.weight").assign(tf.tensor1d([3, 6]));
  updateEmaTeacher(teacher, student, 1); // α_1 = 0.5
  assert.deepEqual(Array.from(await teacher.get("conv.weight").data()), [2, 4]);
  updateEmaTeacher(teacher, student, 3); // α_3 = 0.75: 0.75·[2, 4] + 0.25·[3, 6]
  assert.deepEqual(Array.from(await teacher.get("conv.weight").data()), [2.25, 4.5]);
  assert.deepEqual(Array.from(await teacher.get("bn.running_mean").data()), [7, 7]);
  student.dispose();
  teacher.dispose();
});

Deno.test("RCS probabilities follow softmax((1 − f)/T) over the classes that occur", () => {
  // Hand-worked: f = [0.9, 0, 0.1] → classes 0 and 2, logits 10 and 90 (T = 0.01).
  const { classes, probabilities } = rareClassProbabilities([900, 0, 100], 0.01);
  assert.deepEqual(classes, [0, 2]);
  assert.ok(Math.abs(probabilities[0] - 1 / (1 + Math.exp(80))) < 1e-40);
  assert.ok(Math.abs(probabilities[1] - 1 / (1 + Math.exp(-80))) < 1e-15);
  // At a high temperature the distribution approaches uniform.
  const flat = rareClassProbabilities([1, 2, 3, 4], 1000).probabilities;
  for (const p of flat) assert.ok(Math.abs(p - 0.25) < 1e-3);
  const sum = rareClassProbabilities([5, 1, 7, 0, 3]).probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12);
  assert.throws(() => rareClassProbabilities([0, 0]), /no class pixels/);
});
