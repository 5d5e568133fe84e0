/**
 * The threaded wasm build (`runtime/backend/wasm_threads.ts`, `--threads N`). A process starts
 * the wasm backend once, so each thread count runs in its own child process
 * (`tests/fixtures/wasm_threads_probe.ts`).
 */
import assert from "node:assert/strict";
import { denoCommand } from "../../runtime/cli/deno_command.ts";
import {
  MAX_WASM_THREADS,
  parseThreadsFlag,
  takeThreadsFlag,
  ThreadsFlagError,
  useBackend,
} from "../../runtime/backend/mod.ts";

const PROBE = "tests/fixtures/wasm_threads_probe.ts";

interface Probe {
  info: { name: string; device: string; threads: number };
  backend: string;
  webWorkerRestored: boolean;
  results: Record<string, string | number>;
}

/** Runs a child with `flags`; a child that does not exit within 5 minutes is killed. */
async function child(flags: string[], args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(denoCommand(), {
    args: ["run", "--no-prompt", ...flags, PROBE, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
}

async function probe(threads: number): Promise<Probe> {
  const out = await child(["--allow-read=."], [String(threads)]);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `probe --threads ${threads} failed (code ${out.code}):\n${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

Deno.test("wasm on 2 threads starts the threaded build and matches 1 thread bit for bit", async () => {
  // Concurrently: each child is mostly waiting for its own start-up.
  const [one, two] = await Promise.all([probe(1), probe(2)]);
  assert.deepEqual(one.info.threads, 1);
  assert.deepEqual(one.info.device, "WebAssembly, XNNPACK, SIMD, 1 thread");
  assert.deepEqual(two.info.threads, 2);
  assert.deepEqual(two.info.device, "WebAssembly, XNNPACK, SIMD, 2 threads");
  assert.deepEqual(two.backend, "wasm");
  // The glue replaces globalThis.Worker; the data prefetch workers need Deno's back.
  assert.ok(two.webWorkerRestored, "globalThis.Worker is still node:worker_threads' Worker");
  // XNNPACK splits work over output tiles, never over a reduction, and every other kernel runs
  // on the calling thread: the thread count changes no bit.
  assert.deepEqual(two.results.matmul, two.results.matmulAgain);
  assert.deepEqual(two.results, one.results);
});

Deno.test("--threads rejects anything but a whole number from 1 to 8", async () => {
  for (const bad of ["0", "9", "-1", "1.5", "two", "", " "]) {
    assert.throws(() => parseThreadsFlag(bad), (error: Error) => {
      assert.ok(error instanceof ThreadsFlagError);
      assert.match(error.message, /^--threads: expected a whole number from 1 to 8, got /);
      assert.equal(error.name, "UsageError"); // runMain prints it and exits with code 2
      return true;
    });
  }
  assert.deepEqual(parseThreadsFlag(undefined), undefined);
  assert.deepEqual(parseThreadsFlag("3"), 3);
  assert.deepEqual(parseThreadsFlag(String(MAX_WASM_THREADS)), MAX_WASM_THREADS);
  assert.deepEqual(takeThreadsFlag(["a.ts", "--threads", "2", "--seed", "1"]), {
    rest: ["a.ts", "--seed", "1"],
    threads: 2,
  });
  assert.deepEqual(takeThreadsFlag(["--threads=4", "a.ts"]), { rest: ["a.ts"], threads: 4 });
  assert.deepEqual(takeThreadsFlag(["a.ts"]), { rest: ["a.ts"] });
  assert.throws(() => takeThreadsFlag(["a.ts", "--threads"]), ThreadsFlagError);
  const other = await useBackend("cpu", { threads: 2 }).then(() => undefined, (e) => e as Error);
  assert.ok(other instanceof ThreadsFlagError);
  assert.match(other.message, /--threads applies to the wasm backend only/);
});

Deno.test("a command given a bad --threads exits with code 2 and names the flag", async () => {
  const out = await new Deno.Command(denoCommand(), {
    args: ["run", "--no-prompt", "--allow-read=.", "runtime/cli/eval.ts", "runs/x", "--threads=0"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  assert.deepEqual(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--threads: expected a whole number from 1/);
});

Deno.test("without read access to the worker script, --threads 2 fails with a message", async () => {
  const out = await child(
    ["--allow-read=.", "--deny-read=runtime/backend/wasm_thread_worker.cjs"],
    [
      "2",
    ],
  );
  assert.ok(!out.success);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.match(stderr, /--threads 2: the threaded wasm backend starts its pthread workers from/);
  assert.match(stderr, /--threads 1 for the single-threaded build/);
});
