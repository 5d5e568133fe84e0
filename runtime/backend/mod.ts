/**
 * Backend selection: `await useBackend("wasm" | "webgpu" | "tensorflow" | "cpu")`.
 *
 * - `wasm` (default): tfjs's WebAssembly backend (XNNPACK, SIMD) plus our training kernels
 *   (`wasm_kernels.ts`), on as many threads as the machine has cores (at most 8) unless
 *   `{ threads }` says otherwise: 1 is the single-threaded build, 2 or more the threaded build
 *   started through `wasm_threads.ts`.
 * - `webgpu`: tfjs's WebGPU backend on Deno's built-in `navigator.gpu`.
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`, imported on demand.
 * - `cpu`: tfjs's pure-JavaScript backend, the reference the others are tested against.
 *
 * Every backend gets our dilation-aware convolution gradients (`gradients.ts`) and the exact
 * bilinear-resize gradient (`resize_gradient.ts`; tfjs's ignores `halfPixelCenters`).
 *
 * @module
 */
import { tf } from "../tf.ts";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { registerWasmTrainingKernels } from "./wasm_kernels.ts";
import { registerConvolutionGradients } from "./gradients.ts";
import { registerResizeGradient } from "./resize_gradient.ts";
import { registerFusedNormKernels } from "./kernels/layer_norm.ts";
import { registerFusedOptimizerKernels } from "./kernels/adamw.ts";
import { registerLinearKernels } from "./kernels/linear.ts";
import { installSharingClone } from "./engine_clone.ts";
import { registerReluGradient } from "./kernels/relu_grad.ts";
import {
  defaultWasmThreads,
  initThreadedWasm,
  invalidThreads,
  ThreadsFlagError,
} from "./wasm_threads.ts";

export {
  defaultWasmThreads,
  MAX_WASM_THREADS,
  parseThreadsFlag,
  takeThreadsFlag,
  ThreadsFlagError,
} from "./wasm_threads.ts";

/** Names a user may pass to `--backend`. */
export type BackendName = "wasm" | "webgpu" | "tensorflow" | "cpu";

/** Every backend name, in the order `--backend` documents them. */
export const BACKEND_NAMES: readonly BackendName[] = ["wasm", "webgpu", "tensorflow", "cpu"];

/** What a run records about its backend (for `env.json` and benchmark lines). */
export interface BackendInfo {
  /** The backend's name. */
  name: BackendName;
  /** TensorFlow.js version. */
  tfjs: string;
  /** The adapter (webgpu), the native library (tensorflow) or the instruction set (wasm, cpu). */
  device: string;
  /** Compute threads: XNNPACK's pool size on wasm, 1 on cpu; absent where the backend decides. */
  threads?: number;
}

/** Options of {@linkcode useBackend}. */
export interface BackendOptions {
  /**
   * wasm only: compute threads, 1 to 8 (default: the machine's logical cores, at most 8). 1 is
   * the single-threaded SIMD build; more start the threaded build. A process initialises the
   * wasm backend once, so a later call asking for another count fails.
   */
  threads?: number;
}

installSharingClone();
registerWasmTrainingKernels();
registerConvolutionGradients();
registerResizeGradient();
registerFusedNormKernels();
registerFusedOptimizerKernels();
registerReluGradient();
registerLinearKernels();

/**
 * Kernels whose gradient UDA-Lab registers in place of tfjs's. `tests/backend/
 * finite_difference_test.ts` requires a finite-difference case for each, so a new registration
 * fails the tests until it is covered.
 */
export const OUR_GRADIENTS: readonly string[] = [
  "Conv2D",
  "DepthwiseConv2dNative",
  "ResizeBilinear",
  "UdaLayerNorm",
  "UdaGelu",
  "UdaLinear",
];

let current: BackendInfo | undefined;

let wasmInfo: BackendInfo | undefined;

/**
 * Makes `name` the active TensorFlow.js backend and waits until it is ready. On wasm,
 * `options.threads` picks the build and the thread pool (see {@linkcode BackendOptions}); a
 * bad count, or a count for another backend, throws a {@linkcode ThreadsFlagError}.
 */
export async function useBackend(
  name: BackendName,
  options: BackendOptions = {},
): Promise<BackendInfo> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new Error(
      `Unknown backend '${name}'. Choose one of ${
        BACKEND_NAMES.join(", ")
      } (see docs/backends.md).`,
    );
  }
  if (options.threads !== undefined && name !== "wasm") {
    throw new ThreadsFlagError(
      `--threads applies to the wasm backend only, and this run uses '${name}'. Drop --threads ` +
        `or pass --backend wasm.`,
    );
  }
  if (name === "wasm") return await useWasm(options.threads);
  if (current?.name === name && tf.getBackend() === name) return current;
  let device = "";
  if (name === "webgpu") device = await describeWebGpuAdapter();
  if (name === "tensorflow") device = await loadTensorflowBackend();
  if (name === "cpu") device = "JavaScript";
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new Error(`Backend '${name}' failed to initialise: ${(error as Error).message}`);
  }
  if (!ok) {
    throw new Error(`Backend '${name}' failed to initialise (tf.setBackend returned false).`);
  }
  await tf.ready();
  current = { name, tfjs: tf.version.tfjs, device, ...(name === "cpu" ? { threads: 1 } : {}) };
  return current;
}

/**
 * The wasm backend on `threads` threads. Its first initialisation fixes the build and the pool
 * for the process; later calls switch back to it, and fail if they ask for another count.
 */
async function useWasm(threads: number | undefined): Promise<BackendInfo> {
  if (wasmInfo !== undefined) {
    if (threads !== undefined && threads !== wasmInfo.threads) {
      throw new Error(
        `--threads ${threads}: this process already started the wasm backend on ` +
          `${wasmInfo.threads} thread(s), and tfjs cannot restart it. Choose the thread count ` +
          `before the first useBackend("wasm") call.`,
      );
    }
    if (tf.getBackend() !== "wasm" && !(await tf.setBackend("wasm"))) {
      throw new Error("Backend 'wasm' failed to switch back (tf.setBackend returned false).");
    }
    current = wasmInfo;
    return current;
  }
  const wanted = threads ?? defaultWasmThreads();
  const why = invalidThreads(wanted);
  if (why !== undefined) throw new ThreadsFlagError(why);
  let actual = 1;
  if (wanted === 1) {
    let ok = false;
    try {
      ok = await tf.setBackend("wasm");
    } catch (error) {
      throw new Error(`Backend 'wasm' failed to initialise: ${(error as Error).message}`);
    }
    if (!ok) {
      throw new Error("Backend 'wasm' failed to initialise (tf.setBackend returned false).");
    }
    await tf.ready();
  } else {
    actual = await initThreadedWasm(wanted);
  }
  if (threads !== undefined && actual !== threads) {
    // Only possible when something initialised wasm before this call (tf.setBackend, or a first
    // tensor operation letting tfjs pick a backend); tfjs keeps that instance.
    throw new Error(
      `--threads ${threads}: the wasm backend was already started, on ${actual} thread(s), ` +
        `before useBackend("wasm") was called. Call useBackend first.`,
    );
  }
  const device = `WebAssembly, XNNPACK, SIMD, ${actual} thread${actual === 1 ? "" : "s"}`;
  wasmInfo = { name: "wasm", tfjs: tf.version.tfjs, device, threads: actual };
  current = wasmInfo;
  return current;
}

/** The wasm backend's thread count where this process has started it, else undefined. */
export function startedWasmThreads(): number | undefined {
  return wasmInfo?.threads;
}

/** The active backend's description, after {@linkcode useBackend}. */
export function backendInfo(): BackendInfo {
  if (current === undefined) throw new Error("backendInfo(): call useBackend() first");
  return current;
}

/** Whether a WebGPU adapter is available (false, never throwing, when it is not). */
export async function hasWebGpuAdapter(): Promise<boolean> {
  try {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return gpu !== undefined && (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

async function describeWebGpuAdapter(): Promise<string> {
  const gpu = (navigator as {
    gpu?: {
      requestAdapter(): Promise<{ info?: { description?: string; vendor?: string } } | null>;
    };
  }).gpu;
  const help = "On a machine without a GPU, `apt-get install mesa-vulkan-drivers libvulkan1` " +
    "provides a software (lavapipe) adapter; on a GPU machine install its Vulkan driver.";
  if (gpu === undefined) {
    throw new Error(`Backend 'webgpu': this Deno has no navigator.gpu. ${help}`);
  }
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error(
      `Backend 'webgpu': navigator.gpu.requestAdapter() found no adapter (Vulkan loader ` +
        `libvulkan.so.1 or a Vulkan driver is missing). ${help}`,
    );
  }
  return adapter.info?.description || adapter.info?.vendor || "WebGPU adapter";
}

/** The exact message for a missing tfjs-node; exported so tests and docs agree with the code. */
export const TENSORFLOW_BACKEND_HELP =
  "Backend 'tensorflow' needs @tensorflow/tfjs-node-gpu@4.22.0 (CUDA 11.2 and cuDNN 8.1 on the " +
  "library path) or @tensorflow/tfjs-node@4.22.0 installed in this project's node_modules by " +
  "npm with install scripts allowed (`npm install --foreground-scripts @tensorflow/tfjs-node-gpu@4.22.0`), " +
  "and Deno run with --allow-ffi. Its install script downloads libtensorflow 2.9.1 from " +
  "storage.googleapis.com, so it cannot be installed on machines without access to that host; " +
  "use --backend wasm or --backend webgpu there.";

async function loadTensorflowBackend(): Promise<string> {
  const failures: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      // A computed specifier keeps Deno from resolving (and failing on) the package eagerly.
      const specifier = `npm:${pkg}@4.22.0`;
      await import(specifier);
      return pkg;
    } catch (error) {
      failures.push(`${pkg}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(`${TENSORFLOW_BACKEND_HELP} (Tried: ${failures.join("; ")}.)`);
}

/** Kernels from `names` the backend does not register (for failing fast before a run). */
export function missingKernels(names: readonly string[], backend: string): string[] {
  return names.filter((name) => tf.getKernel(name, backend) === undefined);
}

/** Kernels from `names` that have no registered gradient. */
export function missingGradients(names: readonly string[]): string[] {
  return names.filter((name) => tf.getGradient(name) === undefined);
}
