/**
 * Runs side by side share the cores (`runtime/backend/thread_share.ts`): the launchers give each
 * run `UDA_WASM_THREADS`, and `defaultWasmThreads()` honours it.
 */
import assert from "node:assert/strict";
import { denoCommand } from "../../runtime/cli/deno_command.ts";
import { MAX_WASM_THREADS, threadsPerJob } from "../../runtime/backend/thread_share.ts";

Deno.test("each of N parallel runs gets cores ÷ N threads, at least 1 and at most 8", () => {
  const cores = navigator.hardwareConcurrency;
  assert.equal(threadsPerJob(1), Math.min(cores, MAX_WASM_THREADS));
  assert.equal(threadsPerJob(cores), 1);
  assert.equal(threadsPerJob(cores * 3), 1);
  assert.equal(threadsPerJob(0), Math.min(cores, MAX_WASM_THREADS));
});

async function defaultIn(value: string): Promise<{ code: number; out: string; err: string }> {
  const code = `import { defaultWasmThreads } from "./runtime/backend/wasm_threads.ts";
    try { console.log(defaultWasmThreads()); } catch (e) { console.error(e.message); Deno.exit(2); }`;
  const output = await new Deno.Command(denoCommand(), {
    args: ["eval", "--no-prompt", "--allow-read=.", "--allow-env=UDA_WASM_THREADS", code],
    env: { UDA_WASM_THREADS: value },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return { code: output.code, out: text(output.stdout), err: text(output.stderr) };
}

Deno.test("UDA_WASM_THREADS sets the default thread count; a bad value is a clear error", async () => {
  assert.equal((await defaultIn("1")).out, "1");
  assert.equal((await defaultIn("3")).out, "3");
  const bad = await defaultIn("12");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /UDA_WASM_THREADS=12: expected a whole number from 1 to 8/);
});
