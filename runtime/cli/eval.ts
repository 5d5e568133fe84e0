/**
 * `deno task eval RUN_DIR|CHECKPOINT [--backend B] [--threads N] [--json FILE] [--hrda-out O]`:
 * evaluates a checkpoint (the newest of a run directory, or a given file) on the validation sets
 * of the experiment stored in it, and prints the per-class IoU table. The checkpoint carries its
 * canonical experiment, so it needs no experiment file. `--hrda-out lr|hr|fused` evaluates one of
 * a multi-resolution model's predictions, as the HRDA reference's `tools/test.py --hrda-out`: the
 * context alone (attention 0), the detail windows alone (attention 1), or the fused default.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { experimentFromPlain, extend } from "../../dsl/mod.ts";
import { parseThreadsFlag, useBackend } from "../backend/mod.ts";
import { compile } from "../compile/program.ts";
import { takeStrictLabelsFlag } from "../data/label_policy.ts";
import {
  checkpointPath,
  listCheckpoints,
  readCheckpoint,
  restoreParams,
} from "../train/checkpoint.ts";
import { type EvalResult, evaluate, loadEvalSet } from "../eval/evaluate.ts";
import { buildNetworks, disposeNetworks } from "../train/networks.ts";
import { iouTable, percent } from "../report/report.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { runMain, UsageError } from "./experiment_file.ts";
import { EVAL_SCOPE, mayReexecute, reexecute, revokeRun, unreadable } from "./scope.ts";
import { isWritable } from "./write_scope.ts";

async function resolveCheckpoint(target: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(target);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${target}: this process may not read it; \`deno task eval\` adds a run directory ` +
          `outside the project to its read scope by itself, or run \`deno run ` +
          `--allow-read=.,${target} runtime/cli/eval.ts\`.`,
      );
    }
    throw new UsageError(`${target}: no such run directory or checkpoint file.`);
  }
  if (info.isFile) return target;
  const saved = await listCheckpoints(target);
  if (saved.length === 0) {
    throw new UsageError(`${target}: no checkpoints/iter_*.safetensors in this run directory.`);
  }
  return checkpointPath(target, saved[saved.length - 1]);
}

/** Runs `eval` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: takeStrictLabelsFlag(args),
    allowPositionals: true,
    options: {
      backend: { type: "string" },
      json: { type: "string" },
      threads: { type: "string" },
      "hrda-out": { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    throw new UsageError(
      "usage: deno task eval RUN_DIR|CHECKPOINT [--backend B] [--threads N] [--json FILE] " +
        "[--hrda-out lr|hr|fused] [--strict-labels]",
    );
  }
  // A run directory outside the project (a cluster's scratch) is added to the read scope, the
  // --json file's folder to the write scope, by starting again with them.
  const json = values.json === undefined || await isWritable(dirname(values.json))
    ? []
    : [dirname(values.json)];
  const outside = unreadable([positionals[0]]);
  if ((outside.length > 0 || json.length > 0) && mayReexecute()) {
    return await reexecute(fileURLToPath(import.meta.url), args, EVAL_SCOPE, json, outside);
  }
  if (mayReexecute()) revokeRun();
  const threads = parseThreadsFlag(values.threads);
  const path = await resolveCheckpoint(positionals[0]);
  const checkpoint = await readCheckpoint(path);
  let experiment = experimentFromPlain(JSON.parse(checkpoint.experiment));
  if (values.backend !== undefined) {
    experiment = extend(experiment, {
      run: { backend: values.backend as typeof experiment.run.backend },
    });
  }
  const program = compile(experiment);
  await useBackend(program.backend, { threads });
  // The checkpoint holds every weight: the initial encoder weights are not read.
  const networks = await buildNetworks(program, undefined, false);
  const model = networks.get("student")!;
  const output = values["hrda-out"];
  if (output !== undefined && !model.outputs?.includes(output)) {
    disposeNetworks(networks);
    throw new UsageError(
      model.outputs === undefined
        ? `--hrda-out ${output}: this run's model has one prediction only; the flag chooses ` +
          `among a multi-resolution (HRDA) model's predictions.`
        : `--hrda-out ${output}: this model predicts ${model.outputs.join(", ")}.`,
    );
  }
  restoreParams(checkpoint, model.params);
  const results: Record<string, EvalResult> = {};
  for (const plan of program.evaluation.sets) {
    results[plan.role] = await evaluate(model, await loadEvalSet(plan), {
      batchSize: program.evaluation.settings.batchSize,
      protocol: program.evaluation.settings.protocol,
      pictures: 0,
      numClasses: program.experiment.model.numClasses,
      output,
    });
  }
  const which = output === undefined ? "" : `, prediction ${output}`;
  console.log(`${path} (iteration ${checkpoint.iteration}, backend ${program.backend}${which})\n`);
  console.log(iouTable(results));
  if (values.json !== undefined) {
    const summary = Object.fromEntries(
      Object.entries(results).map(([set, r]) => [
        set,
        r.consistency
          ? { ...r.metrics, temporalConsistency: r.consistency.result(r.metrics.protocol) }
          : r.metrics,
      ]),
    );
    await writeFileAtomic(
      values.json,
      JSON.stringify(
        { checkpoint: path, iteration: checkpoint.iteration, output, results: summary },
        null,
        2,
      ) +
        "\n",
    );
  }
  for (const [set, r] of Object.entries(results)) {
    const consistency = r.consistency?.result(r.metrics.protocol).share;
    console.log(
      `${set} mIoU (${r.metrics.protocol}): ${percent(r.metrics.mIoU)}` +
        (consistency === undefined ? "" : `, temporal consistency ${percent(consistency)}`),
    );
  }
  disposeNetworks(networks);
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
