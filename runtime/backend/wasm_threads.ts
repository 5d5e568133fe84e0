/**
 * tfjs-backend-wasm's threaded SIMD build under Deno: `useBackend("wasm", { threads })`, the
 * `--threads N` of `run`, `eval`, `bench-steps` and `bench`.
 *
 * tfjs 4.22 never selects that build under Deno, and it does not start there as shipped. Each
 * piece below works around one line of tfjs or of its Emscripten glue
 * (`node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js`, the file Deno
 * loads):
 *
 * 1. `WASM_HAS_MULTITHREAD_SUPPORT` returns false whenever `IS_NODE` (`dist/flags_wasm.js`,
 *    "Enable node support once this is resolved: tfjs#3830"), and Deno passes as Node.js. The
 *    flag is set to true here.
 * 2. The C++ side caps the pool: `num_cores = emscripten_num_logical_cores() / 2` and
 *    `min(min(max(count, 1), 8), num_cores)` (`src/cc/backend.cc`), so `setThreadsCount(2)` on a
 *    2-core machine gives 1 thread. Under Node.js the glue reads the cores from
 *    `require("os").cpus().length`; that call is answered with twice the requested count while
 *    the module starts (which also spares the tasks `--allow-sys=cpus`). The cap of 8 stays: tfjs
 *    pre-creates 8 workers (`pthreadPoolSize = 8`), the most the pool uses.
 * 3. tfjs's `locateFile` turns the pthread worker script into a `blob:` URL, and the glue's Node
 *    branch starts it with `node:worker_threads`, which rejects anything but a file path
 *    (`ERR_WORKER_PATH`). During start-up `URL.createObjectURL` answers that one Blob (type
 *    `application/javascript`) with the path of `wasm_thread_worker.cjs`, a file of this
 *    repository, which runs tfjs's worker code read from node_modules. Nothing is written.
 * 4. The glue's Node branch sets `globalThis.Worker = require("worker_threads").Worker`; Deno's
 *    web `Worker` is put back once the backend is ready, or the data prefetch workers
 *    (`new Worker(url, { type: "module" })`) would fail. XNNPACK creates its threads once, in
 *    `init_with_threads_count` during start-up, so the glue starts no worker afterwards.
 * 5. The pool's unused pre-created workers (8 − (N − 1)), each a V8 isolate holding a compiled
 *    copy of the module, are terminated after start-up, and the running ones are unreferenced:
 *    the glue's `spawnThread` calls `worker.ref()` on each, and XNNPACK's threads never end, so
 *    without it a script that does not call `Deno.exit` would never exit.
 *
 * `threads: 1` does none of this: it is the single-threaded SIMD build, exactly as before.
 * The threaded path needs read access to this folder and to node_modules (`--allow-read=.`, as
 * every task has); without it, start-up fails with a message instead of hanging.
 *
 * @module
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { tf } from "../tf.ts";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

import { MAX_WASM_THREADS, WASM_THREADS_ENV } from "./thread_share.ts";

export { MAX_WASM_THREADS, threadsPerJob, WASM_THREADS_ENV } from "./thread_share.ts";

/**
 * The default thread count: {@linkcode WASM_THREADS_ENV} when it is set (and readable), else the
 * machine's logical cores, at most {@linkcode MAX_WASM_THREADS}.
 */
export function defaultWasmThreads(): number {
  const granted = Deno.permissions.querySync({ name: "env", variable: WASM_THREADS_ENV });
  const share = granted.state === "granted" ? Deno.env.get(WASM_THREADS_ENV) : undefined;
  if (share !== undefined && share !== "") {
    const value = Number(share);
    if (!(Number.isInteger(value) && value >= 1 && value <= MAX_WASM_THREADS)) {
      throw new ThreadsFlagError(
        `${WASM_THREADS_ENV}=${share}: expected a whole number from 1 to ${MAX_WASM_THREADS} ` +
          `(the wasm threads each of several parallel runs may use). Unset it or fix the value.`,
      );
    }
    return value;
  }
  const cores = navigator.hardwareConcurrency;
  return Math.max(1, Math.min(Number.isInteger(cores) ? cores : 1, MAX_WASM_THREADS));
}

/** Why `threads` is not a valid thread count, or undefined when it is. */
export function invalidThreads(threads: unknown): string | undefined {
  if (typeof threads === "number" && Number.isInteger(threads)) {
    if (threads >= 1 && threads <= MAX_WASM_THREADS) return undefined;
  }
  return `--threads: expected a whole number from 1 to ${MAX_WASM_THREADS}, got ` +
    `${JSON.stringify(threads)}. It sets the wasm backend's compute threads (the default is ` +
    `this machine's ${defaultWasmThreads()} logical cores; tfjs's thread pool stops at ` +
    `${MAX_WASM_THREADS}); --threads 1 is the single-threaded build. Pass e.g. --threads 2 ` +
    `(see docs/backends.md).`;
}

/**
 * A bad `--threads` (or a `--threads` the backend cannot use). Named `UsageError` so the command
 * line's `runMain` prints it without a stack trace and exits with code 2, as for every invalid
 * flag; this module does not import the command line.
 */
export class ThreadsFlagError extends Error {
  override name = "UsageError";
}

/**
 * The thread count a `--threads` value names; undefined when the flag was not given. Throws a
 * {@linkcode ThreadsFlagError} naming the flag and the fix for anything but a whole number from
 * 1 to 8.
 */
export function parseThreadsFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : text;
  const why = invalidThreads(value);
  if (why !== undefined) throw new ThreadsFlagError(why);
  return value as number;
}

/**
 * Takes `--threads N` (or `--threads=N`) out of `args`, for commands whose other flags are
 * parsed by a shared parser; `threads` is undefined when the flag is absent.
 */
export function takeThreadsFlag(args: readonly string[]): { rest: string[]; threads?: number } {
  const i = args.findIndex((a) => a === "--threads" || a.startsWith("--threads="));
  if (i < 0) return { rest: [...args] };
  const inline = args[i].includes("=");
  const text = inline ? args[i].slice("--threads=".length) : args[i + 1];
  const threads = parseThreadsFlag(text ?? "");
  return { rest: [...args.slice(0, i), ...args.slice(i + (inline ? 1 : 2))], threads };
}

const WORKER_SCRIPT = new URL("./wasm_thread_worker.cjs", import.meta.url);
const PACKAGE_FILES = new URL(
  "../../node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/",
  import.meta.url,
);

/** Throws when this process may not read the files the pthread workers load. */
function checkReadAccess(threads: number): void {
  for (const url of [WORKER_SCRIPT, PACKAGE_FILES]) {
    const path = fileURLToPath(url);
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
      throw new Error(
        `--threads ${threads}: the threaded wasm backend starts its pthread workers from ${path}, ` +
          `which this process may not read. Run with --allow-read=. from the project root (every ` +
          `deno task does), or use --threads 1 for the single-threaded build.`,
      );
    }
  }
}

interface EmscriptenPThread {
  unusedWorkers: { terminate(): void }[];
  runningWorkers: { unref(): void }[];
}

/**
 * Initialises tfjs's wasm backend on the threaded SIMD build with `threads` compute threads
 * (the calling thread and `threads - 1` workers), applying the shim described in the module
 * documentation, and returns the thread count XNNPACK reports. Call once per process, before
 * anything else initialises the wasm backend; `threads` must be 2 or more.
 */
export async function initThreadedWasm(threads: number): Promise<number> {
  const why = invalidThreads(threads);
  if (why !== undefined || threads < 2) {
    throw new Error(why ?? "initThreadedWasm: use the single-threaded build for 1 thread");
  }
  checkReadAccess(threads);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  const workerPath = fileURLToPath(WORKER_SCRIPT);
  const webWorker = globalThis.Worker;
  const createObjectURL = URL.createObjectURL;
  const nodeOs = os as { cpus: () => unknown[] };
  const cpus = nodeOs.cpus;
  URL.createObjectURL = (object: Blob) =>
    object instanceof Blob && object.type === "application/javascript"
      ? workerPath
      : createObjectURL(object);
  nodeOs.cpus = () => new Array(2 * threads).fill({});
  // tfjs reports why a backend failed only through its warning log, which PROD mode silences.
  const prod = tf.env().getBool("PROD");
  tf.env().set("PROD", false);
  let ok = false;
  try {
    ok = await tf.setBackend("wasm");
    await tf.ready();
  } catch (error) {
    throw new Error(
      `Backend 'wasm' (--threads ${threads}) failed to initialise: ${(error as Error).message}. ` +
        `--threads 1 uses the single-threaded build.`,
    );
  } finally {
    tf.env().set("PROD", prod);
    URL.createObjectURL = createObjectURL;
    nodeOs.cpus = cpus;
    globalThis.Worker = webWorker;
  }
  if (!ok) {
    throw new Error(
      `Backend 'wasm' (--threads ${threads}) failed to initialise (tf.setBackend returned ` +
        `false; tfjs printed the cause above). --threads 1 uses the single-threaded build.`,
    );
  }
  const pthread = (tf.backend() as unknown as { wasm: { PThread?: EmscriptenPThread } }).wasm
    .PThread;
  if (pthread !== undefined) {
    for (const worker of pthread.unusedWorkers) worker.terminate();
    pthread.unusedWorkers = [];
    // Idle pool threads only wait for the calling thread's work; see 5. above.
    for (const worker of pthread.runningWorkers) worker.unref();
  }
  return getThreadsCount();
}
