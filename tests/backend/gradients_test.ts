import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import {
  type BackendName,
  TENSORFLOW_BACKEND_HELP,
  useBackend,
} from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { relativeError, runOn, WEBGPU } from "./helpers.ts";

type Pad = [[number, number], [number, number], [number, number], [number, number]];

interface DilatedCase {
  depthwise: boolean;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  dilation: number;
  pad: Pad;
}

const CASES: DilatedCase[] = [
  // DAFormer's sep-ASPP depthwise branches: 3×3, padding = dilation (6 and 12 here; 18 below).
  {
    depthwise: true,
    x: [1, 9, 9, 3],
    filter: [3, 3, 3, 1],
    dilation: 6,
    pad: [[0, 0], [6, 6], [6, 6], [0, 0]],
  },
  {
    depthwise: true,
    x: [2, 8, 7, 2],
    filter: [3, 3, 2, 1],
    dilation: 12,
    pad: [[0, 0], [12, 12], [12, 12], [0, 0]],
  },
  {
    depthwise: true,
    x: [1, 7, 8, 2],
    filter: [3, 3, 2, 2],
    dilation: 2,
    pad: [[0, 0], [1, 2], [0, 3], [0, 0]],
  },
  {
    depthwise: false,
    x: [1, 9, 8, 3],
    filter: [3, 3, 3, 2],
    dilation: 2,
    pad: [[0, 0], [2, 2], [2, 2], [0, 0]],
  },
  {
    depthwise: false,
    x: [2, 10, 10, 2],
    filter: [3, 2, 2, 3],
    dilation: 3,
    pad: [[0, 0], [0, 1], [3, 0], [0, 0]],
  },
  {
    depthwise: false,
    x: [1, 6, 6, 2],
    filter: [3, 3, 2, 2],
    dilation: 18,
    pad: [[0, 0], [18, 18], [18, 18], [0, 0]],
  },
];

function forward(c: DilatedCase, x: tf.Tensor, f: tf.Tensor): tf.Tensor4D {
  return c.depthwise
    ? tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, c.pad, "NHWC", c.dilation)
    : tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, c.pad, "NHWC", c.dilation);
}

function inputs(c: DilatedCase, seed: number) {
  const rng = new RandomStream(seed);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = rng.normalArray(size(c.x));
  const f = rng.normalArray(size(c.filter));
  const y = tf.tidy(() => forward(c, tf.zeros(c.x), tf.zeros(c.filter)).shape);
  tf.dispose();
  return { x, f, r: rng.normalArray(size(y)), yShape: y };
}

/** Gradients of L = Σ conv(x, f)·r with respect to x and f. */
function gradients(c: DilatedCase, data: ReturnType<typeof inputs>): tf.Tensor[] {
  const r = tf.tensor(data.r, data.yShape);
  return tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(forward(c, x, f), r)))([
    tf.tensor(data.x, c.x),
    tf.tensor(data.f, c.filter),
  ]);
}

Deno.test("dilated dense and depthwise gradients equal finite differences (cpu)", async () => {
  await useBackend("cpu");
  for (const [index, c] of CASES.entries()) {
    const data = inputs(c, index);
    const [gx, gf] = await runOn("cpu", () => gradients(c, data));
    // L is linear in each argument, so a central difference with step 1 is exact up to rounding.
    const loss = (x: Float32Array, f: Float32Array) =>
      tf.tidy(() =>
        tf.sum(
          tf.mul(
            forward(c, tf.tensor(x, c.x), tf.tensor(f, c.filter)),
            tf.tensor(data.r, data.yShape),
          ),
        ).dataSync()[0]
      );
    for (const [which, values, grad] of [["x", data.x, gx], ["filter", data.f, gf]] as const) {
      const numeric = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const plus = values.slice();
        const minus = values.slice();
        plus[i] += 1;
        minus[i] -= 1;
        numeric[i] = which === "x"
          ? (loss(plus, data.f) - loss(minus, data.f)) / 2
          : (loss(data.x, plus) - loss(data.x, minus)) / 2;
      }
      const error = relativeError(grad, numeric);
      assert.ok(error < 1e-4, `case ${index} d${which}: relative error ${error}`);
    }
  }
});

for (const backend of ["wasm", "webgpu"] as BackendName[]) {
  const tolerance = backend === "wasm" ? 1e-5 : 1e-3;
  Deno.test({
    name: `dilated dense and depthwise gradients on ${backend} match cpu`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      for (const [index, c] of CASES.entries()) {
        const data = inputs(c, index);
        const reference = await runOn("cpu", () => gradients(c, data));
        const actual = await runOn(backend, () => gradients(c, data));
        for (let k = 0; k < 2; k++) {
          const error = relativeError(actual[k], reference[k]);
          assert.ok(error <= tolerance, `case ${index} gradient ${k} on ${backend}: ${error}`);
        }
      }
    },
  });
}

Deno.test("dilated gradients on wasm run our backprop kernels, with no Reverse", async () => {
  await useBackend("wasm");
  for (const [index, c] of CASES.entries()) {
    const data = inputs(c, index);
    const profile = await tf.profile(() => {
      tf.dispose(gradients(c, data));
    });
    const names = new Set(profile.kernels.map((k) => k.name));
    const expected = c.depthwise
      ? ["DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"]
      : ["Conv2DBackpropInput", "Conv2DBackpropFilter"];
    for (const name of expected) assert.ok(names.has(name), `case ${index}: no ${name}`);
    assert.ok(!names.has("Reverse"), `case ${index}: ran Reverse`);
  }
});

Deno.test({
  name: "webgpu convolution backprops (stride, padding, depthwise) match cpu",
  ignore: !WEBGPU,
  fn: async () => {
    const rng = new RandomStream(8);
    const configs: [number[], number[], number, "same" | "valid", boolean][] = [
      [[2, 16, 16, 3], [7, 7, 3, 4], 4, "same", false],
      [[1, 9, 9, 4], [3, 3, 4, 4], 2, "same", false],
      [[2, 8, 8, 4], [3, 3, 4, 1], 1, "same", true],
      [[1, 8, 8, 4], [1, 1, 4, 6], 1, "valid", false],
    ];
    for (const [xs, fs, stride, pad, depthwise] of configs) {
      const x = rng.normalArray(xs.reduce((a, b) => a * b));
      const f = rng.normalArray(fs.reduce((a, b) => a * b));
      const compute = () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const y = depthwise
            ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
            : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        })([tf.tensor(x, xs), tf.tensor(f, fs)]);
      const reference = await runOn("cpu", compute);
      const actual = await runOn("webgpu", compute);
      for (let k = 0; k < 2; k++) {
        assert.ok(relativeError(actual[k], reference[k]) <= 1e-3, `${xs} ${fs} ${k}`);
      }
    }
  },
});

Deno.test("the tensorflow backend fails at once with the exact requirements", async () => {
  const started = performance.now();
  await assert.rejects(
    () => useBackend("tensorflow"),
    (e: Error) => e.message.startsWith(TENSORFLOW_BACKEND_HELP),
  );
  assert.ok(performance.now() - started < 10_000, "fails fast instead of hanging");
  await assert.rejects(
    () => useBackend("tpu" as BackendName),
    /Unknown backend 'tpu'.*wasm, webgpu, tensorflow, cpu/,
  );
});
