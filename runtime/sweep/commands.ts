/**
 * The `deno task run` arguments of a planned run, shared by the local executor and the sbatch
 * script so both run exactly the command a user would type.
 *
 * @module
 */
import type { PlannedRun } from "./expand.ts";

/** `EXP.ts --set p=v... --seed N --out DIR`: `--out` is the run directory `run` computes itself
 * under `runs/`, given explicitly so a `--runs-root` elsewhere (tests, scratch) is honoured. */
export function runArgs(run: PlannedRun): string[] {
  return [
    run.experiment,
    ...run.set.flatMap((s) => ["--set", s]),
    "--seed",
    String(run.seed),
    "--out",
    run.dir,
  ];
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellWord(arg: string): string {
  return /^[A-Za-z0-9_\-.,/=:@+%]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
