/**
 * `UdaReluGrad`: the gradient of ReLU as one kernel, `dx = dy · (x > 0 ? 1 : 0)`, in place of
 * tfjs's `Step`, `Cast` and `Multiply` (three dispatches and three passes over each activation;
 * the DAFormer head's BatchNorm–ReLU modules run it on every [2,32,32,256] map). The product with
 * 1 or 0 is exact, so values are bit-identical to tfjs's chain, signed zeros included; a NaN in
 * x gives 0 here where tfjs's cpu `Step` gives NaN (a NaN activation has diverged the run already).
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { type ElementwiseKernel, registerElementwiseKernel } from "./adamw_elementwise.ts";

/** The kernel name of the fused ReLU gradient. */
export const UDA_RELU_GRAD = "UdaReluGrad";

/** The `UdaReluGrad` definition (exported for the tests). */
export const UDA_RELU_GRAD_KERNEL: ElementwiseKernel = {
  name: UDA_RELU_GRAD,
  inputs: ["dy", "x"],
  outputs: 1,
  constants: () => ({}),
  loop: ([dy, x], [out]) => {
    for (let i = 0; i < out.length; i++) out[i] = dy[i] * (x[i] > 0 ? 1 : 0);
  },
  simd: (kernels, [dy, x, out], count) => kernels.reluGrad(dy, x, out, count),
  webgpu: [{
    output: 0,
    sources: ["dy", "x"],
    variables: ["Dy", "X"],
    uniforms: [],
    body: "setOutputAtIndex(index, Dy[index] * select(0.0, 1.0, X[index] > 0.0));",
  }],
};

/** Registers `UdaReluGrad` on every backend and makes it ReLU's gradient (idempotent). */
export function registerReluGradient(): void {
  registerElementwiseKernel(UDA_RELU_GRAD_KERNEL);
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return {
        x: () =>
          (tf.engine().runKernel(UDA_RELU_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor[])[0],
      };
    },
  });
}
