/**
 * The fused LayerNorm and GELU kernels (`runtime/backend/kernels/`) against the composed tfjs
 * formulas they replace (`composedLayerNorm`, `composedGelu` in `runtime/nn/layers.ts`), on cpu,
 * wasm and webgpu:
 *
 * - forward: bit-identical on cpu and wasm (the kernels repeat each backend's float32
 *   roundings, its `Mean` summation order and its erf); on webgpu within 2 float32 ulps of the
 *   output's scale (the shader compiler may fuse a multiply-add; lavapipe gives exact equality);
 * - gradients: within 1e-6 of the composed ones relative to their scale (both are float32
 *   evaluations of the same derivative; observed ≤ 3.3e-7, from the composed chain's per-op
 *   rounding and float32 parameter-gradient sums).
 *
 * Exactness against float64 is `finite_difference_test.ts`'s job.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { type BackendName, useBackend } from "../../runtime/backend/mod.ts";
import { fusedLayerNorm } from "../../runtime/backend/kernels/layer_norm.ts";
import { fusedGelu } from "../../runtime/backend/kernels/gelu.ts";
import { composedGelu, composedLayerNorm } from "../../runtime/nn/layers.ts";
import { RandomStream } from "../../runtime/random.ts";
import { relativeError, runOn, WEBGPU } from "./helpers.ts";

const FORWARD_WEBGPU = 2 * 2 ** -23;
const GRADIENT = 1e-6;

/** Row counts cover the wasm kernel's four-row blocks and their remainder (74 = 4·18 + 2). */
const LN_CASES: [number[], number][] = [
  [[2, 37, 32], 1e-6],
  [[3, 7], 1e-5],
  [[1, 5, 4, 160], 1e-5],
  [[2, 16, 256], 1e-6],
];
const GELU_SHAPES = [[2, 37, 32], [3, 7], [1, 5, 4, 160]];

type LayerNormFn = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => tf.Tensor;

function lnInputs(shape: number[], seed: number) {
  const rng = new RandomStream(seed);
  const n = shape[shape.length - 1];
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    x: rng.normalArray(size, 0.3, 2),
    gamma: rng.normalArray(n, 1, 0.3),
    beta: rng.normalArray(n, 0, 0.3),
    dy: rng.normalArray(size),
  };
}

/** y, then dL/dx, dL/dγ, dL/dβ of L = Σ y·dy. */
function lnRun(fn: LayerNormFn, shape: number[], eps: number, seed: number) {
  const v = lnInputs(shape, seed);
  const n = shape[shape.length - 1];
  const x = tf.tensor(v.x, shape);
  const gamma = tf.tensor1d(v.gamma);
  const beta = tf.tensor1d(v.beta);
  const dy = tf.tensor(v.dy, shape);
  const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(fn(a, g, b, eps), dy))
  )([x, gamma, beta]);
  assert.deepEqual(grads.map((t) => t.shape), [shape, [n], [n]]);
  return [fn(x, gamma, beta, eps), ...grads];
}

function geluRun(fn: (x: tf.Tensor) => tf.Tensor, shape: number[], seed: number) {
  const v = lnInputs(shape, seed);
  const x = tf.tensor(v.x, shape);
  const dy = tf.tensor(v.dy, shape);
  return [fn(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fn(a), dy)))(x)];
}

function bitIdentical(actual: Float32Array, expected: Float32Array): boolean {
  return actual.length === expected.length && actual.every((a, i) => Object.is(a, expected[i]));
}

async function compare(
  backend: BackendName,
  label: string,
  fused: () => tf.Tensor[],
  composed: () => tf.Tensor[],
): Promise<void> {
  const a = await runOn(backend, fused);
  const b = await runOn(backend, composed);
  if (backend === "webgpu") {
    const error = relativeError(a[0], b[0]);
    assert.ok(error <= FORWARD_WEBGPU, `${backend} ${label}: forward off by ${error}`);
  } else {
    assert.ok(bitIdentical(a[0], b[0]), `${backend} ${label}: forward not bit-identical`);
  }
  for (let k = 1; k < a.length; k++) {
    const error = relativeError(a[k], b[k]);
    assert.ok(error <= GRADIENT, `${backend} ${label}: gradient ${k} off by ${error}`);
  }
}

for (const backend of ["cpu", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name: `fused LayerNorm and GELU match the composed formulas (${backend})`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      for (const [k, [shape, eps]] of LN_CASES.entries()) {
        await compare(
          backend,
          `LayerNorm [${shape}] eps ${eps}`,
          () => lnRun(fusedLayerNorm, shape, eps, k + 1),
          () => lnRun(composedLayerNorm, shape, eps, k + 1),
        );
      }
      for (const [k, shape] of GELU_SHAPES.entries()) {
        await compare(
          backend,
          `GELU [${shape}]`,
          () => geluRun(fusedGelu, shape, k + 11),
          () => geluRun(composedGelu, shape, k + 11),
        );
      }
    },
  });
}

Deno.test({
  name: "webgpu LayerNorm over more rows than one dispatch dimension holds equals cpu's",
  ignore: !WEBGPU,
  fn: async () => {
    // 70 000 rows: tfjs spreads the 70 000 workgroups over two dispatch dimensions.
    const shape = [70_000, 3];
    const run = () => lnRun(fusedLayerNorm, shape, 1e-5, 7);
    const gpu = await runOn("webgpu", run);
    const cpu = await runOn("cpu", run);
    gpu.forEach((g, k) => {
      const error = relativeError(g, cpu[k]);
      assert.ok(error < 1e-5, `output ${k}: ${error}`);
    });
  },
});

Deno.test("the fused ops return one tensor, leak none and reject bad inputs", async () => {
  await useBackend("wasm");
  const x = tf.variable(tf.randomNormal([2, 3, 4]));
  const gamma = tf.variable(tf.ones([4]));
  const beta = tf.variable(tf.zeros([4]));
  const before = tf.memory().numTensors;
  const y = fusedLayerNorm(x, gamma, beta, 1e-5);
  const z = fusedGelu(x);
  assert.equal(tf.memory().numTensors, before + 2, "one tensor per op outside tidy");
  tf.dispose([y, z]);
  const { value, grads } = tf.variableGrads(() =>
    tf.sum(fusedGelu(fusedLayerNorm(x, gamma, beta, 1e-5)))
  );
  assert.deepEqual(Object.values(grads).map((t) => t.shape), [[2, 3, 4], [4], [4]]);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, "saved statistics and c are freed");
  assert.throws(() => fusedLayerNorm(x, tf.ones([3]), beta, 1e-5), /gamma and beta must be \[4\]/);
  assert.throws(() => fusedGelu(tf.ones([2], "int32")), /must be float32/);
  tf.dispose([x, gamma, beta]);
});
