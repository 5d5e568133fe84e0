import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { WASM_TRAINING_KERNELS } from "../../runtime/backend/wasm_kernels.ts";
import { RandomStream } from "../../runtime/random.ts";
import { relativeError, runOn } from "./helpers.ts";

type Pad = "same" | "valid" | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: [number, number];
  dilation: [number, number];
  pad: Pad;
}

/** Random convolution configurations: kernels 1–7, strides 1/2/4, dilations, all paddings. */
function convCases(
  seed: number,
  count: number,
  depthwise: boolean,
  allowDilation: boolean,
): ConvCase[] {
  const rng = new RandomStream(seed);
  const cases: ConvCase[] = [
    // MiT's overlapping patch embedding: 7×7, stride 4, padding 3.
    {
      x: [2, 16, 16, 3],
      filter: [7, 7, 3, depthwise ? 1 : 4],
      stride: [4, 4],
      dilation: [1, 1],
      pad: [[0, 0], [3, 3], [3, 3], [0, 0]],
    },
  ];
  if (allowDilation) {
    // DAFormer's dilated depthwise branch: 3×3, dilation 6, padding 6.
    cases.push({
      x: [1, 14, 14, 4],
      filter: [3, 3, 4, 1],
      stride: [1, 1],
      dilation: [6, 6],
      pad: [[0, 0], [6, 6], [6, 6], [0, 0]],
    });
  }
  while (cases.length < count) {
    const kh = 1 + rng.int(7);
    const kw = rng.bernoulli(0.7) ? kh : 1 + rng.int(7);
    const stride = [1, 2, 4][rng.int(3)];
    const dilation = allowDilation && stride === 1 && rng.bernoulli(0.5)
      ? [2, 3, 12][rng.int(3)]
      : 1;
    const span = Math.max((kh - 1) * dilation + 1, (kw - 1) * dilation + 1);
    const h = span + rng.int(10);
    const w = span + rng.int(10);
    const c = 1 + rng.int(6);
    const padKind = rng.int(3);
    const pad: Pad = padKind === 0
      ? "same"
      : padKind === 1
      ? "valid"
      : [[0, 0], [rng.int(4), rng.int(4)], [rng.int(4), rng.int(4)], [0, 0]];
    cases.push({
      x: [1 + rng.int(2), h, w, c],
      filter: [kh, kw, c, depthwise ? 1 + rng.int(2) : 1 + rng.int(6)],
      stride: [stride, stride],
      dilation: [dilation, dilation],
      pad,
    });
  }
  return cases;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function describe(c: ConvCase): string {
  return JSON.stringify(c);
}

/** Runs one backprop kernel directly on wasm and on cpu with identical inputs. */
async function compareKernel(
  kernel: string,
  inputs: Record<string, { shape: number[]; values: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<number> {
  const compute = () => {
    const tensors = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
    );
    return tf.engine().runKernel(kernel, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  };
  const [wasm] = await runOn("wasm", compute);
  const [cpu] = await runOn("cpu", compute);
  return relativeError(wasm, cpu);
}

function outputShape(c: ConvCase, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x,
    c.filter,
    c.stride,
    c.dilation,
    c.pad,
    undefined,
    depthwise,
  );
  return info.outShape;
}

Deno.test("wasm registers every training kernel it lacked", async () => {
  await useBackend("wasm");
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, "wasm"), name);
});

/** Relative error of a dense backprop kernel on wasm against cpu, random inputs. */
async function denseError(kernel: string, c: ConvCase, rng: RandomStream): Promise<number> {
  const dyShape = outputShape(c, false);
  const x = { shape: c.x, values: rng.normalArray(size(c.x)) };
  const dy = { shape: dyShape, values: rng.normalArray(size(dyShape)) };
  const filter = { shape: c.filter, values: rng.normalArray(size(c.filter)) };
  const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
  return kernel === "Conv2DBackpropFilter"
    ? await compareKernel(kernel, { x, dy }, { ...attrs, filterShape: c.filter })
    : await compareKernel(kernel, { dy, filter }, { ...attrs, inputShape: c.x });
}

/** A dense case with square strides and `pad` either a mode or symmetric rows and columns. */
function dense(
  x: ConvCase["x"],
  filter: ConvCase["filter"],
  stride: number,
  pad: "same" | "valid" | number,
): ConvCase {
  const p = typeof pad === "number" ? [pad, pad] as [number, number] : undefined;
  return {
    x,
    filter,
    stride: [stride, stride],
    dilation: [1, 1],
    pad: p === undefined ? pad as "same" | "valid" : [[0, 0], p, p, [0, 0]],
  };
}

/**
 * One case per code path of the wasm dense backprops, at MiT-B0's geometries shrunk to
 * non-square, batch-2 inputs: im2col gathers (strided, channel-first), the flipped-convolution
 * input gradient (stride 1), and matmul + col2im with either operand packed (pixels ≥ or < filter
 * rows), overlapping or not, 1×1 without col2im.
 */
const DENSE_PATHS: [string, ConvCase][] = [
  ["1×1, stride 1 (pointwise)", dense([2, 6, 5, 8], [1, 1, 8, 3], 1, "valid")],
  ["1×1, fewer pixels than channels", dense([2, 2, 3, 40], [1, 1, 40, 6], 1, "valid")],
  ["1×1, stride 2", dense([2, 7, 6, 4], [1, 1, 4, 3], 2, "valid")],
  ["7×7, stride 4, pad 3 (first patch embed)", dense([2, 19, 14, 3], [7, 7, 3, 5], 4, 3)],
  ["3×3, stride 2, pad 1 (later patch embeds)", dense([2, 9, 12, 5], [3, 3, 5, 6], 2, 1)],
  ["3×3, stride 2, pad 1, fewer pixels than rows", dense([2, 4, 6, 24], [3, 3, 24, 7], 2, 1)],
  ["3×3, stride 2, SAME", dense([2, 8, 7, 3], [3, 3, 3, 4], 2, "same")],
  ["8×8, stride 8 (spatial reduction)", dense([2, 16, 24, 3], [8, 8, 3, 4], 8, "valid")],
  ["4×4, stride 4 (spatial reduction)", dense([2, 8, 12, 4], [4, 4, 4, 5], 4, "valid")],
  ["2×2, stride 2 (spatial reduction)", dense([2, 6, 4, 6], [2, 2, 6, 3], 2, "valid")],
  ["2×2, stride 2, more channels than a block", dense([2, 4, 6, 70], [2, 2, 70, 5], 2, "valid")],
  ["3×2, strides 2×1, pad 2/0/0/1", {
    ...dense([2, 9, 8, 3], [3, 2, 3, 4], 1, "valid"),
    stride: [2, 1],
    pad: [[0, 0], [2, 0], [0, 1], [0, 0]],
  }],
  ["3×3, stride 1, pad 1 (flipped convolution)", dense([2, 7, 9, 6], [3, 3, 6, 4], 1, 1)],
  ["3×3, stride 1, SAME, many channels", dense([2, 5, 6, 70], [3, 3, 70, 8], 1, "same")],
  ["5×3, stride 1, VALID", dense([2, 9, 6, 3], [5, 3, 3, 2], 1, "valid")],
];

for (const kernel of ["Conv2DBackpropFilter", "Conv2DBackpropInput"]) {
  Deno.test(`wasm ${kernel} matches cpu on 60 random configurations`, async () => {
    const rng = new RandomStream(kernel.length);
    for (const c of convCases(11 + kernel.length, 60, false, false)) {
      const error = await denseError(kernel, c, rng);
      assert.ok(error <= 1e-5, `${kernel} ${describe(c)}: relative error ${error}`);
    }
  });

  Deno.test(`wasm ${kernel} matches cpu on each of its code paths`, async () => {
    const rng = new RandomStream(7 + kernel.length);
    for (const [name, c] of DENSE_PATHS) {
      const error = await denseError(kernel, c, rng);
      assert.ok(error <= 1e-5, `${kernel} ${name} ${describe(c)}: relative error ${error}`);
    }
  });
}

/** MiT's 3×3 depthwise convolution (Mix-FFN) and the loop's edge cases, non-square, batch 2. */
const DEPTHWISE_PATHS: [string, ConvCase][] = [
  ["3×3, pad 1 (Mix-FFN)", dense([2, 7, 9, 40], [3, 3, 40, 1], 1, 1)],
  ["3×3, SAME, more channels than a block", dense([2, 8, 5, 70], [3, 3, 70, 1], 1, "same")],
  ["3×3, stride 2, pad 1, multiplier 2", dense([2, 9, 7, 3], [3, 3, 3, 2], 2, 1)],
  ["5×5, stride 2, SAME", dense([2, 6, 10, 5], [5, 5, 5, 1], 2, "same")],
];

for (
  const kernel of ["DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput"]
) {
  // tfjs's cpu depthwise backprop kernels ignore their `dilations` attribute (they are only ever
  // called with dilation 1), so the cpu comparison uses dilation 1; dilated depthwise gradients
  // are checked against finite differences in gradients_test.ts.
  const check = async (c: ConvCase, rng: RandomStream) => {
    const dyShape = outputShape(c, true);
    const x = { shape: c.x, values: rng.normalArray(size(c.x)) };
    const dy = { shape: dyShape, values: rng.normalArray(size(dyShape)) };
    const filter = { shape: c.filter, values: rng.normalArray(size(c.filter)) };
    const attrs = {
      strides: c.stride,
      dilations: c.dilation,
      pad: c.pad,
      dimRoundingMode: undefined,
    };
    const error = kernel === "DepthwiseConv2dNativeBackpropFilter"
      ? await compareKernel(kernel, { x, dy }, { ...attrs, filterShape: c.filter })
      : await compareKernel(kernel, { dy, filter }, { ...attrs, inputShape: c.x });
    assert.ok(error <= 1e-5, `${kernel} ${describe(c)}: relative error ${error}`);
  };
  Deno.test(`wasm ${kernel} matches cpu on 60 random configurations`, async () => {
    const rng = new RandomStream(kernel.length);
    for (const c of convCases(23 + kernel.length, 60, true, false)) await check(c, rng);
  });
  Deno.test(`wasm ${kernel} matches cpu at MiT's geometry and edge cases`, async () => {
    const rng = new RandomStream(5 + kernel.length);
    for (const [, c] of DEPTHWISE_PATHS) await check(c, rng);
  });
}

Deno.test("wasm UnsortedSegmentSum matches cpu on 60 random configurations", async () => {
  const rng = new RandomStream(31);
  for (let i = 0; i < 60; i++) {
    const rows = 1 + rng.int(40);
    const inner = [1 + rng.int(5), 1 + rng.int(4)].slice(0, 1 + rng.int(2));
    const numSegments = 1 + rng.int(12);
    const ids = Int32Array.from({ length: rows }, () => rng.int(numSegments + 2) - 1); // some out of range
    const values = rng.normalArray(rows * size(inner));
    const compute = () =>
      tf.unsortedSegmentSum(
        tf.tensor(values, [rows, ...inner]),
        tf.tensor1d(ids, "int32"),
        numSegments,
      );
    const [wasm] = await runOn("wasm", compute);
    const [cpu] = await runOn("cpu", compute);
    assert.ok(
      relativeError(wasm, cpu) <= 1e-5,
      `rows ${rows} inner ${inner} segments ${numSegments}`,
    );
  }
});

Deno.test("gather's gradient (UnsortedSegmentSum) on wasm matches cpu", async () => {
  const rng = new RandomStream(3);
  const table = rng.normalArray(10 * 4);
  const indices = Int32Array.from({ length: 25 }, () => rng.int(10));
  const weights = rng.normalArray(25 * 4);
  const compute = () =>
    tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(t, tf.tensor1d(indices, "int32")), tf.tensor(weights, [25, 4])))
    )(
      tf.tensor(table, [10, 4]),
    );
  const [wasm] = await runOn("wasm", compute);
  const [cpu] = await runOn("cpu", compute);
  assert.ok(relativeError(wasm, cpu) <= 1e-5);
});

Deno.test("wasm kernels leak no tensors or buffers", async () => {
  await useBackend("wasm");
  const x = tf.randomNormal([2, 12, 12, 3]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
  const pointwise = tf.randomNormal([1, 1, 3, 4]) as tf.Tensor4D;
  const patch = tf.randomNormal([4, 4, 3, 20]) as tf.Tensor4D;
  const dwf = tf.randomNormal([3, 3, 3, 1]) as tf.Tensor4D;
  const conv = (a: tf.Tensor, w: tf.Tensor, stride: number, pad: "same" | "valid", dilation = 1) =>
    tf.sum(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad, "NHWC", dilation));
  // Every backprop path: col2im (stride 2), flipped convolution (stride 1), 1×1, packed dYᵀ
  // (stride 4: fewer pixels than filter rows), and the dilated gradients.
  const step = () =>
    tf.tidy(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, p: tf.Tensor, q: tf.Tensor, c: tf.Tensor) =>
        tf.addN([
          conv(a, b, 2, "same"),
          conv(a, b, 1, "same"),
          conv(a, p, 1, "valid"),
          conv(a, q, 4, "valid"),
          conv(a, b, 1, "same", 3),
          tf.sum(
            tf.depthwiseConv2d(
              a as tf.Tensor4D,
              c as tf.Tensor4D,
              1,
              [[0, 0], [2, 2], [2, 2], [0, 0]],
              "NHWC",
              2,
            ),
          ),
        ])
      )([x, f, pointwise, patch, dwf]);
      return tf.addN(g.map((t) => tf.sum(t)));
    });
  await step().data();
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (let i = 0; i < 5; i++) {
    const out = step();
    await out.data();
    out.dispose();
  }
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), buffers);
  tf.dispose([x, f, pointwise, patch, dwf]);
});
