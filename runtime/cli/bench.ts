/**
 * `deno task bench [--backends wasm,webgpu,cpu] [--repeats N] [--batch B] [--size S]`
 *
 * Prints one JSON line per network, mode and backend: the median milliseconds of a forward pass
 * (eval mode) and of a training step (training-mode forward, cross-entropy, backward, AdamW),
 * after warm-up; the FLOPs counted analytically; the GFLOP/s achieved; and the same run's dense
 * 1024×1024×1024 matmul GFLOP/s as the backend's ceiling, with the fraction reached.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../tf.ts";
import { BACKEND_NAMES, type BackendName, useBackend } from "../backend/mod.ts";
import { countFlops, createSegmentor } from "../nn/segmentor.ts";
import { MIT_CONFIGS } from "../nn/mit.ts";
import { AdamW } from "../optim/adamw.ts";
import { supervisedStep } from "../train/supervised_step.ts";
import { RandomStream } from "../random.ts";

/** The networks measured: the two published heads on MiT-B0 and one small variant of ours. */
export const BENCH_MODELS = ["mit_b0+segformer", "mit_b0+daformer", "mit_nano+daformer"] as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function time(repeats: number, warmup: number, run: () => tf.Tensor): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const start = performance.now();
    const out = run();
    await out.data(); // waits for the backend to finish (asynchronously: webgpu has no sync reads)
    out.dispose();
    if (i >= warmup) times.push(performance.now() - start);
  }
  return times;
}

/** Median GFLOP/s of a dense 1024³ matmul: the backend's practical ceiling. */
async function matmulCeiling(repeats: number): Promise<number> {
  const n = 1024;
  const rng = new RandomStream(0);
  const a = tf.tensor2d(rng.normalArray(n * n), [n, n]);
  const b = tf.tensor2d(rng.normalArray(n * n), [n, n]);
  const ms = median(await time(repeats, 2, () => tf.matMul(a, b)));
  tf.dispose([a, b]);
  return (2 * n ** 3) / ms / 1e6;
}

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

/** Runs the benchmark and prints its JSON lines; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backends: { type: "string", default: "wasm" },
      repeats: { type: "string", default: "5" },
      batch: { type: "string", default: "2" },
      size: { type: "string", default: "128" },
      models: { type: "string", default: BENCH_MODELS.join(",") },
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
  const repeats = Number(values.repeats);
  const batch = Number(values.batch);
  const size = Number(values.size);
  if (![repeats, batch, size].every((n) => Number.isInteger(n) && n > 0) || size % 32 !== 0) {
    console.error(
      "bench: --repeats and --batch must be positive integers, --size a multiple of 32.",
    );
    return 2;
  }
  for (const backend of backends) {
    const info = await useBackend(backend);
    const ceiling = await matmulCeiling(repeats);
    for (const spec of values.models!.split(",")) {
      const model = createSegmentor(spec, { seed: 0 });
      const optimizer = new AdamW(model.params.trainable());
      const rng = new RandomStream(1);
      const image = tf.tensor4d(rng.normalArray(batch * size * size * 3), [batch, size, size, 3]);
      const label = tf.tensor3d(
        Int32Array.from({ length: batch * size * size }, () => rng.int(19)),
        [batch, size, size],
        "int32",
      );
      const forwardMs = median(
        await time(
          repeats,
          2,
          () => tf.tidy(() => model.forward(image, { training: false }).logits),
        ),
      );
      const tensorsBefore = tf.memory().numTensors;
      const stepMs = median(
        await time(repeats, 2, () => supervisedStep(model, optimizer, image, label, 6e-5, rng)),
      );
      const tensorLeak = tf.memory().numTensors - tensorsBefore;
      const cases = [
        ["forward", forwardMs, countFlops(spec, {}, { batch, height: size, width: size })],
        ["train_step", stepMs, trainFlops(spec, batch, size)],
      ] as const;
      for (const [mode, ms, flops] of cases) {
        const gflops = flops / ms / 1e6;
        console.log(JSON.stringify({
          backend,
          device: info.device,
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
          ...(mode === "train_step" ? { tensor_leak_per_run: tensorLeak } : {}),
        }));
      }
      tf.dispose([image, label]);
      optimizer.dispose();
      model.params.dispose();
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
