/**
 * The fused linear layer (`runtime/backend/kernels/linear.ts`) against the composed tfjs ops it
 * replaces (`composedLinear` in `runtime/nn/layers.ts`) on cpu, wasm and webgpu: the output and
 * all three gradients are bit-identical (the kernels call the same backend kernels on the same
 * operands); one dispatch each way; no tensor or backend buffer leaks. Exactness against
 * float64 is `finite_difference_test.ts`'s job.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { type BackendName, useBackend } from "../../runtime/backend/mod.ts";
import { fusedLinear, LINEAR, LINEAR_GRAD } from "../../runtime/backend/kernels/linear.ts";
import { composedLinear, linear } from "../../runtime/nn/layers.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { RandomStream } from "../../runtime/random.ts";
import { runOn, WEBGPU } from "./helpers.ts";

type LinearFn = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => tf.Tensor;

/** x shape, outputs, bias: MiT-like token shapes (rank 4), rank 3, and a bias-free matrix. */
const CASES: [number[], number, boolean][] = [
  [[2, 37, 32], 64, true],
  [[3, 7], 2, false],
  [[2, 4, 5, 160], 96, true],
  [[1, 3, 2, 9], 11, false],
];

/** y, then dL/dx, dL/dW (and dL/db) of L = Σ y·dy. */
function run(fn: LinearFn, shape: number[], o: number, hasBias: boolean, seed: number) {
  const rng = new RandomStream(seed);
  const c = shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / c;
  const x = tf.tensor(rng.normalArray(rows * c), shape);
  const w = tf.tensor(rng.normalArray(c * o, 0, 0.3), [c, o]);
  const inputs = hasBias ? [x, w, tf.tensor1d(rng.normalArray(o))] : [x, w];
  const dy = tf.tensor(rng.normalArray(rows * o), [...shape.slice(0, -1), o]);
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(fn(a[0], a[1], a[2]), dy)))(inputs);
  assert.deepEqual(grads.map((t) => t.shape), inputs.map((t) => t.shape));
  return [fn(x, w, inputs[2]), ...grads];
}

function bitIdentical(actual: Float32Array, expected: Float32Array): boolean {
  return actual.length === expected.length && actual.every((a, i) => Object.is(a, expected[i]));
}

for (const backend of ["cpu", "wasm", "webgpu"] as BackendName[]) {
  Deno.test({
    name: `fused linear is bit-identical to the composed ops, both ways (${backend})`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      for (const [k, [shape, o, hasBias]] of CASES.entries()) {
        const fused = await runOn(backend, () => run(fusedLinear, shape, o, hasBias, k + 1));
        const composed = await runOn(backend, () => run(composedLinear, shape, o, hasBias, k + 1));
        assert.equal(fused.length, hasBias ? 4 : 3);
        fused.forEach((values, i) => {
          assert.ok(
            bitIdentical(values, composed[i]),
            `${backend} [${shape}]·[${shape.at(-1)}, ${o}]: output ${i} differs`,
          );
        });
      }
    },
  });

  Deno.test({
    name: `fused linear is one dispatch each way and leaks nothing (${backend})`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      await useBackend(backend);
      const backendData = tf.engine().backend as unknown as { numDataIds(): number };
      const tensors = tf.memory().numTensors;
      const buffers = backendData.numDataIds();
      const profile = await tf.profile(() =>
        tf.tidy(() => {
          tf.dispose(run(fusedLinear, [2, 5, 3], 4, true, 9));
        })
      );
      const names = profile.kernels.map((k) => k.name);
      assert.equal(names.filter((n) => n === LINEAR_GRAD).length, 1);
      // One in the loss, one for the returned forward.
      assert.equal(names.filter((n) => n === LINEAR).length, 2);
      for (const composedKernel of ["BatchMatMul", "Add"]) {
        assert.ok(!names.includes(composedKernel), `${composedKernel} ran: ${names}`);
      }
      // The only Reshape is the loss's Sum gradient's.
      assert.equal(names.filter((n) => n === "Reshape").length, 1, `${names}`);
      // Saved for the backward: x and W, not the bias or the output.
      const forwardOnly = await tf.profile(() => {
        const [x, w, b] = tf.tidy(() => [[3, 2], [2, 4], [4]].map((s) => tf.variable(tf.ones(s))));
        const { value, grads } = tf.variableGrads(() => tf.sum(fusedLinear(x, w, b)), [x, w, b]);
        assert.deepEqual(Object.keys(grads).length, 3);
        tf.dispose([value, ...Object.values(grads), x, w, b]);
      });
      const kernels = forwardOnly.kernels.map((k) => k.name);
      const forward = kernels.slice(0, kernels.indexOf(LINEAR_GRAD));
      // x and W are saved for UdaLinear's backward, and x for the loss's Sum, without a copy
      // or a dispatch (`backend/engine_clone.ts`).
      assert.equal(forward.filter((n) => n === "Identity").length, 0, `${kernels}`);
      assert.equal(tf.memory().numTensors, tensors, "engine tensors leaked");
      assert.equal(backendData.numDataIds(), buffers, "backend buffers leaked");
    },
  });
}

Deno.test("linear uses the fused kernel and matches it; bad inputs are rejected", async () => {
  await useBackend("wasm");
  const rng = new RandomStream(4);
  const params = new ParamStore();
  params.add("fc.weight", tf.tensor2d(rng.normalArray(6 * 3), [6, 3]), "linear");
  params.add("fc.bias", tf.tensor1d(rng.normalArray(3)), "plain");
  const x = tf.tensor3d(rng.normalArray(2 * 4 * 6), [2, 4, 6]);
  const profile = await tf.profile(() => tf.dispose(linear(params, "fc", x)));
  assert.deepEqual(profile.kernelNames, [LINEAR]);
  const [a, b] = await runOn("wasm", () => [
    linear(params, "fc", x),
    composedLinear(x, params.get("fc.weight"), params.get("fc.bias")),
  ]);
  assert.ok(bitIdentical(a, b));
  const w = params.get("fc.weight");
  assert.throws(() => fusedLinear(tf.ones([2, 5]), w), /x must be \[\.\.\., C\] and weight/);
  assert.throws(() => fusedLinear(x, w, tf.ones([4])), /bias must be \[3\]/);
  assert.throws(() => fusedLinear(tf.ones([6]), w), /rank ≥ 2/);
  assert.throws(() => fusedLinear(tf.ones([2, 6], "int32"), w), /x must be float32/);
  tf.dispose(x);
  params.dispose();
});
