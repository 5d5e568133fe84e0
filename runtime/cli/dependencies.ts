/**
 * Weights experiments: a weights reference that names an experiment file
 * (`model.encoder.pretrained: "experiments/pretrain.ts"`) is trained before the experiment that
 * names it, once, and then shared. `plan` says so, with how far that run is and about how long
 * the rest takes, so a user is never surprised by a pretraining run they did not ask for.
 *
 * @module
 */
import { join } from "node:path";
import { canonicalize } from "../../dsl/mod.ts";
import { compile, type Program, stepFlops } from "../compile/program.ts";
import { readMetrics } from "../report/metrics_log.ts";
import { runDirectory } from "../train/run_dir.ts";
import { exists } from "../io/exists.ts";
import { experimentName, loadExperiment } from "./experiment_file.ts";

/**
 * Effective training rate of the wasm backend on this project's CPU-scale programs, used only
 * when a weights run has not logged its own speed yet: `experiments/pretrain.ts` (1000
 * iterations, 3.0 GFLOP a step) took 566 s alone on 2 cores: 3.0e12 / 566 s ≈ 5.3 GFLOP/s.
 */
export const EFFECTIVE_GFLOPS = 5.3;

/** Every weights reference of an experiment that names an experiment file. */
export function experimentReferences(program: Program): string[] {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === "string" && value.endsWith(".ts")) found.add(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(visit);
  };
  visit(canonicalize(program.experiment));
  return [...found];
}

function minutes(seconds: number): string {
  return seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(0)} min`;
}

/** One line per weights experiment (recursively): ready, or what training it will take. */
export async function weightsDependencies(
  program: Program,
  runsRoot = "runs",
  seen = new Set<string>(),
): Promise<string[]> {
  const lines: string[] = [];
  for (const reference of experimentReferences(program)) {
    if (seen.has(reference)) continue;
    seen.add(reference);
    const dependency = compile(await loadExperiment(reference));
    lines.push(...await weightsDependencies(dependency, runsRoot, seen));
    const runDir = runDirectory(
      runsRoot,
      experimentName(reference),
      dependency.hash,
      dependency.seed,
    );
    if (await exists(join(runDir, "weights.safetensors"))) {
      lines.push(`${reference}: finished (${runDir}/weights.safetensors), nothing to train`);
      continue;
    }
    const train = (await readMetrics(runDir)).filter((r) => r.type === "train");
    const done = train.length > 0 ? train[train.length - 1].iter : 0;
    const left = dependency.iterations - done;
    const speeds = train.map((r) => (r.type === "train" ? r.itPerSec : 0)).filter((v) => v > 0);
    const seconds = speeds.length > 0
      ? left / (speeds.reduce((a, b) => a + b, 0) / speeds.length)
      : left * stepFlops(dependency) / (EFFECTIVE_GFLOPS * 1e9);
    const basis = speeds.length > 0
      ? "at the speed its run logged"
      : `estimated at ${EFFECTIVE_GFLOPS} GFLOP/s`;
    lines.push(
      `${reference}: will be trained first into ${runDir} (${done} of ` +
        `${dependency.iterations} iterations done; about ${minutes(seconds)} ${basis}), then ` +
        `its weights are shared by every experiment that names it`,
    );
  }
  return lines;
}
