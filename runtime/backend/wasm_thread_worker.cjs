/**
 * The pthread worker script of tfjs-backend-wasm's threaded SIMD build, as a real file Deno's
 * `node:worker_threads` can start (see `wasm_threads.ts`, which points Emscripten here).
 *
 * It runs tfjs's own worker code (`wasmWorkerContents`, read from node_modules) after two
 * adjustments that Deno needs and Node.js does not:
 *
 * 1. Emscripten's worker prologue (`if(ENVIRONMENT_IS_NODE){... Object.assign(global,{self,
 *    location,postMessage,performance,Worker,importScripts,...})}`) assigns over worker globals.
 *    In a Deno worker `location` is a getter without a setter, and the code is strict, so the
 *    assignment throws before the worker can answer; each global becomes a plain writable
 *    property first.
 * 2. The main thread's `{cmd: "load"}` message carries `urlOrBlob`: tfjs sets it to a Blob of
 *    `"var WasmBackendModuleThreadedSimd = " + factory.toString()`, where `factory` is the copy
 *    rolled into tfjs's Node bundle, whose body refers to that bundle's module-scope names
 *    (`require$$0`, `commonjsGlobal`, ...) that do not exist here; and the worker's
 *    `importScripts` reads files, not blob URLs. The message is rewritten to name the build's
 *    standalone glue (`wasm-out/tfjs-backend-wasm-threaded-simd.js`), the same Emscripten
 *    output before bundling, which `importScripts` evaluates as a classic script.
 *
 * CommonJS (`.cjs`) because the worker code expects `require` and `__filename`.
 */
"use strict";

const workerThreads = require("node:worker_threads");

const BUILD = "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd";
const { wasmWorkerContents } = require(`${BUILD}.worker.js`);
const standaloneGlue = require.resolve(`${BUILD}.js`);

for (const name of ["self", "location", "postMessage", "performance", "Worker", "importScripts"]) {
  Object.defineProperty(globalThis, name, {
    value: globalThis[name],
    writable: true,
    configurable: true,
    enumerable: true,
  });
}

const port = workerThreads.parentPort;
const listen = port.on.bind(port);
port.on = (event, listener) =>
  listen(
    event,
    event !== "message" ? listener : (data) => {
      if (data !== null && typeof data === "object" && data.cmd === "load") {
        data.urlOrBlob = standaloneGlue;
      }
      listener(data);
    },
  );

// The string comes from a JavaScript template literal in which `"\n"` became a real line break
// inside string literals; tfjs escapes them back the same way before making its Blob.
const source = wasmWorkerContents.replace(/\n/g, "\\n");
new Function("require", "__filename", source)(require, __filename);
