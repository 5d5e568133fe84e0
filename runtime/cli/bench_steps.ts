/**
 * `deno task bench-steps EXP.ts... [--steps N] [--warmup W]`: the median milliseconds of one
 * training step of each experiment's program on random inputs of its crop and batch size (all
 * forward passes, self-training, backward and AdamW; data loading excluded), and each
 * experiment's time relative to the first. Weights are random: the time does not depend on them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../tf.ts";
import { useBackend } from "../backend/mod.ts";
import { compile, viewCrop } from "../compile/program.ts";
import { extend } from "../../dsl/mod.ts";
import { trainableParams, trainStep } from "../train/step.ts";
import { buildNetworks, disposeNetworks } from "../train/networks.ts";
import { disposeViews } from "../train/data.ts";
import type { Role, View } from "../blocks/types.ts";
import { AdamW } from "../optim/adamw.ts";
import { RandomStream } from "../random.ts";
import { experimentName, loadExperiment, runMain, UsageError } from "./experiment_file.ts";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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
    },
  });
  if (positionals.length === 0) {
    throw new UsageError(
      "usage: deno task bench-steps EXP.ts... [--steps N] [--warmup W] [--backend B]",
    );
  }
  const steps = Number(values.steps), warmup = Number(values.warmup);
  let first: number | undefined;
  for (const path of positionals) {
    const loaded = await loadExperiment(path);
    const program = compile(
      values.backend === undefined
        ? loaded
        : extend(loaded, { run: { backend: values.backend as typeof loaded.run.backend } }),
    );
    await useBackend(program.backend);
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
    for (let t = 0; t < warmup + steps; t++) {
      const started = performance.now();
      await trainStep(program, networks, optimizer, inputs, t, rng);
      if (t >= warmup) times.push(performance.now() - started);
    }
    const ms = median(times);
    first ??= ms;
    console.log(JSON.stringify({
      experiment: experimentName(path),
      backend: program.backend,
      batch: program.data.batchSize,
      passes: program.passes.map((p) => p.id),
      msPerStep: Number(ms.toFixed(1)),
      relative: Number((ms / first).toFixed(2)),
    }));
    disposeViews(inputs);
    disposeNetworks(networks);
    optimizer.dispose();
  }
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
