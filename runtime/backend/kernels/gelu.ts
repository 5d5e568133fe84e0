/**
 * Exact GELU as one kernel each way, on cpu, wasm and webgpu, in place of the composed formula's
 * five forward and ~14 backward kernels:
 *
 * - `UdaGelu` (x) → [y, c] with b = f32(x·√½), c = 1 + erf(b), y = (x·½)·c (PyTorch
 *   `nn.GELU`'s default). `c` is saved for the backward so it never evaluates erf again;
 *   {@linkcode fusedGelu} returns y only.
 * - `UdaGeluGrad` (dy, x, c) → dx = dy·(½·c + x·e^{−b²}/√(2π)), the derivative of
 *   x·Φ(x) = ½x·(1 + erf(x/√2)).
 *
 * **erf.** Each backend keeps its own `Erf`: tfjs's cpu and webgpu kernels evaluate
 * Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5e-7) and wasm calls the C library's `erff`
 * (within an ulp). A table-driven erf in JavaScript, tried first, ran no faster than `erff` on
 * wasm (both ~6× slower than wasm's `Exp`). Matching each backend makes the forward
 * bit-identical to the composed chain, whose float32 roundings (`x·f32(√½)`, erf, `+ 1`, `x·½`,
 * product) it repeats;
 * the A–S error is ≤ 0.75e-7·|x| in y, a few float32 ulps, and the finite-difference tests
 * check the gradient against the exact erf. On wasm the kernel runs the backend's own `Erf` and
 * `Exp` kernel functions on its heap between JavaScript passes. On tensorflow (tfjs-node) the
 * cpu loops run over copies, with the A–S erf.
 *
 * **Backward rounding.** dx is computed in float64 from float32 c and e^{−b²} and rounded once,
 * so it differs from the composed gradient (rounded after each of its ops) by float32 rounding.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import {
  elementwiseProgram,
  type HostBody,
  registerHostKernel,
  type WebGpuBackend,
} from "./fused_kernel.ts";

/** The forward kernel's name. */
export const GELU = "UdaGelu";
/** The gradient kernel's name. */
export const GELU_GRAD = "UdaGeluGrad";
/**
 * Where the all-JavaScript kernels run: cpu, and tensorflow (tfjs-node, not installable here, so
 * untested), where they use cpu's A–S erf rather than TensorFlow's.
 */
const HOST_ARRAY_BACKENDS = ["cpu", "tensorflow"];

const f32 = Math.fround;
/** `tf.mul(x, Math.SQRT1_2)` multiplies by the float32 scalar. */
const SQRT1_2_F32 = f32(Math.SQRT1_2);
/**
 * dx = dy·(½c + ½x·erf′(b)·√½) with erf′(b) = (2/√π)·e^{−b²}: the factor of x·e^{−b²},
 * f32(√½)/√π (≈ 1/√(2π)), uses the float32 √½ the forward multiplied by.
 */
const SLOPE = SQRT1_2_F32 / Math.sqrt(Math.PI);
const { ERF_P, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5 } = tf.backend_util;

/** tfjs-backend-cpu's `Erf` (A–S 7.1.26 in float64), before its rounding to float32. */
function cpuErf(x: number): number {
  const v = Math.abs(x);
  const t = 1 / (1 + ERF_P * v);
  return Math.sign(x) *
    (1 - (((((ERF_A5 * t + ERF_A4) * t) + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t *
        Math.exp(-v * v));
}

// ---------------------------------------------------------------------------------------------
// cpu: every step in JavaScript, rounded as tfjs-backend-cpu rounds each op

const cpuForward: HostBody = ([x], [y, c]) => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const ci = f32(f32(cpuErf(f32(v * SQRT1_2_F32))) + 1);
    c[i] = ci;
    y[i] = f32(f32(v * 0.5) * ci);
  }
};

const cpuBackward: HostBody = ([dy, x, c], [dx]) => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const b = f32(v * SQRT1_2_F32);
    const decay = f32(Math.exp(-f32(b * b)));
    dx[i] = dy[i] * (0.5 * c[i] + v * decay * SLOPE);
  }
};

// ---------------------------------------------------------------------------------------------
// wasm: the backend's own Erf and Exp kernels between JavaScript passes over its heap

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
  disposeData(dataId: unknown): boolean;
}

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown };

function wasmUnary(name: string, x: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const kernel = tf.getKernel(name, "wasm");
  if (kernel === undefined) throw new Error(`wasm backend: kernel '${name}' is not registered`);
  return kernel.kernelFunc({ inputs: { x }, backend, attrs: {} } as never) as tf.TensorInfo;
}

/** A float32 view of a wasm tensor; taken after the last allocation (growth detaches views). */
function heap(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

function wasmForward({ inputs, backend }: Args): tf.TensorInfo[] {
  const wasm = backend as WasmBackend;
  const { x } = checked(GELU, inputs, ["x"]);
  const b = wasm.makeOutput(x.shape, "float32");
  const xv = heap(wasm, x);
  const bv = heap(wasm, b);
  for (let i = 0; i < xv.length; i++) bv[i] = f32(xv[i] * SQRT1_2_F32);
  const c = wasmUnary("Erf", b, wasm); // becomes 1 + erf(b) in place below
  wasm.disposeData(b.dataId);
  const y = wasm.makeOutput(x.shape, "float32");
  const [xs, cs, ys] = [x, c, y].map((t) => heap(wasm, t));
  for (let i = 0; i < xs.length; i++) {
    const ci = f32(cs[i] + 1);
    cs[i] = ci;
    ys[i] = f32(f32(xs[i] * 0.5) * ci);
  }
  return [y, c];
}

function wasmBackward({ inputs, backend }: Args): tf.TensorInfo {
  const wasm = backend as WasmBackend;
  const { dy, x, c } = checked(GELU_GRAD, inputs, ["dy", "x", "c"]);
  const exponent = wasm.makeOutput(x.shape, "float32");
  const xv = heap(wasm, x);
  const ev = heap(wasm, exponent);
  for (let i = 0; i < xv.length; i++) {
    const b = f32(xv[i] * SQRT1_2_F32);
    ev[i] = -f32(b * b);
  }
  const decay = wasmUnary("Exp", exponent, wasm);
  wasm.disposeData(exponent.dataId);
  const dx = wasm.makeOutput(x.shape, "float32");
  const [dys, xs, cs, ds, dxs] = [dy, x, c, decay, dx].map((t) => heap(wasm, t));
  for (let i = 0; i < xs.length; i++) dxs[i] = dys[i] * (0.5 * cs[i] + xs[i] * ds[i] * SLOPE);
  wasm.disposeData(decay.dataId);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// WebGPU: tfjs's own WGSL erf, one program per output

const ERF_WGSL = `
fn udaErf(a : f32) -> f32 {
  let t = 1.0 / (1.0 + ${ERF_P} * abs(a));
  return sign(a) * (1.0 - (((((${ERF_A5} * t + ${ERF_A4}) * t) + ${ERF_A3}) * t + ${ERF_A2}) * t +
    ${ERF_A1}) * t * exp(-abs(a) * abs(a)));
}`;

function webgpuElementwise(
  backend: unknown,
  key: string,
  inputs: [string, tf.TensorInfo][],
  value: string,
): tf.TensorInfo {
  const shape = inputs[inputs.length - 1][1].shape;
  const program = elementwiseProgram(
    key,
    shape,
    inputs.map(([name]) => name),
    `${ERF_WGSL}
fn main(index : i32) {
  if (index < uniforms.size) {
    let v = x[index];
    let b = v * ${SQRT1_2_F32};
    setOutputAtIndex(index, ${value});
  }
}`,
  );
  return (backend as WebGpuBackend).runWebGPUProgram(program, inputs.map(([, t]) => t), "float32");
}

function webgpuForward({ inputs, backend }: Args): tf.TensorInfo[] {
  const { x } = checked(GELU, inputs, ["x"]);
  return [
    webgpuElementwise(backend, "uda_gelu", [["x", x]], "(v * 0.5) * (udaErf(b) + 1.0)"),
    webgpuElementwise(backend, "uda_gelu_c", [["x", x]], "udaErf(b) + 1.0"),
  ];
}

function webgpuBackward({ inputs, backend }: Args): tf.TensorInfo {
  const { dy, x, c } = checked(GELU_GRAD, inputs, ["dy", "x", "c"]);
  return webgpuElementwise(
    backend,
    "uda_gelu_grad",
    [["dy", dy], ["c", c], ["x", x]],
    `dy[index] * (0.5 * c[index] + v * exp(-(b * b)) * ${SLOPE})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Registration, gradient, op

/** The named inputs, all float32 and of one shape. */
function checked(kernel: string, inputs: Record<string, tf.TensorInfo>, names: string[]) {
  const shape = inputs[names[0]]?.shape;
  for (const name of names) {
    const t = inputs[name];
    if (t === undefined || t.dtype !== "float32" || !tf.util.arraysEqual(t.shape, shape)) {
      throw new Error(
        `${kernel}: inputs ${names.join(", ")} must be float32 tensors of one shape ` +
          `(${name}: ${t === undefined ? "missing" : `${t.dtype} [${t.shape}]`})`,
      );
    }
  }
  return inputs;
}

const geluGradient: tf.GradConfig = {
  kernelName: GELU,
  inputsToSave: ["x"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved) => {
    const [x, c] = saved;
    const dy = (dys as tf.Tensor[])[0];
    return { x: () => tf.engine().runKernel(GELU_GRAD, { dy, x, c }) as tf.Tensor };
  },
};

/** Registers `UdaGelu` and `UdaGeluGrad` on cpu, wasm and webgpu, and the gradient. */
export function registerGeluKernels(): void {
  const same = (shapes: number[][]) => shapes.slice(0, 1);
  registerHostKernel({
    name: GELU,
    inputs: ["x"],
    outputShapes: (shapes) => [shapes[0], shapes[0]],
    body: cpuForward,
  }, HOST_ARRAY_BACKENDS);
  registerHostKernel(
    { name: GELU_GRAD, inputs: ["dy", "x", "c"], outputShapes: same, body: cpuBackward },
    HOST_ARRAY_BACKENDS,
  );
  const kernels: [string, string, unknown][] = [
    [GELU, "wasm", wasmForward],
    [GELU_GRAD, "wasm", wasmBackward],
    [GELU, "webgpu", webgpuForward],
    [GELU_GRAD, "webgpu", webgpuBackward],
  ];
  for (const [name, backendName, kernelFunc] of kernels) {
    if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
    tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
  }
  tf.registerGradient(geluGradient);
}

/** Exact GELU of a float32 tensor as one `UdaGelu` kernel (differentiable). */
export function fusedGelu<T extends tf.Tensor>(x: T): T {
  if (x.dtype !== "float32") throw new Error(`fusedGelu: x must be float32, got ${x.dtype}`);
  const [y, c] = tf.engine().runKernel(GELU, { x }) as tf.Tensor[];
  // The gradient keeps its own reference to c; nothing else reads it.
  c.dispose();
  return y as T;
}
