/**
 * The SIMD module (`runtime/backend/simd/`) and the kernels built on it, each against what it
 * replaces, bit for bit: batched products against tfjs's own wasm `BatchMatMul`, the fused
 * optimiser loops against their JavaScript loops, the depthwise filter gradient against its
 * JavaScript pass; `Sum`, `Mean`, `SplitV` and `Transpose` against tfjs's kernels; the group
 * kernels against separate calls; and the sharing clone (no dispatch, nothing leaked).
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { originalWasmKernel } from "../../runtime/backend/wasm_layout.ts";
import { MATMUL_K_BLOCK } from "../../runtime/backend/simd/functions.ts";
import { depthwiseFilterGradient } from "../../runtime/backend/conv_loops.ts";
import { geometryOf } from "../../runtime/backend/tensor_ops.ts";
import { fusedAdamW, fusedAdamWGroup } from "../../runtime/backend/kernels/adamw.ts";
import { fusedEmaUpdate, fusedEmaUpdateGroup } from "../../runtime/backend/kernels/ema.ts";

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const bits = (values: ArrayLike<number>) => new Uint32Array(Float32Array.from(values).buffer);

/** Runs tfjs's original wasm kernel `name` and returns its outputs' values. */
function original(name: string, inputs: Record<string, tf.Tensor>, attrs: object): number[][] {
  const backend = tf.backend() as unknown as {
    typedArrayFromHeap(t: tf.TensorInfo): ArrayLike<number>;
    disposeData(id: unknown): void;
  };
  const out = originalWasmKernel(name)({ inputs, backend, attrs } as never) as
    | tf.TensorInfo
    | tf.TensorInfo[];
  const outs = Array.isArray(out) ? out : [out];
  const values = outs.map((o) => Array.from(backend.typedArrayFromHeap(o)));
  outs.forEach((o) => backend.disposeData(o.dataId));
  return values;
}

/**
 * An independent float32 product in tfjs's `slow_batch_matmul` order: per output element, a
 * sequential float sum over each block of 48 along k, the block sums added in order to 0.
 */
function blockedProduct(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): number[] {
  const f = Math.fround;
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let total = 0;
      for (let k0 = 0; k0 < k; k0 += MATMUL_K_BLOCK) {
        let sum = 0;
        for (let p = k0; p < Math.min(k0 + MATMUL_K_BLOCK, k); p++) {
          sum = f(sum + f(a[i * k + p] * b[p * n + j]));
        }
        total = f(total + sum);
      }
      out.push(total);
    }
  }
  return out;
}

Deno.test("wasm batched BatchMatMul (SIMD) is bit-identical to tfjs's kernel and to the blocked float32 sum", async () => {
  await useBackend("wasm");
  const rng = new RandomStream(51);
  // Column counts around the 16- and 4-lane groups, k across the 48-block, broadcast batches.
  const cases: [number[], number[]][] = [
    [[2, 1, 1024, 16], [2, 1, 16, 32]], // MiT stage-1 attention · values
    [[2, 1, 16, 1024], [2, 1, 1024, 32]], // its gradient: k = 1024
    [[3, 7, 50], [3, 50, 17]],
    [[2, 5, 97], [2, 97, 5]],
    [[4, 3, 48], [4, 48, 1]],
    [[2, 2, 9, 3], [1, 3, 21]], // b broadcast over the batch
    [[1, 6, 5], [3, 5, 36]], // a broadcast over the batch
  ];
  for (const [aShape, bShape] of cases) {
    const a = rng.normalArray(size(aShape));
    const b = rng.normalArray(size(bShape));
    const ours = tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape)));
    const values = await ours.data();
    const [m, k] = aShape.slice(-2);
    const n = bShape[bShape.length - 1];
    const batch = ours.size / (m * n);
    const batchA = size(aShape.slice(0, -2)), batchB = size(bShape.slice(0, -2));
    const expected: number[] = [];
    for (let t = 0; t < batch; t++) {
      const at = a.slice((batchA === 1 ? 0 : t) * m * k, ((batchA === 1 ? 0 : t) + 1) * m * k);
      const bt = b.slice((batchB === 1 ? 0 : t) * k * n, ((batchB === 1 ? 0 : t) + 1) * k * n);
      expected.push(...blockedProduct(at, bt, m, k, n));
    }
    assert.deepEqual(bits(values), bits(expected), `a ${aShape} b ${bShape}`);
    if (batchA === batchB) {
      // tfjs's own kernel handles only equal batches correctly.
      const [reference] = tf.tidy(() =>
        original("BatchMatMul", { a: tf.tensor(a, aShape), b: tf.tensor(b, bShape) }, {
          transposeA: false,
          transposeB: false,
        })
      );
      assert.deepEqual(bits(values), bits(reference), `tfjs kernel, a ${aShape} b ${bShape}`);
    }
    ours.dispose();
  }
});

Deno.test("wasm Sum, Mean, SplitV and Transpose are bit-identical to tfjs's kernels", async () => {
  await useBackend("wasm");
  const rng = new RandomStream(53);
  const x = tf.tensor(rng.normalArray(2 * 7 * 5 * 13), [2, 7, 5, 13]);
  const cases: [string, Record<string, unknown>, (t: tf.Tensor) => tf.Tensor | tf.Tensor[]][] = [
    ["Sum", { axis: [0, 1, 2], keepDims: false }, (t) => tf.sum(t, [0, 1, 2])],
    ["Sum", { axis: [0], keepDims: true }, (t) => tf.sum(t, 0, true)],
    ["Mean", { axis: [0, 1, 2], keepDims: false }, (t) => tf.mean(t, [0, 1, 2])],
    ["Mean", { axis: [0, 1], keepDims: true }, (t) => tf.mean(t, [0, 1], true)],
    ["Mean", { axis: [3], keepDims: false }, (t) => tf.mean(t, 3)], // not leading: original
    ["SplitV", { numOrSizeSplits: [3, 6, 4], axis: 3 }, (t) => tf.split(t, [3, 6, 4], 3)],
    ["SplitV", { numOrSizeSplits: [2, 5], axis: 1 }, (t) => tf.split(t, [2, 5], 1)],
    ["SplitV", { numOrSizeSplits: 2, axis: 0 }, (t) => tf.split(t, 2, 0)],
    ["Transpose", { perm: [2, 0, 1, 3] }, (t) => tf.transpose(t, [2, 0, 1, 3])],
    ["Transpose", { perm: [1, 2, 0, 3] }, (t) => tf.transpose(t, [1, 2, 0, 3])],
    ["Transpose", { perm: [0, 1, 3, 2] }, (t) => tf.transpose(t, [0, 1, 3, 2])],
  ];
  for (const [name, attrs, op] of cases) {
    const ours = [op(x)].flat();
    const reference = original(name, { x }, attrs);
    assert.equal(ours.length, reference.length, name);
    for (const [i, t] of ours.entries()) {
      assert.deepEqual(
        bits(await t.data()),
        bits(reference[i]),
        `${name} ${JSON.stringify(attrs)}`,
      );
    }
    tf.dispose(ours);
  }
  // A 5-D head layout of MiT, and the last axis of width 64 and more (copied with `set`).
  for (const [shape, perm] of [[[2, 16, 2, 8, 32], [2, 0, 3, 1, 4]], [[3, 4, 70], [1, 0, 2]]]) {
    const t = tf.tensor(rng.normalArray(size(shape)), shape);
    const ours = tf.transpose(t, perm);
    const [reference] = original("Transpose", { x: t }, { perm });
    assert.deepEqual(bits(await ours.data()), bits(reference), `Transpose ${shape} ${perm}`);
    tf.dispose([t, ours]);
  }
  x.dispose();
});

Deno.test("wasm depthwise filter gradient (SIMD) is bit-identical to the JavaScript pass", async () => {
  await useBackend("wasm");
  const rng = new RandomStream(57);
  // Odd and even channel counts, strides, dilations, padding and a non-square filter.
  const cases = [
    { x: [2, 9, 7, 5], k: [3, 3], strides: 1, pad: "same", dilations: 1 },
    { x: [1, 11, 8, 6], k: [3, 2], strides: 2, pad: "valid", dilations: 1 },
    { x: [2, 13, 13, 4], k: [3, 3], strides: 1, pad: "same", dilations: 3 },
    { x: [1, 6, 10, 1], k: [5, 5], strides: 1, pad: "same", dilations: 1 },
  ] as const;
  for (const c of cases) {
    const filterShape = [c.k[0], c.k[1], c.x[3], 1] as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      c.x as unknown as [number, number, number, number],
      filterShape,
      c.strides,
      c.dilations,
      c.pad,
      undefined,
      true,
    );
    const x = rng.normalArray(size(c.x));
    const dy = rng.normalArray(info.batchSize * info.outHeight * info.outWidth * c.x[3]);
    const dyShape = [info.batchSize, info.outHeight, info.outWidth, c.x[3]];
    const ours = tf.tidy(() =>
      tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", {
        x: tf.tensor(x, [...c.x]),
        dy: tf.tensor(dy, dyShape),
      }, { strides: c.strides, pad: c.pad, dilations: c.dilations, filterShape }) as tf.Tensor
    );
    const expected = new Float32Array(size(filterShape));
    depthwiseFilterGradient(
      Float32Array.from(x),
      Float32Array.from(dy),
      geometryOf(info),
      1,
      expected,
    );
    assert.deepEqual(bits(await ours.data()), bits(expected), JSON.stringify(c));
    ours.dispose();
  }
});

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`${backend}: the group AdamW and EMA kernels equal separate calls bit for bit`, async () => {
    await useBackend(backend);
    const rng = new RandomStream(59);
    const shapes = [[3, 5], [7], [2, 2, 9], [1]];
    const tensor = (shape: number[], scale = 1) =>
      tf.tensor(rng.normalArray(size(shape)).map((v) => v * scale), shape);
    const calls = shapes.map((shape, i) => ({
      param: tensor(shape),
      grad: tensor(shape, 0.1),
      m: tensor(shape, 0.01),
      v: tensor(shape).abs(),
      attrs: {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        stepSize: 1e-3 * (i + 1),
        sqrtCorrection2: 0.03,
        decayFactor: i === 1 ? 1 : 0.9999,
      },
    }));
    const grouped = fusedAdamWGroup(calls);
    for (const [i, c] of calls.entries()) {
      const single = fusedAdamW(c.param, c.grad, c.m, c.v, c.attrs);
      for (let o = 0; o < 3; o++) {
        assert.deepEqual(bits(await grouped[i][o].data()), bits(await single[o].data()));
      }
      tf.dispose(single);
    }
    const pairs = calls.map((c) => ({ teacher: c.param, student: c.grad }));
    const emas = fusedEmaUpdateGroup(pairs, 0.99);
    for (const [i, p] of pairs.entries()) {
      const single = fusedEmaUpdate(p.teacher, p.student, 0.99);
      assert.deepEqual(bits(await emas[i].data()), bits(await single.data()));
      single.dispose();
    }
    tf.dispose([...grouped.flat(), ...emas, ...calls.flatMap((c) => [c.param, c.grad, c.m, c.v])]);
  });

  Deno.test(`${backend}: saving tensors for a gradient dispatches no Identity and leaks nothing`, async () => {
    await useBackend(backend);
    const before = tf.memory();
    const input = tf.tensor([1.5, -2, 0.25]);
    let g: tf.Tensor | undefined;
    // x·x saves x twice for its gradient; the engine's clone would dispatch Identity for each.
    const profile = await tf.profile(() => {
      g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.exp(t), t)))(input);
      return g;
    });
    const names = profile.kernels.map((k) => k.name);
    assert.ok(!names.includes("Identity"), `dispatched: ${names.join(", ")}`);
    // d/dt Σ eᵗ·t = eᵗ·(t + 1), against float64.
    const expected = [1.5, -2, 0.25].map((t) => Math.exp(t) * (t + 1));
    const got = await g!.data();
    expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) <= 1e-6 * Math.abs(e), `${i}`));
    tf.dispose([g!, input]);
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
  });
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`${backend}: UdaReluGrad is bit-identical to tfjs's ReLU gradient (dy · step(x))`, async () => {
    await useBackend(backend);
    const rng = new RandomStream(61);
    // 4·k + 3 elements (the SIMD lanes and the scalar tail), zeros and negative zeros in x and dy.
    const n = 4 * 25 + 3;
    const x = rng.normalArray(n).map((v, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? -0 : v));
    const dy = rng.normalArray(n).map((v, i) => (i % 5 === 0 ? -0 : v));
    const [ours, reference] = tf.tidy(() => {
      const xt = tf.tensor(x), dyt = tf.tensor(dy);
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dyt)))(xt);
      // tfjs-core's own ReLU gradient: dy · cast(step(x), float32).
      return [grad, tf.mul(dyt, tf.cast(tf.step(xt), "float32"))];
    });
    assert.deepEqual(bits(await ours.data()), bits(await reference.data()));
    tf.dispose([ours, reference]);
  });
}
