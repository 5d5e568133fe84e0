/**
 * `deno task bench [--backends wasm,webgpu,cpu] [--repeats N] [--batch B] [--size S]
 *   [--torch [--python PATH] [--torch-threads N]]`
 *
 * Prints one JSON line per network, mode and backend: the median milliseconds of a forward pass
 * (eval mode) and of a training step (training-mode forward, cross-entropy, backward, AdamW),
 * after warm-up; the FLOPs counted analytically; the GFLOP/s achieved; the same run's dense
 * 1024×1024×1024 matmul GFLOP/s as the backend's ceiling, with the fraction reached; and, for the
 * train step, the kernel dispatches per step (with the most frequent kernels).
 *
 * `--threads 1,2` measures wasm once per thread count (default: 1 and the machine's cores). A
 * process can start the wasm backend only once, so every thread count after the first runs in a
 * child process of the same benchmark (`--allow-run=deno`).
 *
 * `--torch` first measures the same MiT-B0 + SegFormer step in PyTorch on the CPU
 * (`scripts/bench_torch.py`) and prints our time over PyTorch's for each configuration.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../tf.ts";
import { BACKEND_NAMES, type BackendName, useBackend } from "../backend/mod.ts";
import { defaultWasmThreads, parseThreadsFlag } from "../backend/wasm_threads.ts";
import { denoCommand } from "./deno_command.ts";
import { runMain } from "./experiment_file.ts";
import { countFlops, createSegmentor } from "../nn/segmentor.ts";
import { MIT_CONFIGS } from "../nn/mit.ts";
import { AdamW } from "../optim/adamw.ts";
import { supervisedStep } from "../train/supervised_step.ts";
import { RandomStream } from "../random.ts";
import { countDispatches, matmulCeiling, median, timeRuns } from "../bench/measure.ts";
import { measureTorch, type TorchMeasurement } from "../bench/torch_side.ts";

/** The networks measured: the two published heads on MiT-B0 and one small variant of ours. */
export const BENCH_MODELS = ["mit_b0+segformer", "mit_b0+daformer", "mit_nano+daformer"] as const;

/**
 * FLOPs of a training step: the forward pass, plus the backward pass at twice the forward
 * (input and weight gradients of every layer), minus the input gradient of the first
 * convolution, which nothing needs (the image is not a variable).
 */
function trainFlops(spec: string, batch: number, size: number): number {
  const forward = countFlops(spec, {}, { batch, height: size, width: size });
  const c1 = MIT_CONFIGS[spec.split("+")[0]].dims[0];
  const firstConvInputGrad = 2 * batch * (size / 4) ** 2 * 49 * 3 * c1;
  return 3 * forward - firstConvInputGrad;
}

/** What the benchmark measures on each configuration. */
interface BenchSettings {
  repeats: number;
  batch: number;
  size: number;
  models: string[];
}

/** One JSON line of the benchmark. */
type BenchLine = Record<string, unknown>;

/** Measures every model on the active backend and returns the JSON lines. */
async function measureBackend(
  backend: BackendName,
  threads: number | undefined,
  settings: BenchSettings,
): Promise<BenchLine[]> {
  const { repeats, batch, size } = settings;
  const info = await useBackend(backend, threads === undefined ? {} : { threads });
  const ceiling = await matmulCeiling(repeats);
  const lines: BenchLine[] = [];
  for (const spec of settings.models) {
    const model = createSegmentor(spec, { seed: 0 });
    const optimizer = new AdamW(model.params.trainable());
    const rng = new RandomStream(1);
    const image = tf.tensor4d(rng.normalArray(batch * size * size * 3), [batch, size, size, 3]);
    const label = tf.tensor3d(
      Int32Array.from({ length: batch * size * size }, () => rng.int(19)),
      [batch, size, size],
      "int32",
    );
    const step = () => supervisedStep(model, optimizer, image, label, 6e-5, rng);
    const forward = () => tf.tidy(() => model.forward(image, { training: false }).logits);
    const forwardMs = median(await timeRuns(repeats, 2, forward));
    const tensorsBefore = tf.memory().numTensors;
    const stepMs = median(await timeRuns(repeats, 2, step));
    const tensorLeak = tf.memory().numTensors - tensorsBefore;
    const dispatches = await countDispatches(step);
    const cases = [
      ["forward", forwardMs, countFlops(spec, {}, { batch, height: size, width: size })],
      ["train_step", stepMs, trainFlops(spec, batch, size)],
    ] as const;
    for (const [mode, ms, flops] of cases) {
      const gflops = flops / ms / 1e6;
      lines.push({
        backend,
        device: info.device,
        threads: info.threads,
        model: spec,
        mode,
        batch,
        height: size,
        width: size,
        median_ms: Number(ms.toFixed(1)),
        repeats,
        gflop: Number((flops / 1e9).toFixed(3)),
        gflops: Number(gflops.toFixed(2)),
        matmul_gflops: Number(ceiling.toFixed(2)),
        fraction_of_matmul: Number((gflops / ceiling).toFixed(3)),
        ...(mode === "train_step"
          ? {
            dispatches: dispatches.total,
            top_kernels: Object.fromEntries(dispatches.byKernel.slice(0, 8)),
            tensor_leak_per_run: tensorLeak,
          }
          : {}),
      });
    }
    tf.dispose([image, label]);
    optimizer.dispose();
    model.params.dispose();
  }
  return lines;
}

/** Runs this benchmark in a child process for one wasm thread count and returns its lines. */
async function measureInChild(threads: number, settings: BenchSettings): Promise<BenchLine[]> {
  const args = [
    "run",
    "--no-prompt",
    "--allow-read=.",
    new URL(import.meta.url).pathname,
    "--backends=wasm",
    `--threads=${threads}`,
    `--repeats=${settings.repeats}`,
    `--batch=${settings.batch}`,
    `--size=${settings.size}`,
    `--models=${settings.models.join(",")}`,
  ];
  const output = await new Deno.Command(denoCommand(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  if (!output.success) throw new Error(`bench: the wasm run on ${threads} threads failed`);
  return new TextDecoder().decode(output.stdout).trim().split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

function torchComparison(lines: readonly BenchLine[], torch: TorchMeasurement): BenchLine[] {
  const of = (mode: string) =>
    lines.find((l) => l.model === "mit_b0+segformer" && l.mode === mode)?.median_ms as number;
  if (of("train_step") === undefined) return [];
  const first = lines[0];
  return [{
    comparison: `${first.backend} (${first.threads ?? "?"} threads) vs ${torch.backend} ` +
      `(${torch.threads} threads)`,
    model: "mit_b0+segformer",
    train_step_ratio: Number((of("train_step") / torch.train_step_ms).toFixed(3)),
    forward_ratio: Number((of("forward") / torch.forward_ms).toFixed(3)),
  }];
}

function parseThreadList(text: string | undefined): number[] {
  if (text === undefined) return [...new Set([1, defaultWasmThreads()])];
  return [...new Set(text.split(",").map((t) => parseThreadsFlag(t)!))];
}

/** Runs the benchmark and prints its JSON lines; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backends: { type: "string", default: "wasm" },
      threads: { type: "string" },
      repeats: { type: "string", default: "5" },
      batch: { type: "string", default: "2" },
      size: { type: "string", default: "128" },
      models: { type: "string", default: BENCH_MODELS.join(",") },
      torch: { type: "boolean", default: false },
      python: { type: "string", default: "/usr/bin/python3" },
      "torch-threads": { type: "string", default: "2" },
    },
  });
  const backends = values.backends!.split(",") as BackendName[];
  const bad = backends.filter((b) => !BACKEND_NAMES.includes(b));
  if (bad.length > 0) {
    console.error(
      `bench: unknown backend(s) ${bad.join(", ")}; choose from ${BACKEND_NAMES.join(", ")}.`,
    );
    return 2;
  }
  const settings: BenchSettings = {
    repeats: Number(values.repeats),
    batch: Number(values.batch),
    size: Number(values.size),
    models: values.models!.split(","),
  };
  const { repeats, batch, size } = settings;
  if (![repeats, batch, size].every((n) => Number.isInteger(n) && n > 0) || size % 32 !== 0) {
    console.error(
      "bench: --repeats and --batch must be positive integers, --size a multiple of 32.",
    );
    return 2;
  }
  const threadList = parseThreadList(values.threads);
  // PyTorch first, then ours, in the same run: the ratio is only meaningful side by side.
  let torch: TorchMeasurement | undefined;
  if (values.torch) {
    const threads = Number(values["torch-threads"]);
    torch = await measureTorch(values.python!, { threads, repeats, batch, size });
    console.log(
      JSON.stringify({ ...torch, model: "mit_b0+segformer", batch, height: size, width: size }),
    );
  }
  const report = (lines: BenchLine[]) => {
    for (const line of lines) console.log(JSON.stringify(line));
    if (torch !== undefined) {
      for (const line of torchComparison(lines, torch)) console.log(JSON.stringify(line));
    }
  };
  for (const backend of backends) {
    if (backend !== "wasm") {
      report(await measureBackend(backend, undefined, settings));
      continue;
    }
    const [first, ...others] = threadList;
    report(await measureBackend("wasm", first, settings));
    for (const threads of others) report(await measureInChild(threads, settings));
  }
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
