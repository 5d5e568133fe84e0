/**
 * `deno task bench-steps EXP.ts... [--steps N] [--warmup W] [--backend B] [--threads N]
 * [--lanes 1|2|auto]`: the
 * median milliseconds of one training step of each experiment's program on random inputs of its
 * crop and batch size (all forward passes, self-training, backward and AdamW; data loading
 * excluded), and each experiment's time relative to the first. Weights are random: the time does
 * not depend on them. Each line names the backend's device, which carries the thread count, and
 * gives the step's kernel dispatches, its analytic GFLOP, the GFLOP/s reached and their share of
 * the same run's dense-matmul GFLOP/s, and the growth of the tensor count and of the resident set
 * and of the wasm heap from the end of warm-up to the last step (`--steps 1000` is the leak check).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../tf.ts";
import { backendInfo, parseThreadsFlag } from "../backend/mod.ts";
import { compile, stepFlops, viewCrop } from "../compile/program.ts";
import { extend } from "../../dsl/mod.ts";
import { trainableParams, trainStep } from "../train/step.ts";
import { parseLanesFlag, startBackend, startLaneWorker } from "../train/lanes_start.ts";
import { buildNetworks, disposeNetworks } from "../train/networks.ts";
import { disposeViews } from "../train/data.ts";
import type { Role, View } from "../blocks/types.ts";
import { AdamW } from "../optim/adamw.ts";
import { RandomStream } from "../random.ts";
import { countDispatches, matmulCeiling, median } from "../bench/measure.ts";
import { experimentName, loadExperiment, runMain, UsageError } from "./experiment_file.ts";
import { denoCommand } from "./deno_command.ts";
import { revokeRun } from "./scope.ts";

/**
 * The wasm backend's linear memory (it only grows, so growth after warm-up is a leak or
 * fragmentation); 0 on other backends. The resident set also carries V8's JavaScript heap, which
 * rises and falls by tens of MB with garbage collection, so its growth alone does not show a leak.
 */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? 0;
}

/** Runs the benchmark and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      steps: { type: "string", default: "20" },
      warmup: { type: "string", default: "3" },
      backend: { type: "string" },
      threads: { type: "string" },
      lanes: { type: "string" },
    },
  });
  if (positionals.length === 0) {
    throw new UsageError(
      "usage: deno task bench-steps EXP.ts... [--steps N] [--warmup W] [--backend B] " +
        "[--threads N] [--lanes 1|2|auto]",
    );
  }
  if (positionals.length > 1) {
    let first: number | undefined;
    for (const path of positionals) {
      const line = await measureInChild(path, args.filter((a) => !positionals.includes(a)));
      first ??= line.msPerStep as number;
      console.log(
        JSON.stringify({ ...line, relative: Number((line.msPerStep / first).toFixed(2)) }),
      );
    }
    return 0;
  }
  // One experiment is measured here: the permission to start programs (for the children above)
  // goes before its file is imported.
  revokeRun();
  const steps = Number(values.steps), warmup = Number(values.warmup);
  const threads = parseThreadsFlag(values.threads);
  const lanes = parseLanesFlag(values.lanes);
  let first: number | undefined;
  // The same run's dense-matmul GFLOP/s per backend, measured once: the practical ceiling.
  const ceilings = new Map<string, number>();
  for (const path of positionals) {
    const loaded = await loadExperiment(path);
    const program = compile(
      values.backend === undefined
        ? loaded
        : extend(loaded, { run: { backend: values.backend as typeof loaded.run.backend } }),
    );
    const started = await startBackend(program, lanes, threads);
    const worker = await startLaneWorker(program, started);
    // Random weights: the timing does not depend on them, and no weights run is started.
    const networks = await buildNetworks(program, undefined, false);
    const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
    const rng = new RandomStream(0);
    const inputs = new Map<Role, View>();
    for (const plan of program.data.train) {
      const [h, w] = viewCrop(program, plan.role);
      const n = program.data.batchSize;
      inputs.set(plan.role, {
        image: tf.tensor4d(rng.normalArray(n * h * w * 3), [n, h, w, 3]),
        label: plan.labelled
          ? tf.tensor3d(
            Int32Array.from({ length: n * h * w }, () => rng.int(19)),
            [n, h, w],
            "int32",
          )
          : undefined,
      });
    }
    const times: number[] = [];
    // Leaks show as growth between the end of warm-up and the last step (tensors, resident set).
    let tensorsAfterWarmup = 0, rssAfterWarmup = 0, heapAfterWarmup = 0;
    for (let t = 0; t < warmup + steps; t++) {
      if (t === warmup) {
        tensorsAfterWarmup = tf.memory().numTensors;
        rssAfterWarmup = Deno.memoryUsage().rss;
        heapAfterWarmup = wasmHeapBytes();
      }
      const started = performance.now();
      await trainStep(program, networks, optimizer, inputs, t, rng, worker);
      if (t >= warmup) times.push(performance.now() - started);
    }
    const tensorGrowth = tf.memory().numTensors - tensorsAfterWarmup;
    const rssGrowth = (Deno.memoryUsage().rss - rssAfterWarmup) / rssAfterWarmup;
    const heapGrowth = heapAfterWarmup > 0 ? wasmHeapBytes() / heapAfterWarmup - 1 : undefined;
    const ms = median(times);
    first ??= ms;
    // The step's values are read inside trainStep; a scalar stands in for countDispatches' result.
    const dispatches = await countDispatches(async () => {
      await trainStep(program, networks, optimizer, inputs, warmup + steps, rng, worker);
      return tf.scalar(0);
    });
    const gflop = stepFlops(program) / 1e9;
    const gflops = gflop / ms * 1e3;
    ceilings.set(program.backend, ceilings.get(program.backend) ?? await matmulCeiling(5));
    const ceiling = ceilings.get(program.backend)!;
    console.log(JSON.stringify({
      experiment: experimentName(path),
      backend: program.backend,
      device: backendInfo().device,
      batch: program.data.batchSize,
      passes: program.passes.map((p) => p.id),
      lanes: worker === undefined ? 1 : 2,
      msPerStep: Number(ms.toFixed(1)),
      relative: Number((ms / first).toFixed(2)),
      dispatchesPerStep: dispatches.total,
      gflopPerStep: Number(gflop.toFixed(3)),
      gflops: Number(gflops.toFixed(2)),
      matmulGflops: Number(ceiling.toFixed(2)),
      fractionOfMatmul: Number((gflops / ceiling).toFixed(3)),
      tensorGrowth,
      rssGrowthPercent: Number((100 * rssGrowth).toFixed(2)),
      ...(heapGrowth === undefined
        ? {}
        : { wasmHeapGrowthPercent: Number((100 * heapGrowth).toFixed(2)) }),
    }));
    worker?.close();
    disposeViews(inputs);
    disposeNetworks(networks);
    optimizer.dispose();
  }
  return 0;
}

/** Measures one experiment in a child process with the same flags; returns its line. */
async function measureInChild(
  path: string,
  flags: readonly string[],
): Promise<Record<string, number>> {
  const args = [
    "run",
    "--no-prompt",
    "--allow-read=.",
    "--allow-env=UDA_WASM_THREADS",
    new URL(import.meta.url).pathname,
    path,
    ...flags,
  ];
  const output = await new Deno.Command(denoCommand(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  if (!output.success) throw new Error(`bench-steps: measuring ${path} failed (see above)`);
  const line = new TextDecoder().decode(output.stdout).trim().split("\n").find((l) =>
    l.startsWith("{")
  );
  if (line === undefined) throw new Error(`bench-steps: measuring ${path} printed no result`);
  return JSON.parse(line);
}

if (import.meta.main) await runMain(() => main(Deno.args));
