import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { classMixMasks, mixBatch } from "../../runtime/strategies/class_mix.ts";

// Two 2×3 source label maps: image 0 holds {0, 2, 255}, image 1 holds {1, 2, 5}.
const LABELS = [[[0, 0, 2], [255, 2, 0]], [[1, 5, 5], [2, 1, 1]]];

Deno.test("ClassMix masks: half of each image's classes (paper), ignore label excluded", async () => {
  await useBackend("cpu");
  const label = tf.tensor3d(LABELS, undefined, "int32");
  for (let seed = 0; seed < 20; seed++) {
    const { masks, chosen } = classMixMasks(label, new RandomStream(seed), "image");
    // Image 0: classes {0, 2} → 1 chosen; image 1: {1, 2, 5} → ⌈3/2⌉ = 2 chosen.
    assert.equal(chosen[0].length, 1);
    assert.equal(chosen[1].length, 2);
    assert.ok(chosen[0].every((c) => [0, 2].includes(c)));
    assert.ok(chosen[1].every((c) => [1, 2, 5].includes(c)));
    const m = await masks.array();
    m.forEach((image, k) =>
      image.forEach((row, y) =>
        row.forEach((v, x) => assert.equal(v, chosen[k].includes(LABELS[k][y][x]) ? 1 : 0))
      )
    );
    masks.dispose();
  }
  label.dispose();
});

Deno.test("ClassMix masks: the released batch pool holds every label of the batch, 255 too", async () => {
  await useBackend("cpu");
  const label = tf.tensor3d(LABELS, undefined, "int32");
  const seen = new Set<number>();
  for (let seed = 0; seed < 50; seed++) {
    const { masks, chosen } = classMixMasks(label, new RandomStream(seed), "batch");
    // Pool {0, 1, 2, 5, 255}: n = 5 → 3 chosen per image, from the whole batch's classes.
    for (const c of chosen) {
      assert.equal(c.length, 3);
      c.forEach((x) => seen.add(x));
    }
    masks.dispose();
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 5, 255]);
  const a = classMixMasks(label, new RandomStream(7), "batch");
  const b = classMixMasks(label, new RandomStream(7), "batch");
  assert.deepEqual(a.chosen, b.chosen, "deterministic for the same stream");
  tf.dispose([label, a.masks, b.masks]);
});

Deno.test("mixBatch: source pixels on top with weight 1, target pixels keep pseudo-label and q", async () => {
  await useBackend("cpu");
  const masks = tf.tensor3d([[[1, 0], [0, 1]]]);
  const source = {
    image: tf.fill([1, 2, 2, 3], 2) as tf.Tensor4D,
    label: tf.tensor3d([[[3, 4], [5, 6]]], undefined, "int32"),
  };
  const target = {
    image: tf.fill([1, 2, 2, 3], -1) as tf.Tensor4D,
    label: tf.tensor3d([[[7, 8], [9, 255]]], undefined, "int32"),
    weight: tf.tensor3d([[[0.25, 0.25], [0.25, 0]]]),
  };
  const mixed = mixBatch(masks, source, target);
  assert.deepEqual(await mixed.label.array(), [[[3, 8], [9, 6]]]);
  assert.deepEqual(await mixed.weight.array(), [[[1, 0.25], [0.25, 1]]]);
  assert.deepEqual((await mixed.image.array())[0].map((r) => r.map((p) => p[0])), [[2, -1], [
    -1,
    2,
  ]]);
  assert.equal(mixed.label.dtype, "int32");
  tf.dispose([masks, source.image, source.label, target.image, target.label, target.weight]);
  tf.dispose([mixed.image, mixed.label, mixed.weight]);
});
