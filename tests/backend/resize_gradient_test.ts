/**
 * The bilinear-resize gradient against central finite differences computed in float64 from an
 * independent implementation of the forward (written from PyTorch's formulas, not from
 * `resizeMatrix`), on cpu, wasm and webgpu (when an adapter exists).
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { type BackendName, useBackend } from "../../runtime/backend/mod.ts";
import { resizeMatrix } from "../../runtime/backend/resize_gradient.ts";
import { RandomStream } from "../../runtime/random.ts";
import { mergeKernelUses, SEGMENTOR_KERNELS } from "../../runtime/compile/kernels.ts";
import { relativeError, runOn, WEBGPU } from "./helpers.ts";
import { resize64, type ResizeMode } from "./fd_cases.ts";

interface ResizeCase {
  x: [number, number, number, number];
  size: [number, number];
  mode: ResizeMode;
}

const CASES: ResizeCase[] = [
  // The networks' mapping (half-pixel centers) at non-square ×4 and ×2, and a downscale.
  { x: [2, 5, 7, 3], size: [20, 28], mode: "halfPixel" },
  { x: [1, 6, 9, 2], size: [12, 18], mode: "halfPixel" },
  { x: [1, 9, 13, 2], size: [4, 6], mode: "halfPixel" },
  // Edges of the integer-upsampling (convolution) path: one pixel, two pixels, s = 1, s = 8.
  { x: [1, 3, 1, 2], size: [9, 3], mode: "halfPixel" },
  { x: [2, 4, 3, 2], size: [4, 6], mode: "halfPixel" },
  { x: [1, 2, 3, 1], size: [16, 24], mode: "halfPixel" },
  { x: [1, 1, 2, 2], size: [3, 8], mode: "asymmetric" },
  // The other attribute combinations the kernels accept (the matrix path).
  { x: [1, 5, 7, 2], size: [11, 15], mode: "alignCorners" },
  { x: [2, 6, 4, 2], size: [9, 10], mode: "asymmetric" },
  { x: [1, 7, 5, 1], size: [3, 2], mode: "asymmetric" },
];

const BACKENDS: BackendName[] = ["cpu", "wasm", "webgpu"];

/** The resize in float64, NHWC, from PyTorch's formulas (independent of `resizeMatrix`). */
function reference(x: Float64Array, c: ResizeCase): Float64Array {
  return resize64(x, c.x, c.size, c.mode);
}

function inputs(c: ResizeCase, seed: number) {
  const rng = new RandomStream(seed);
  const [n, , , ch] = c.x;
  return {
    x: rng.normalArray(c.x.reduce((a, b) => a * b)),
    v: rng.normalArray(n * c.size[0] * c.size[1] * ch),
  };
}

/**
 * dL/dx of L = Σ v·resize(x) by central differences in float64. L is linear in x, so the step
 * can be 1 and the difference is exact up to float64 rounding (≈1e-15 relative).
 */
function finiteDifferences(c: ResizeCase, x: Float32Array, v: Float32Array): Float64Array {
  const loss = (p: Float64Array) => reference(p, c).reduce((sum, y, i) => sum + y * v[i], 0);
  const base = Float64Array.from(x);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = base.slice();
    const minus = base.slice();
    plus[i] += 1;
    minus[i] -= 1;
    grad[i] = (loss(plus) - loss(minus)) / 2;
  }
  return grad;
}

function flags(mode: ResizeMode): [boolean, boolean] {
  return [mode === "alignCorners", mode === "halfPixel"];
}

function analytic(c: ResizeCase, x: Float32Array, v: Float32Array): tf.Tensor {
  const [alignCorners, halfPixelCenters] = flags(c.mode);
  const vt = tf.tensor(v, [c.x[0], ...c.size, c.x[3]]);
  return tf.grad((t: tf.Tensor) =>
    tf.sum(
      tf.mul(tf.image.resizeBilinear(t as tf.Tensor4D, c.size, alignCorners, halfPixelCenters), vt),
    )
  )(tf.tensor(x, c.x));
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `resizeBilinear's gradient equals float64 finite differences (${backend})`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      for (const [index, c] of CASES.entries()) {
        const { x, v } = inputs(c, index);
        const [grad] = await runOn(backend, () => analytic(c, x, v));
        const error = relativeError(grad, finiteDifferences(c, x, v));
        // float32 gradient against an exact reference: a few float32 roundings per element.
        assert.ok(
          error < 1e-4,
          `${backend} case ${index} (${c.x} → ${c.size}, ${c.mode}): ${error}`,
        );
      }
    },
  });

  Deno.test({
    name: `resizeBilinear's forward on ${backend} is the separable map of resizeMatrix`,
    ignore: backend === "webgpu" && !WEBGPU,
    fn: async () => {
      for (const [index, c] of CASES.entries()) {
        const { x } = inputs(c, index);
        const [alignCorners, halfPixelCenters] = flags(c.mode);
        const [y] = await runOn(
          backend,
          () =>
            tf.image.resizeBilinear(tf.tensor4d(x, c.x), c.size, alignCorners, halfPixelCenters),
        );
        const independent = reference(Float64Array.from(x), c);
        assert.ok(relativeError(y, independent) < 1e-5, `${backend} case ${index}: independent`);
        // y[b, r, q, d] = Σ A_h[r, i] A_w[q, j] x[b, i, j, d], with the gradient's matrices.
        const [n, h, w, ch] = c.x;
        const [oh, ow] = c.size;
        const ah = resizeMatrix(h, oh, alignCorners, halfPixelCenters);
        const aw = resizeMatrix(w, ow, alignCorners, halfPixelCenters);
        const separable = new Float64Array(y.length);
        for (let b = 0; b < n; b++) {
          for (let r = 0; r < oh; r++) {
            for (let q = 0; q < ow; q++) {
              for (let d = 0; d < ch; d++) {
                let sum = 0;
                for (let i = 0; i < h; i++) {
                  for (let j = 0; j < w; j++) {
                    sum += ah[r * h + i] * aw[q * w + j] * x[((b * h + i) * w + j) * ch + d];
                  }
                }
                separable[((b * oh + r) * ow + q) * ch + d] = sum;
              }
            }
          }
        }
        assert.ok(relativeError(y, separable) < 1e-5, `${backend} case ${index}: resizeMatrix`);
      }
    },
  });
}

Deno.test("tfjs's own ResizeBilinearGrad fails the same check (the test can fail)", async () => {
  for (const backend of ["cpu", "wasm"] as BackendName[]) {
    await useBackend(backend);
    const c = CASES[0];
    const { x, v } = inputs(c, 0);
    const old = tf.tidy(() =>
      tf.engine().runKernel("ResizeBilinearGrad", {
        images: tf.tensor(x, c.x),
        dy: tf.tensor(v, [c.x[0], ...c.size, c.x[3]]),
      }, { alignCorners: false, halfPixelCenters: true }) as tf.Tensor
    );
    if (backend === "cpu") {
      // The cpu kernel also swaps height and width in the shape it reports.
      assert.deepEqual(old.shape, [2, 7, 5, 3]);
    }
    const values = await old.data();
    old.dispose();
    const error = relativeError(values, finiteDifferences(c, x, v));
    assert.ok(error > 0.1, `${backend}: tfjs's gradient unexpectedly matches (${error})`);
  }
});

Deno.test("the gradient runs the fast path at the networks' sizes, with declared kernels", async () => {
  await useBackend("wasm");
  const declared = mergeKernelUses([SEGMENTOR_KERNELS]);
  const known = new Set([...declared.differentiated, ...declared.backward]);
  for (const c of CASES) {
    const { x, v } = inputs(c, 0);
    const profile = await tf.profile(() => tf.dispose(analytic(c, x, v)));
    const kernels = [...new Set(profile.kernelNames)];
    // Every kernel a training step runs must be in the lists (tests/compile/program_test.ts).
    assert.deepEqual(kernels.filter((k) => !known.has(k)), [], `${c.x} → ${c.size}`);
    const integer = c.mode !== "alignCorners" && c.size[0] % c.x[1] === 0 &&
      c.size[1] % c.x[2] === 0;
    // Integer upsampling (every resize the networks differentiate) is the convolution path.
    assert.equal(kernels.includes("BatchMatMul"), !integer, `${c.x} → ${c.size}: ${kernels}`);
  }
});
