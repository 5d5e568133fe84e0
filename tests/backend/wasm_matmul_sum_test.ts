/**
 * The wasm `BatchMatMul` (transposed operands) and `Sum` (leading axes) wrappers of
 * `runtime/backend/wasm_kernels.ts`: parity with cpu, bit-identity with the formulations they
 * replaced, and no leaks.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { relativeError, runOn } from "./helpers.ts";

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

Deno.test("wasm BatchMatMul with transposed operands matches cpu on 60 random configurations", async () => {
  const rng = new RandomStream(41);
  for (let i = 0; i < 60; i++) {
    const [m, k, n] = [1 + rng.int(20), 1 + rng.int(20), 1 + rng.int(20)];
    const batch = rng.bernoulli(0.5) ? [1 + rng.int(3)] : [];
    const ta = rng.bernoulli(0.5);
    const tb = rng.bernoulli(0.5);
    const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
    const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
    const a = rng.normalArray(size(aShape));
    const b = rng.normalArray(size(bShape));
    const compute = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb);
    const [wasm] = await runOn("wasm", compute);
    const [cpu] = await runOn("cpu", compute);
    assert.ok(relativeError(wasm, cpu) <= 1e-5, `a ${aShape} b ${bShape} ${ta} ${tb}`);
  }
});

Deno.test("wasm BatchMatMul with transposed operands is bit-identical to transposing first", async () => {
  // Both orientations (C = A·B and Cᵀ = Bᵀ·Aᵀ) sum each output element over k in order.
  await useBackend("wasm");
  const rng = new RandomStream(43);
  const cases: [number[], number[], boolean, boolean][] = [
    [[32, 256], [1024, 256], false, true], // few tokens: the swapped orientation
    [[1, 128, 160], [640, 160], false, true], // leading batch dimension of 1
    [[2048, 128], [32, 128], false, true], // many tokens: the direct orientation
    [[2048, 32], [2048, 256], true, false],
    [[64, 16], [24, 64], true, true],
    [[2, 5, 7], [2, 9, 7], false, true], // batched
  ];
  for (const [aShape, bShape, ta, tb] of cases) {
    const a = rng.normalArray(size(aShape));
    const b = rng.normalArray(size(bShape));
    const [fused, explicit] = tf.tidy(() => {
      const x = tf.tensor(a, aShape);
      const y = tf.tensor(b, bShape);
      const swap = (t: tf.Tensor) =>
        tf.transpose(
          t,
          [...t.shape.keys()].map((i, _, all) => i < all.length - 2 ? i : 2 * all.length - 3 - i),
        );
      return [tf.matMul(x, y, ta, tb), tf.matMul(ta ? swap(x) : x, tb ? swap(y) : y)];
    });
    const bits = async (t: tf.Tensor) => new Uint32Array((await t.data() as Float32Array).buffer);
    assert.deepEqual(
      await bits(fused),
      await bits(explicit),
      `a ${aShape} b ${bShape} ${ta} ${tb}`,
    );
    tf.dispose([fused, explicit]);
  }
});

Deno.test("wasm BatchMatMul with transposed operands leaks no tensors or buffers", async () => {
  await useBackend("wasm");
  const few = tf.randomNormal([4, 24]);
  const many = tf.randomNormal([40, 24]);
  const step = () =>
    tf.tidy(() =>
      tf.addN([
        tf.sum(tf.matMul(few, many, false, true)), // swapped orientation
        tf.sum(tf.matMul(many, few, false, true)),
        tf.sum(tf.matMul(few, few, true, false)),
        tf.sum(tf.matMul(few, tf.reshape(many, [240, 4]), true, true)),
        tf.sum(
          tf.matMul(tf.reshape(many, [2, 20, 24]), tf.reshape(many, [2, 20, 24]), false, true),
        ),
      ])
    );
  await step().data();
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) {
    const out = step();
    await out.data();
    out.dispose();
  }
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), buffers);
  tf.dispose([few, many]);
});

Deno.test("wasm Sum over leading axes (column sums) matches cpu on 60 random configurations", async () => {
  const rng = new RandomStream(51);
  for (let i = 0; i < 60; i++) {
    const rank = 1 + rng.int(4);
    const shape = Array.from({ length: rank }, () => 1 + rng.int(9));
    const leading = 1 + rng.int(rank);
    const axes = rng.bernoulli(0.8) ? Array.from({ length: leading }, (_, k) => k) : [rank - 1];
    const keepDims = rng.bernoulli(0.3);
    const values = rng.normalArray(size(shape));
    const compute = () => tf.sum(tf.tensor(values, shape), axes, keepDims);
    const [wasm] = await runOn("wasm", compute);
    const [cpu] = await runOn("cpu", compute);
    assert.ok(relativeError(wasm, cpu) <= 1e-5, `shape ${shape} axes ${axes} keepDims ${keepDims}`);
  }
});

Deno.test("wasm Sum over leading axes is bit-identical to the product ones · X it replaced", async () => {
  // The column sums accumulate in float32 in row order, as XNNPACK's GEMM does; the bias and
  // BatchNorm gradients of every experiment therefore keep their values exactly.
  await useBackend("wasm");
  const rng = new RandomStream(61);
  const shapes = [[2048, 256], [512, 64], [128, 640], [8192, 19], [3, 5], [1, 7], [100000, 1]];
  for (const [rows, cols] of shapes) {
    const values = rng.normalArray(rows * cols);
    const [sum, product] = tf.tidy(() => {
      const x = tf.tensor2d(values, [rows, cols]);
      return [tf.sum(x, 0), tf.reshape(tf.matMul(tf.ones([1, rows]), x), [cols])];
    });
    const a = new Uint32Array((await sum.data() as Float32Array).buffer);
    const b = new Uint32Array((await product.data() as Float32Array).buffer);
    tf.dispose([sum, product]);
    assert.deepEqual(a, b, `[${rows}, ${cols}]`);
  }
});

Deno.test("wasm Identity shares its input's buffer: clones survive the original and gradients match", async () => {
  await useBackend("wasm");
  const buffers = () => tf.backend().numDataIds();
  const before = buffers();
  const x = tf.tensor2d([1, -2, 3, 4.5, 5, 6], [2, 3]);
  const copy = tf.clone(x);
  assert.equal(buffers(), before + 1, "a clone allocates no second buffer");
  x.dispose();
  assert.deepEqual(Array.from(await copy.data()), [1, -2, 3, 4.5, 5, 6]);
  copy.dispose();
  assert.equal(buffers(), before, "the buffer is freed with its last reference");
  // Saved-for-backward tensors are engine clones: a gradient through several kernels that save
  // their inputs still matches the cpu backend.
  const rng = new RandomStream(7);
  const values = rng.normalArray(35);
  const grad = () => {
    const v = tf.tensor2d(values, [5, 7]);
    return [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.exp(tf.mul(t, t)), tf.tanh(t))))(v)];
  };
  const [onWasm] = await runOn("wasm", grad);
  const [onCpu] = await runOn("cpu", grad);
  assert.ok(relativeError(onWasm, onCpu) <= 1e-6);
});
