/**
 * A sweep's runs as rows of the results tables (`deno task sweep results SWEEP.ts` and
 * `deno task results SWEEP.ts`): each planned run read from its directory, labelled with the
 * sweep's label (`daformer/no_rcs`) so two variants of one experiment file read apart.
 *
 * @module
 */
import { exists } from "../io/exists.ts";
import { readRunSummary, type RunSummary } from "../report/results.ts";
import { UsageError } from "../cli/experiment_file.ts";
import type { SweepPlan } from "./expand.ts";
import { runState } from "./status.ts";

/** The rows, and a note for each run that has not finished. */
export async function sweepSummaries(
  plan: SweepPlan,
): Promise<{ runs: RunSummary[]; unfinished: string[] }> {
  const runs: RunSummary[] = [];
  const unfinished: string[] = [];
  for (const run of plan.runs) {
    const summary: RunSummary = await exists(run.dir)
      ? await readRunSummary(run.dir).catch((e) => {
        throw new UsageError((e as Error).message);
      })
      : {
        dir: run.dir,
        name: run.label,
        hash: run.hash.slice(0, 12),
        seed: run.seed,
        iterations: run.iterations,
        done: 0,
        finished: false,
      };
    if (!summary.finished) unfinished.push(`${run.dir} (${await runState(run.dir, 0)})`);
    runs.push({ ...summary, name: run.label });
  }
  return { runs, unfinished };
}

/** The refusal to tabulate a sweep with unfinished runs (unless `--allow-partial`). */
export function unfinishedError(file: string, total: number, unfinished: string[]): UsageError {
  return new UsageError(
    `${unfinished.length} of ${total} runs of ${file} have not finished: ` +
      `${unfinished.join("; ")}. Run \`deno task sweep run ${file} --executor local\` (or ` +
      `slurm; it resumes them), or pass --allow-partial to tabulate what there is.`,
  );
}
