/**
 * Plumbing shared by the fused kernels (`layer_norm.ts`, `gelu.ts`): one JavaScript loop body
 * registered for the host backends (cpu over its typed arrays, wasm over its heap, tensorflow
 * over copies), and the pieces of a tfjs WebGPU program.
 *
 * A fused kernel replaces a chain of tfjs ops by one dispatch; on the host backends its body
 * reads the inputs and writes the outputs in place, so the chain's intermediate tensors (and
 * their allocations) disappear too.
 *
 * @module
 */
import { tf } from "../../tf.ts";

/**
 * Whose rounding a loop body mirrors: wasm's, or cpu's (also used on tensorflow, where nothing
 * reproduces TensorFlow's own kernels bit for bit).
 */
export type HostStyle = "cpu" | "wasm";

/** Host backends a body is registered on, and the style it runs in there. */
export const HOST_BACKENDS: Readonly<Record<string, HostStyle>> = {
  cpu: "cpu",
  tensorflow: "cpu",
  wasm: "wasm",
};

/** A kernel body over float32 arrays: reads `inputs`, fills every element of `outputs`. */
export type HostBody = (
  inputs: Float32Array[],
  outputs: Float32Array[],
  shapes: number[][],
  attrs: Record<string, unknown>,
  style: HostStyle,
) => void;

/** How a host kernel lays out its inputs and outputs. */
export interface HostKernelSpec {
  /** The kernel's name, e.g. `UdaGelu`. */
  name: string;
  /** The names of its inputs, in the order the body receives them. */
  inputs: readonly string[];
  /** The output shapes for the input shapes. */
  outputShapes: (shapes: number[][], attrs: Record<string, unknown>) => number[][];
  /** The loop body. */
  body: HostBody;
}

/**
 * The two `KernelBackend` methods the cpu-style kernels use; cpu's `readSync` returns its own
 * array (no copy), tensorflow's copies out of the native tensor.
 */
interface ArrayBackend {
  readSync(dataId: unknown): unknown;
  write(values: Float32Array, shape: number[], dtype: tf.DataType): object;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs: Record<string, unknown>;
};

function orderedInputs(spec: HostKernelSpec, inputs: Record<string, tf.TensorInfo>) {
  return spec.inputs.map((name) => {
    const t = inputs[name];
    if (t === undefined) throw new Error(`${spec.name}: missing input '${name}'`);
    if (t.dtype !== "float32") {
      throw new Error(`${spec.name}: input '${name}' must be float32, got ${t.dtype}`);
    }
    return t;
  });
}

function single(outputs: tf.TensorInfo[]): tf.TensorInfo | tf.TensorInfo[] {
  return outputs.length === 1 ? outputs[0] : outputs;
}

function arrayKernel(spec: HostKernelSpec) {
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const host = backend as ArrayBackend;
    const ins = orderedInputs(spec, inputs);
    const shapes = ins.map((t) => t.shape);
    const arrays = ins.map((t) => {
      const values = host.readSync(t.dataId) as ArrayLike<number>;
      return values instanceof Float32Array ? values : Float32Array.from(values);
    });
    const outShapes = spec.outputShapes(shapes, attrs);
    const outs = outShapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
    spec.body(arrays, outs, shapes, attrs, "cpu");
    return single(outs.map((values, k) => ({
      dataId: host.write(values, outShapes[k], "float32"),
      shape: outShapes[k],
      dtype: "float32" as const,
    })));
  };
}

function wasmKernel(spec: HostKernelSpec) {
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const wasm = backend as WasmBackend;
    const ins = orderedInputs(spec, inputs);
    const shapes = ins.map((t) => t.shape);
    const outShapes = spec.outputShapes(shapes, attrs);
    // Allocate every output before taking any heap view: an allocation can grow the wasm memory,
    // which detaches the views taken before it.
    const outs = outShapes.map((s) => wasm.makeOutput(s, "float32"));
    const arrays = ins.map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
    const views = outs.map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
    spec.body(arrays, views, shapes, attrs, "wasm");
    return single(outs);
  };
}

/** Registers (or re-registers) a host kernel's body on the `HOST_BACKENDS` (or `only` them). */
export function registerHostKernel(
  spec: HostKernelSpec,
  only: readonly string[] = Object.keys(HOST_BACKENDS),
): void {
  for (const backendName of only) {
    const kernelFunc = HOST_BACKENDS[backendName] === "wasm" ? wasmKernel(spec) : arrayKernel(spec);
    if (tf.getKernel(spec.name, backendName) !== undefined) {
      tf.unregisterKernel(spec.name, backendName);
    }
    tf.registerKernel({
      kernelName: spec.name,
      backendName,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// WebGPU

/** A program as tfjs-backend-webgpu's `runWebGPUProgram` takes it (`webgpu_program.ts`). */
export interface WebGpuProgram {
  /** The output's shape; `runWebGPUProgram` allocates it. */
  outputShape: number[];
  /** Names of the input bindings, in input order. */
  variableNames: string[];
  /** Pipeline cache key; tfjs appends the input ranks, dtypes and broadcasting. */
  shaderKey: string;
  /** Which output axes map to dispatch x/y/z. */
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  /** Workgroups per dimension. */
  dispatch: [number, number, number];
  /** Threads per workgroup. */
  workgroupSize: [number, number, number];
  /** Declares `uniforms.size` (the output's element count). */
  size?: boolean;
  /** Extra uniform fields, WGSL struct syntax (`rows : i32, eps : f32,`). */
  uniforms?: string;
  /** The WGSL body: helpers and `fn main(index : i32)`. */
  getUserCode(): string;
}

/** One program-defined uniform value. */
export interface ProgramUniform {
  /** WGSL scalar type of the field. */
  type: "int32" | "float32";
  /** Its value. */
  data: number[];
}

/** The WebGPU backend, as far as the fused kernels use it. */
export interface WebGpuBackend {
  /** Compiles (cached by `shaderKey`) and dispatches a program; returns its output. */
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
  /** Frees an intermediate. */
  disposeData(dataId: unknown, force?: boolean): boolean;
}

/**
 * A program whose thread `index` computes output element `index` (the layout of tfjs's unary
 * programs): `main` must guard `index < uniforms.size`.
 */
export function elementwiseProgram(
  shaderKey: string,
  outputShape: number[],
  variableNames: string[],
  body: string,
): WebGpuProgram {
  const workgroupSize: [number, number, number] = [128, 1, 1];
  const size = tf.util.sizeFromShape(outputShape);
  return {
    outputShape,
    variableNames,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / workgroupSize[0]), 1, 1],
    workgroupSize,
    size: true,
    getUserCode: () => body,
  };
}

/**
 * A program with one workgroup of `threads` threads per output group (a row of a LayerNorm, a
 * column of its parameter gradients). `main` reads the group from {@linkcode GROUP_INDEX_WGSL}:
 * tfjs spreads a dispatch over y and z beyond 65535 workgroups, so the group index is rebuilt
 * from all three workgroup coordinates.
 */
export function groupProgram(
  shaderKey: string,
  outputShape: number[],
  variableNames: string[],
  groups: number,
  threads: number,
  uniforms: string,
  body: string,
): WebGpuProgram {
  return {
    outputShape,
    variableNames,
    shaderKey: `${shaderKey}_${threads}`,
    // A layout over the output's axes (tfjs reads it only to choose the global-index form).
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [groups, 1, 1],
    workgroupSize: [threads, 1, 1],
    size: true,
    uniforms,
    getUserCode: () => body,
  };
}

/** WGSL: the flat workgroup index of a {@linkcode groupProgram} (one group per workgroup). */
export const GROUP_INDEX_WGSL = `
fn groupIndex() -> i32 {
  return i32((workgroupId.z * numWorkgroups.y + workgroupId.y) * numWorkgroups.x + workgroupId.x);
}`;
