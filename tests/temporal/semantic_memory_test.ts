/**
 * PiPa++'s semantic-aware memory (`runtime/strategies/semantic_memory.ts`): class-wise FIFO
 * order, capacity eviction, the confidence threshold, the per-push limit, the accessors,
 * serialize → restore → the same subsequent behaviour bit for bit, and no tensor leaks.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  entriesTensor,
  SEMANTIC_MEMORY_DEFAULTS,
  SemanticMemory,
  type SemanticMemoryOptions,
} from "../../runtime/strategies/semantic_memory.ts";

await useBackend("cpu");

const small: SemanticMemoryOptions = {
  classes: 3,
  capacity: 3,
  dim: 2,
  threshold: 0.9,
  perClassPerPush: 0,
};

/** Rows whose features are (v, −v) so each row is recognisable by one number. */
const tagged = (values: number[]) => values.flatMap((v) => [v, -v]);
const tags = (m: SemanticMemory, c: number) =>
  [...m.queue(c).features].filter((_, i) => i % 2 === 0);

Deno.test("semantic memory: class-wise FIFO order and capacity eviction (oldest out first)", () => {
  const m = new SemanticMemory(small);
  const ones = (n: number) => Array(n).fill(1);
  // Step 1: rows 1, 2 of class 0 and 10 of class 1, in that row order.
  assert.equal(m.push(tagged([1, 10, 2]), [0, 1, 0], ones(3)), 3);
  assert.deepEqual(tags(m, 0), [1, 2]);
  assert.deepEqual(tags(m, 1), [10]);
  // Step 2: class 0 gets 3 and 4 → capacity 3 evicts 1.
  m.push(tagged([3, 4]), [0, 0], ones(2));
  assert.deepEqual(tags(m, 0), [2, 3, 4]);
  // Step 3: five rows of class 0 in one push: only the newest three remain, in row order.
  m.push(tagged([5, 6, 7, 8, 9]), [0, 0, 0, 0, 0], ones(5));
  assert.deepEqual(tags(m, 0), [7, 8, 9]);
  assert.deepEqual(tags(m, 1), [10]);
  assert.deepEqual([m.size(0), m.size(1), m.size(2)], [3, 1, 0]);
  // Step 4: one more wraps the ring again.
  m.push(tagged([11]), [0], ones(1));
  assert.deepEqual(tags(m, 0), [8, 9, 11]);
  assert.deepEqual([...m.queue(0).classes], [0, 0, 0]);
});

Deno.test("semantic memory: only labels of a class with confidence ≥ threshold enter", () => {
  const m = new SemanticMemory(small);
  // 0.9 is exactly the threshold (enters), 0.8999 is not; −1, 3 and 255 are no class.
  const pushed = m.push(
    tagged([1, 2, 3, 4, 5, 6]),
    [0, 0, -1, 3, 255, 2],
    [0.9, 0.8999, 1, 1, 1, 0.95],
  );
  assert.equal(pushed, 2);
  assert.deepEqual(tags(m, 0), [1]);
  assert.deepEqual(tags(m, 2), [6]);
  assert.equal(m.size(1), 0);
  assert.throws(() => m.push([1, 2, 3], [0], [1]), /rows of 2/);
  assert.throws(() => new SemanticMemory({ ...small, capacity: 0 }), /capacity/);
});

Deno.test("semantic memory: perClassPerPush keeps the most confident, in row order, ties to the lower row", () => {
  const m = new SemanticMemory({ ...small, capacity: 5, perClassPerPush: 2 });
  m.push(tagged([1, 2, 3, 4, 5]), [0, 0, 0, 0, 1], [0.91, 0.99, 0.95, 0.99, 0.92]);
  // Class 0: 0.99 (row 1) and 0.99 (row 3) beat 0.95 and 0.91; row order 2, 4.
  assert.deepEqual(tags(m, 0), [2, 4]);
  assert.deepEqual(tags(m, 1), [5]);
  // Ties: three rows at 0.95, two allowed → rows 0 and 1.
  m.push(tagged([6, 7, 8]), [2, 2, 2], [0.95, 0.95, 0.95]);
  assert.deepEqual(tags(m, 2), [6, 7]);
});

Deno.test("semantic memory: negativesFor(c) is every other class, all() every entry, class by class", () => {
  const m = new SemanticMemory(small);
  m.push(tagged([1, 2, 3, 4]), [2, 0, 1, 2], [1, 1, 1, 1]);
  const negatives = m.negativesFor(2);
  assert.equal(negatives.rows, 2);
  assert.deepEqual([...negatives.classes], [0, 1]);
  assert.deepEqual([...negatives.features], [2, -2, 3, -3]);
  const all = m.all();
  assert.deepEqual([...all.classes], [0, 1, 2, 2]);
  assert.deepEqual([...all.features], tagged([2, 3, 1, 4]));
  assert.equal(new SemanticMemory(small).all().rows, 0);
  assert.equal(SEMANTIC_MEMORY_DEFAULTS.threshold, 0.968);
});

/** One random step's push: 12 rows of random features, labels and confidences. */
function randomStep(rng: RandomStream, dim: number) {
  return {
    features: rng.normalArray(12 * dim),
    labels: Array.from({ length: 12 }, () => rng.int(4)),
    confidence: Array.from({ length: 12 }, () => rng.uniform(0.85, 1)),
  };
}

const bits = (x: Float32Array) => [...new Uint8Array(x.buffer, x.byteOffset, x.byteLength)];

Deno.test("semantic memory: serialize → restore → the same later behaviour, bit for bit", () => {
  const options = { ...small, classes: 4, capacity: 5, dim: 3 };
  const rng = new RandomStream(11);
  const steps = Array.from({ length: 6 }, () => randomStep(rng, 3));
  const original = new SemanticMemory(options);
  for (const s of steps.slice(0, 3)) original.push(s.features, s.labels, s.confidence);
  const state = original.serialize("temporal.memory");
  assert.deepEqual(Object.keys(state).sort(), [
    "temporal.memory.count",
    "temporal.memory.features",
    "temporal.memory.head",
  ]);
  const shapes = original.stateShapes("temporal.memory");
  for (const [name, shape] of Object.entries(shapes)) {
    assert.equal(state[name].length, shape.reduce((a, b) => a * b, 1), name);
  }
  const resumed = new SemanticMemory(options);
  resumed.restore(state, "temporal.memory");
  assert.deepEqual(bits(resumed.all().features), bits(original.all().features));
  assert.deepEqual([...resumed.all().classes], [...original.all().classes]);
  // The restore copied: writing into the checkpoint's buffers afterwards changes nothing.
  state["temporal.memory.features"].fill(7);
  state["temporal.memory.count"].fill(0);
  for (const s of steps.slice(3)) {
    const a = original.push(s.features, s.labels, s.confidence);
    const b = resumed.push(s.features, s.labels, s.confidence);
    assert.equal(a, b);
    for (let c = 0; c < 4; c++) {
      assert.deepEqual(bits(resumed.queue(c).features), bits(original.queue(c).features));
    }
  }
  const [x, y] = [original.serialize(), resumed.serialize()];
  for (const name of Object.keys(x)) assert.deepEqual(bits(y[name]), bits(x[name]), name);
  // The queues wrapped at least once, so head ≠ count somewhere: a restore that ignored head
  // would have put entries in another order.
  assert.ok([...x["memory.head"]].some((h, c) => h !== x["memory.count"][c] % 5));
});

Deno.test("semantic memory: restore rejects a state of another shape or impossible counters", () => {
  const m = new SemanticMemory(small);
  const state = m.serialize();
  assert.throws(() => new SemanticMemory({ ...small, dim: 3 }).restore(state), /features/);
  assert.throws(
    () => m.restore({ ...state, "memory.count": Float32Array.from([4, 0, 0]) }),
    /count/,
  );
  assert.throws(
    () => m.restore({ ...state, "memory.head": Float32Array.from([0, 1.5, 0]) }),
    /head/,
  );
  assert.throws(() => m.restore(state, "other"), /other\.features/);
});

Deno.test("semantic memory: pushes from tensors, hands out tensors, and leaks none", async () => {
  const m = new SemanticMemory(small);
  const before = tf.memory().numTensors;
  const features = tf.tensor2d([[1, -1], [2, -2], [3, -3]]);
  const labels = tf.tensor1d([1, 1, 0], "int32");
  const confidence = tf.tensor1d([0.95, 0.5, 0.99]);
  assert.equal(await m.pushTensors(features, labels, confidence), 2);
  assert.equal(await m.pushTensors(features, [2, 2, 2], [1, 1, 1]), 3);
  tf.dispose([features, labels, confidence]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(tags(m, 1), [1]);
  assert.deepEqual(tags(m, 0), [3]);
  assert.deepEqual(tags(m, 2), [1, 2, 3]);
  const entries = entriesTensor(m.negativesFor(2), 2);
  assert.deepEqual(entries.features.shape, [2, 2]);
  assert.deepEqual(await entries.features.array(), [[3, -3], [1, -1]]);
  assert.deepEqual([...entries.classes], [0, 1]);
  entries.features.dispose();
  assert.equal(tf.memory().numTensors, before);
});
