/**
 * The linear layer (`nn.Linear` over the last axis) as one engine dispatch each way, on cpu,
 * wasm and webgpu, in place of the composed chain's four forward kernels (Reshape, BatchMatMul,
 * Add, Reshape, with six tensors cloned for the backward) and six backward kernels:
 *
 * - `UdaLinear` (x `[..., C]`, weight `[C, O]`, bias `[O]` optional) → y `[..., O]` = x·W + b;
 *   only x and weight are saved for the backward (two engine clones).
 * - `UdaLinearGrad` (dy `[..., O]`, x `[..., C]`, weight `[C, O]`) → [dx = dy·Wᵀ, dW = xᵀ·dy,
 *   db = Σ_rows dy] (db only with attribute `hasBias`).
 *
 * Both kernels run the active backend's own registered kernel functions inside one dispatch
 * ({@linkcode KernelCalls}): the intermediates never become engine tensors, so they cost no
 * dispatch and no tape clone. On wasm the products therefore still go through our
 * `BatchMatMul` wrapper (JavaScript transposes, `wasm_kernels.ts`) and the bias gradient
 * through our leading-axes `Sum`; on webgpu through its own matmul and reduction programs.
 *
 * **Numerics.** The kernels call exactly the kernels, with exactly the operands and attributes,
 * that `tf.matMul(x.reshape([-1, C]), W)`, `tf.add(·, b)` and their tfjs gradients call, so
 * outputs and gradients are bit-identical to the composed layer on every backend
 * (`tests/backend/fused_linear_test.ts`).
 *
 * @module
 */
import { tf } from "../../tf.ts";

/** The forward kernel's name. */
export const LINEAR = "UdaLinear";
/** The gradient kernel's name. */
export const LINEAR_GRAD = "UdaLinearGrad";

/** The backends the kernels are registered on (tested); elsewhere `linear` stays composed. */
export const LINEAR_BACKENDS: readonly string[] = ["cpu", "wasm", "webgpu"];

/** The one `KernelBackend` method the kernels use directly: freeing an intermediate. */
interface DisposingBackend {
  disposeData(dataId: unknown, force?: boolean): boolean;
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: DisposingBackend;
  attrs: Record<string, unknown>;
};

/**
 * Calls of one backend's registered kernel functions from inside another kernel (any backend,
 * unlike `WasmKernelOps`): each result is recorded, and {@linkcode KernelCalls.finish} frees
 * every one except those returned. A reshape shares its input's data and holds one reference
 * to it (the backends' `Reshape` increments the count), so freeing it never frees the input.
 */
export class KernelCalls {
  #backend: DisposingBackend;
  #backendName: string;
  #temps: tf.TensorInfo[] = [];

  /** Wraps the backend instance passed to a kernel function registered for `backendName`. */
  constructor(backend: DisposingBackend, backendName: string) {
    this.#backend = backend;
    this.#backendName = backendName;
  }

  /** Runs kernel `name` on the backend (the registered function at call time). */
  run(
    name: string,
    inputs: Record<string, tf.TensorInfo>,
    attrs: Record<string, unknown> = {},
  ): tf.TensorInfo {
    const kernel = tf.getKernel(name, this.#backendName);
    if (kernel === undefined) {
      throw new Error(`${this.#backendName} backend: kernel '${name}' is not registered`);
    }
    const out = kernel.kernelFunc({ inputs, backend: this.#backend, attrs } as never);
    if (Array.isArray(out)) {
      for (const t of out) this.#backend.disposeData(t.dataId);
      throw new Error(`KernelCalls: '${name}' returned several outputs; expected one`);
    }
    this.#temps.push(out);
    return out;
  }

  /** `x` viewed with another shape (no copy; the result holds its own reference). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  /** `a·b` with operands optionally transposed (`BatchMatMul`, as `tf.matMul` calls it). */
  matMul(
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
  ): tf.TensorInfo {
    return this.run("BatchMatMul", { a, b }, { transposeA, transposeB });
  }

  /** Frees every intermediate not in `results`, and returns `results`. */
  finish(results: tf.TensorInfo[]): tf.TensorInfo[] {
    for (const t of this.#temps) if (!results.includes(t)) this.#backend.disposeData(t.dataId);
    this.#temps = [];
    return results;
  }

  /** Frees every intermediate (after a failure). */
  abandon(): void {
    this.finish([]);
  }
}

/** Channels C and outputs O, after checking x `[..., C]` against weight `[C, O]`. */
function dimensions(kernel: string, x: tf.TensorInfo, weight: tf.TensorInfo): [number, number] {
  const c = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || weight.shape.length !== 2 || weight.shape[0] !== c) {
    throw new Error(
      `${kernel}: x must be [..., C] and weight [C, O], got x [${x.shape}], weight ` +
        `[${weight.shape}]`,
    );
  }
  for (const [name, t] of [["x", x], ["weight", weight]] as const) {
    if (t.dtype !== "float32") throw new Error(`${kernel}: ${name} must be float32`);
  }
  return [c, weight.shape[1]];
}

/** Runs `body` over fresh {@linkcode KernelCalls}, freeing its intermediates if it throws. */
function withCalls(
  backend: DisposingBackend,
  backendName: string,
  body: (calls: KernelCalls) => tf.TensorInfo[],
): tf.TensorInfo[] {
  const calls = new KernelCalls(backend, backendName);
  try {
    return calls.finish(body(calls));
  } catch (error) {
    calls.abandon();
    throw error;
  }
}

function forwardKernel(backendName: string) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const { x, weight, bias } = inputs;
    const [c, o] = dimensions(LINEAR, x, weight);
    if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== o)) {
      throw new Error(`${LINEAR}: bias must be [${o}], got [${bias.shape}]`);
    }
    return withCalls(backend, backendName, (calls) => {
      const rows = tf.util.sizeFromShape(x.shape) / c;
      let y = calls.matMul(calls.reshape(x, [rows, c]), weight, false, false);
      if (bias !== undefined) y = calls.run("Add", { a: y, b: bias });
      return [calls.reshape(y, [...x.shape.slice(0, -1), o])];
    })[0];
  };
}

function gradKernel(backendName: string) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const { dy, x, weight } = inputs;
    const [c, o] = dimensions(LINEAR_GRAD, x, weight);
    const rows = tf.util.sizeFromShape(x.shape) / c;
    if (dy === undefined || tf.util.sizeFromShape(dy.shape) !== rows * o) {
      throw new Error(`${LINEAR_GRAD}: dy must be [${x.shape.slice(0, -1)}, ${o}]`);
    }
    return withCalls(backend, backendName, (calls) => {
      // The operands the composed layer's gradients see: dy and x as matrices.
      const dy2 = calls.reshape(dy, [rows, o]);
      const x2 = calls.reshape(x, [rows, c]);
      const dx = calls.reshape(calls.matMul(dy2, weight, false, true), x.shape);
      const dw = calls.matMul(x2, dy2, true, false);
      if (attrs.hasBias !== true) return [dx, dw];
      return [dx, dw, calls.run("Sum", { x: dy2 }, { axis: [0], keepDims: false })];
    });
  };
}

const linearGradient: tf.GradConfig = {
  kernelName: LINEAR,
  inputsToSave: ["x", "weight"],
  gradFunc: (dys, saved, attrs) => {
    const [x, weight] = saved;
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const hasBias = (attrs as Record<string, unknown>).hasBias === true;
    const [dx, dw, db] = tf.engine().runKernel(
      LINEAR_GRAD,
      { dy, x, weight },
      { hasBias },
    ) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { x: () => dx, weight: () => dw };
    if (hasBias) grads.bias = () => db;
    return grads;
  },
};

/** Registers `UdaLinear` and `UdaLinearGrad` on {@linkcode LINEAR_BACKENDS}, and the gradient. */
export function registerLinearKernels(): void {
  for (const backendName of LINEAR_BACKENDS) {
    const kernels: [string, unknown][] = [
      [LINEAR, forwardKernel(backendName)],
      [LINEAR_GRAD, gradKernel(backendName)],
    ];
    for (const [name, kernelFunc] of kernels) {
      if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
    }
  }
  tf.registerGradient(linearGradient);
}

/**
 * `x·W + b` over the last axis of `x` (`[..., C]`, rank ≥ 2) with `weight` `[C, O]` and an
 * optional `bias` `[O]`, as one `UdaLinear` kernel (differentiable in every input).
 */
export function fusedLinear<T extends tf.Tensor>(
  x: T,
  weight: tf.Tensor,
  bias?: tf.Tensor,
): T {
  const inputs: Record<string, tf.Tensor> = bias === undefined
    ? { x, weight }
    : { x, weight, bias };
  for (const [name, t] of Object.entries(inputs)) {
    if (t.dtype !== "float32") throw new Error(`fusedLinear: ${name} must be float32`);
  }
  if (x.rank < 2) throw new Error(`fusedLinear: x must have rank ≥ 2, got [${x.shape}]`);
  return tf.engine().runKernel(LINEAR, inputs, { hasBias: bias !== undefined }) as T;
}
