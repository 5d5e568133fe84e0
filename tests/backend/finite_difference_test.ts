/**
 * Every gradient a compiled program runs, against float64 central finite differences: for each
 * kernel in the union of the `differentiated` lists of `runtime/compile/kernels.ts` (and each
 * gradient UDA-Lab registers itself), `FD_CASES` in `fd_cases.ts` holds small non-square cases;
 * the tfjs gradient on cpu, wasm and webgpu (when an adapter exists) must match differences of
 * an independent float64 forward. A kernel without a case fails the coverage test.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { type BackendName, OUR_GRADIENTS, useBackend } from "../../runtime/backend/mod.ts";
import * as kernelLists from "../../runtime/compile/kernels.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  differentiatedKernels,
  FD_CASES,
  type FdCase,
  kernelUsesOf,
  missingCases,
  sizeOf,
} from "./fd_cases.ts";
import { relativeError, runOn, WEBGPU } from "./helpers.ts";

/**
 * Relative tolerance (max-norm error over the max-norm of the reference) of the float32 analytic
 * gradient against float64 differences. The reference is good to ~1e-8 (central differences with
 * step 1e-4: truncation O(h²), rounding ~1e-16/h); the analytic side carries float32 rounding over
 * sums of up to ~150 terms and, on webgpu, the shader's approximate exp/log/pow/erf. Observed
 * maxima are ≤ 3.2e-7 on cpu, wasm and webgpu (lavapipe); 1e-4 leaves a wide margin for GPU math
 * while a wrong gradient (tfjs's shifted ResizeBilinear mapping: 0.35–1.0) fails by far.
 */
const TOLERANCE = 1e-4;
/** The central-difference step, in the units of the inputs (all O(1)). */
const STEP = 1e-4;

const BACKENDS: BackendName[] = ["cpu", "wasm", "webgpu"];

interface Prepared {
  kernel: string;
  fd: FdCase;
  /** Output shapes, as the tfjs forward reports them. */
  outShapes: number[][];
  /** The random projections v_k of L = Σ_k ⟨v_k, out_k⟩. */
  v: Float32Array[];
  /** dL/d(input) by central differences in float64, per differentiated input. */
  numeric: Float64Array[];
}

function wrtOf(c: FdCase): number[] {
  return c.wrt ?? c.shapes.map((_, i) => i);
}

function outputs(c: FdCase, inputs: tf.Tensor[]): tf.Tensor[] {
  return [c.forward(inputs)].flat();
}

/** Checks the case on cpu (it runs its kernel; the reference is the same forward), then differences it. */
async function prepare(kernel: string, c: FdCase, seed: number): Promise<Prepared> {
  await useBackend("cpu");
  const inputs = c.values.map((v, i) => tf.tensor(v, c.shapes[i]));
  const profile = await tf.profile(() => tf.dispose(outputs(c, inputs)));
  assert.ok(
    profile.kernelNames.includes(kernel),
    `FD case '${kernel}: ${c.name}' does not run ${kernel} (it runs ${profile.kernelNames})`,
  );
  const forward = outputs(c, inputs);
  const outShapes = forward.map((t) => t.shape);
  const values = await Promise.all(forward.map((t) => t.data()));
  tf.dispose([...inputs, ...forward]);
  const x64 = c.values.map((v) => Float64Array.from(v));
  const reference = c.reference(x64);
  assert.equal(reference.length, values.length, `${kernel}: ${c.name}: number of outputs`);
  reference.forEach((r, k) => {
    const error = relativeError(values[k], r);
    assert.ok(
      error < 1e-5,
      `${kernel}: ${c.name}: the float64 reference disagrees with tfjs's forward (${error})`,
    );
  });
  const rng = new RandomStream(seed);
  const v = outShapes.map((s) => rng.normalArray(sizeOf(s)));
  const loss = (xs: Float64Array[]) =>
    c.reference(xs).reduce(
      (sum, y, k) => y.reduce((acc, value, j) => acc + value * v[k][j], sum),
      0,
    );
  const numeric = wrtOf(c).map((i) => {
    const x = x64[i];
    const grad = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const saved = x[j];
      x[j] = saved + STEP;
      const plus = loss(x64);
      x[j] = saved - STEP;
      const minus = loss(x64);
      x[j] = saved;
      grad[j] = (plus - minus) / (2 * STEP);
    }
    return grad;
  });
  return { kernel, fd: c, outShapes, v, numeric };
}

/** The analytic gradients of L on the active backend (tf.grads through the registry). */
function analytic(p: Prepared): tf.Tensor[] {
  const c = p.fd;
  const inputs = c.values.map((v, i) => tf.tensor(v, c.shapes[i]));
  const vs = p.v.map((v, k) => tf.tensor(v, p.outShapes[k]));
  const wrt = wrtOf(c);
  const loss = (...xs: tf.Tensor[]) => {
    const all = inputs.slice();
    wrt.forEach((i, k) => (all[i] = xs[k]));
    return outputs(c, all).map((y, k) => tf.sum(tf.mul(y, vs[k]))).reduce((a, b) => tf.add(a, b));
  };
  return tf.grads(loss)(wrt.map((i) => inputs[i]));
}

const prepared = new Map<string, Prepared[]>();

async function casesOf(kernel: string): Promise<Prepared[]> {
  let list = prepared.get(kernel);
  if (list === undefined) {
    list = [];
    for (const [index, c] of FD_CASES[kernel]().entries()) {
      list.push(await prepare(kernel, c, index + 1));
    }
    prepared.set(kernel, list);
  }
  return list;
}

/** The kernels to check: those the programs differentiate and those we register gradients for. */
function requiredKernels(): string[] {
  const uses = kernelUsesOf(kernelLists as unknown as Record<string, unknown>);
  return [...new Set([...differentiatedKernels(uses), ...OUR_GRADIENTS])].sort();
}

Deno.test("every differentiated kernel and every gradient UDA-Lab registers has an FD case", () => {
  const uses = kernelUsesOf(kernelLists as unknown as Record<string, unknown>);
  assert.ok(uses.length >= 6, `found only ${uses.length} KernelUse lists in kernels.ts`);
  const missing = missingCases(differentiatedKernels(uses));
  if (missing.length > 0) {
    assert.fail(
      `No finite-difference case for differentiated kernel(s) ${
        missing.join(", ")
      }: add an entry ` +
        `to FD_CASES in tests/backend/fd_cases.ts (inputs, the tfjs op, a float64 forward).`,
    );
  }
  const ours = missingCases(OUR_GRADIENTS);
  if (ours.length > 0) {
    assert.fail(
      `UDA-Lab registers gradient(s) for ${ours.join(", ")} (OUR_GRADIENTS in ` +
        `runtime/backend/mod.ts) without a finite-difference case: add an entry to FD_CASES in ` +
        `tests/backend/fd_cases.ts.`,
    );
  }
  // The collector sees a kernel a new list would add.
  assert.deepEqual(
    missingCases(
      differentiatedKernels([...uses, { differentiated: ["NoSuchKernel"], backward: [] }]),
    ),
    ["NoSuchKernel"],
  );
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `gradients equal float64 finite differences (${backend})`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async (t) => {
      // Every case, not only the kernels of `kernels.ts`'s lists: modules declare kernels of
      // their own (HRDA's Sigmoid and Slice), which `experiment_gradients_test.ts` requires.
      const kernels = [...new Set([...requiredKernels(), ...Object.keys(FD_CASES)])].sort();
      for (const kernel of kernels.filter((k) => k in FD_CASES)) {
        await t.step(kernel, async () => {
          for (const p of await casesOf(kernel)) {
            const grads = await runOn(backend, () => analytic(p));
            grads.forEach((g, k) => {
              const error = relativeError(g, p.numeric[k]);
              assert.ok(
                error < TOLERANCE,
                `${backend} ${kernel} (${p.fd.name}), input ${
                  wrtOf(p.fd)[k]
                }: relative error ${error}`,
              );
            });
          }
        });
      }
    },
  });
}
