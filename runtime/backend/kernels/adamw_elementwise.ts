/**
 * The machinery behind the fused optimiser kernels (`UdaAdamW` in `adamw.ts`, `UdaEmaUpdate` in
 * `ema.ts`): an elementwise kernel is described once — its float32 constants, a JavaScript loop
 * and WGSL stages — and turned into kernel functions for every backend:
 *
 * - cpu and tensorflow: the loop over `backend.readSync` values, outputs made with
 *   `backend.write` (both backends implement these two; cpu's `readSync` returns its own array,
 *   so nothing is copied there).
 * - wasm: the loop directly over the wasm heap (`typedArrayFromHeap`), outputs allocated with
 *   `makeOutput`, so nothing is copied.
 * - webgpu: one WGSL program per output. tfjs 4.22's `runWebGPUProgram` binds exactly one
 *   writable buffer (binding 0) and declares every input read-only, so one program cannot write
 *   three tensors. Packing them into one buffer would need three `Slice` programs (copies) to
 *   unpack: four dispatches and every result written twice. One program per output is three
 *   dispatches in which only the new moments are read a second time.
 *
 * The loops compute each float32 operation in double precision and round it with `Math.fround`,
 * which is exactly IEEE float32 arithmetic for + − × ÷ √, the arithmetic of tfjs's cpu kernels
 * (each op's result stored in a Float32Array) and wasm kernels (XNNPACK/C++ float, no fused
 * multiply-add in wasm SIMD): a loop that rounds after every op in the order of a chain of tfjs
 * ops reproduces that chain bit for bit.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { heapAddress, type HeapBackend, type SimdKernels, simdKernels } from "../simd/mod.ts";

/** Backends the fused kernels are registered on. */
export const FUSED_KERNEL_BACKENDS: readonly string[] = ["cpu", "tensorflow", "wasm", "webgpu"];

/** One WGSL program of an elementwise kernel: it writes output `output`. */
export interface WebGpuStage {
  /** Which output this program writes. */
  output: number;
  /**
   * The program's inputs: a kernel input's name, or `out<k>` for output k of an earlier stage.
   * They appear in WGSL as arrays named by `variables`.
   */
  sources: readonly string[];
  /** WGSL array names of `sources`, in the same order (capitalised, as tfjs names them). */
  variables: readonly string[];
  /** Constants (keys of the kernel's constants) the program reads as `uniforms.<name>`. */
  uniforms: readonly string[];
  /** WGSL statements for element `index`, ending in `setOutputAtIndex(index, …);`. */
  body: string;
}

/** An elementwise float32 kernel over same-shaped inputs, with several outputs. */
export interface ElementwiseKernel {
  /** The kernel name `tf.engine().runKernel` is called with. */
  name: string;
  /** Input names, in the order `loop` receives them. */
  inputs: readonly string[];
  /** Number of outputs, each of the inputs' shape. */
  outputs: number;
  /** The float32 (already `Math.fround`-ed) constants of one call, from its attributes. */
  constants(attrs: Record<string, unknown>): Record<string, number>;
  /** Computes every output element from the inputs, as float32 arithmetic. */
  loop(
    inputs: readonly ArrayLike<number>[],
    outputs: Float32Array[],
    c: Record<string, number>,
  ): void;
  /** The webgpu programs, in execution order (a stage may read earlier stages' outputs). */
  webgpu: readonly WebGpuStage[];
  /**
   * wasm: the same arithmetic on f32x4 lanes (`simd/functions.ts`) over the first `count` (a
   * multiple of 4) elements, given the byte addresses of the inputs and then the outputs;
   * `loop` does the remaining 0–3. Bit-identical to `loop`.
   */
  simd?(
    kernels: SimdKernels,
    addresses: number[],
    count: number,
    c: Record<string, number>,
  ): void;
}

interface HostBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  write(values: Float32Array, shape: number[], dtype: tf.DataType): unknown;
}

interface WasmBackend extends HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface WebGpuBackend {
  runWebGPUProgram(
    program: ElementwiseProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: { type: "float32"; data: number[] }[],
  ): tf.TensorInfo;
}

interface KernelArgs<B> {
  inputs: Record<string, tf.TensorInfo>;
  backend: B;
  attrs: Record<string, unknown>;
}

/** The inputs in `def.inputs` order, after checking they are float32 of one shape. */
function checkedInputs(def: ElementwiseKernel, inputs: Record<string, tf.TensorInfo>) {
  const missing = def.inputs.filter((name) => inputs[name] === undefined);
  if (missing.length > 0) throw new Error(`${def.name}: missing input(s) ${missing.join(", ")}`);
  const infos = def.inputs.map((name) => inputs[name]);
  const shape = infos[0].shape.join();
  const bad = infos.findIndex((t) => t.dtype !== "float32" || t.shape.join() !== shape);
  if (bad >= 0) {
    throw new Error(
      `${def.name}: every input must be float32 of one shape; ${def.inputs[bad]} is ` +
        `${infos[bad].dtype} [${infos[bad].shape}], ${def.inputs[0]} [${infos[0].shape}]`,
    );
  }
  return infos;
}

function hostKernel(def: ElementwiseKernel) {
  return ({ inputs, backend, attrs }: KernelArgs<HostBackend>): tf.TensorInfo[] => {
    const infos = checkedInputs(def, inputs);
    const shape = infos[0].shape;
    const n = tf.util.sizeFromShape(shape);
    const outs = Array.from({ length: def.outputs }, () => new Float32Array(n));
    def.loop(infos.map((t) => backend.readSync(t.dataId)), outs, def.constants(attrs));
    return outs.map((values) => ({
      dataId: backend.write(values, shape, "float32") as tf.DataId,
      shape,
      dtype: "float32" as const,
    }));
  };
}

function wasmKernel(def: ElementwiseKernel) {
  return ({ inputs, backend, attrs }: KernelArgs<WasmBackend>): tf.TensorInfo[] => {
    const infos = checkedInputs(def, inputs);
    const outInfos = Array.from(
      { length: def.outputs },
      () => backend.makeOutput(infos[0].shape, "float32"),
    );
    // Heap views only after every allocation: `makeOutput` may grow the wasm memory, which
    // detaches views taken before it.
    const c = def.constants(attrs);
    const n = tf.util.sizeFromShape(infos[0].shape);
    const vectorised = def.simd === undefined ? 0 : n - (n % 4);
    if (vectorised > 0) {
      const addresses = [...infos, ...outInfos].map((t) => heapAddress(backend, t));
      def.simd!(simdKernels(backend), addresses, vectorised, c);
    }
    const outs = outInfos.map((o) => backend.typedArrayFromHeap(o).subarray(vectorised));
    const ins = infos.map((t) => backend.typedArrayFromHeap(t).subarray(vectorised));
    def.loop(ins, outs, c);
    return outInfos;
  };
}

/** A flat elementwise WebGPU program in the shape tfjs 4.22's `runWebGPUProgram` expects. */
class ElementwiseProgram {
  readonly outputShape: number[];
  readonly variableNames: string[];
  readonly uniforms?: string;
  readonly shaderKey: string;
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly size = true;
  readonly #body: string;

  constructor(kernel: string, stage: WebGpuStage, shape: number[]) {
    this.outputShape = shape;
    this.variableNames = [...stage.variables];
    if (stage.uniforms.length > 0) {
      this.uniforms = stage.uniforms.map((u) => `${u} : f32,`).join(" ");
    }
    this.shaderKey = `${kernel}_${stage.output}`;
    // Flat layout over every axis, as tfjs's own elementwise programs (flatDispatchLayout and
    // computeDispatch in webgpu_util.js); runWebGPUProgram reshapes oversized dispatches.
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(shape) / this.workgroupSize[0]), 1, 1];
    this.#body = stage.body;
  }

  /** The entry point tfjs's shader header calls with the flat index (`main(getGlobalIndex())`). */
  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.#body}
        }
      }`;
  }
}

function webgpuKernel(def: ElementwiseKernel) {
  return ({ inputs, backend, attrs }: KernelArgs<WebGpuBackend>): tf.TensorInfo[] => {
    const infos = checkedInputs(def, inputs);
    const c = def.constants(attrs);
    const outs: tf.TensorInfo[] = new Array(def.outputs);
    for (const stage of def.webgpu) {
      const sources = stage.sources.map((s) =>
        s.startsWith("out") ? outs[Number(s.slice(3))] : infos[def.inputs.indexOf(s)]
      );
      const program = new ElementwiseProgram(def.name, stage, infos[0].shape);
      const uniforms = stage.uniforms.map((u) => ({ type: "float32" as const, data: [c[u]] }));
      outs[stage.output] = backend.runWebGPUProgram(program, sources, "float32", uniforms);
    }
    return outs;
  };
}

/** The kernel name of `def` applied to many same-kind argument sets in one dispatch. */
export function groupKernelName(def: ElementwiseKernel): string {
  return `${def.name}Group`;
}

/**
 * One dispatch for many calls of one kernel (every parameter of an optimiser step): inputs
 * named `<input><k>` for call k, attributes `calls` (each call's own attributes), outputs call
 * 0's, then call 1's, and so on. Each call runs the backend's single-call function, so the values
 * are exactly those of separate dispatches; the engine's per-dispatch work is paid once.
 */
function groupKernel(def: ElementwiseKernel, single: (args: never) => tf.TensorInfo[]) {
  return ({ inputs, backend, attrs }: KernelArgs<unknown>): tf.TensorInfo[] => {
    const calls = attrs.calls as Record<string, unknown>[];
    return calls.flatMap((callAttrs, k) => {
      const own = Object.fromEntries(def.inputs.map((name) => [name, inputs[`${name}${k}`]]));
      return single({ inputs: own, backend, attrs: callAttrs } as never);
    });
  };
}

/**
 * Runs `def` once per entry of `calls` (inputs and attributes) in one dispatch on the active
 * backend, returning each call's outputs. Not differentiable.
 */
export function runKernelGroup(
  def: ElementwiseKernel,
  calls: { inputs: Record<string, tf.Tensor>; attrs: Record<string, unknown> }[],
): tf.Tensor[][] {
  if (calls.length === 0) return [];
  const inputs: Record<string, tf.Tensor> = {};
  calls.forEach((call, k) => {
    for (const name of def.inputs) inputs[`${name}${k}`] = call.inputs[name];
  });
  const attrs = { calls: calls.map((c) => c.attrs) } as unknown as tf.NamedAttrMap;
  const flat = tf.engine().runKernel(groupKernelName(def), inputs, attrs) as tf.Tensor[];
  return calls.map((_, k) => flat.slice(k * def.outputs, (k + 1) * def.outputs));
}

/**
 * Registers `def`, and its group form ({@linkcode groupKernelName}), on every backend of
 * {@linkcode FUSED_KERNEL_BACKENDS} (replacing an earlier registration, so calling twice is
 * harmless). No gradient is registered: these kernels update state outside any tape, and
 * differentiating through one fails with tfjs's "gradient function not found" error rather than
 * giving a wrong gradient.
 */
export function registerElementwiseKernel(def: ElementwiseKernel): void {
  const funcs: Record<string, (args: never) => tf.TensorInfo[]> = {
    cpu: hostKernel(def),
    tensorflow: hostKernel(def),
    wasm: wasmKernel(def),
    webgpu: webgpuKernel(def),
  };
  for (const backendName of FUSED_KERNEL_BACKENDS) {
    const kernels = [
      [def.name, funcs[backendName]],
      [groupKernelName(def), groupKernel(def, funcs[backendName])],
    ] as const;
    for (const [kernelName, kernelFunc] of kernels) {
      if (tf.getKernel(kernelName, backendName) !== undefined) {
        tf.unregisterKernel(kernelName, backendName);
      }
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
    }
  }
}
