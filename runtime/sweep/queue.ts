/**
 * What Slurm says about a sweep's array tasks: `squeue` (pending and running tasks, and with
 * `--states=all` those that ended within the controller's `MinJobAge`, 300 s by default) and
 * `sacct` (every ended task, but only where the cluster runs the accounting daemon `slurmdbd`).
 *
 * Without `slurmdbd`, `sacct` answers "Slurm accounting storage is disabled". `JobCompType=
 * jobcomp/filetxt` keeps a completion log that `sacct --completion` reads, but Slurm 22.05 lists
 * it by raw job id without the array job and task ids (it fails to parse `ArrayJobId=`), so it
 * cannot say which run a task was; it is not used. There, the run directories are the record.
 *
 * @module
 */

/** One array task's state. */
export interface TaskState {
  /** The array job id. */
  job: string;
  /** The Slurm state (PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, TIMEOUT, ...). */
  state: string;
  /** Where it was read. */
  source: "squeue" | "sacct";
}

/** The states of a sweep's tasks by array index (the newest job per index), and what answered. */
export interface QueueReport {
  /** Array index → state. */
  tasks: Map<number, TaskState>;
  /** Whether any job of this sweep is recorded (`jobs.jsonl`); nothing was asked otherwise. */
  submitted: boolean;
  /** Whether `squeue` answered. */
  squeue: boolean;
  /** Whether `sacct` answered (accounting enabled), or why not. */
  sacct: true | string;
}

/** States in which a task still holds (or will hold) its run directory. */
export const ACTIVE_STATES = new Set([
  "PENDING",
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SUSPENDED",
  "STOPPED",
  "SIGNALING",
  "STAGE_OUT",
]);

/** Array indices in squeue's `%K` (`3`, `0-5`, `[1,3-4%2]`). */
export function parseIndices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.replace(/^\[|\]$/g, "").replace(/%\d+$/, "").split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (range === null) continue;
    for (let i = Number(range[1]); i <= Number(range[2] ?? range[1]); i++) out.push(i);
  }
  return out;
}

async function command(
  name: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string } | undefined> {
  try {
    const out = await new Deno.Command(name, { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, stdout: text(out.stdout), stderr: text(out.stderr).trim() };
  } catch {
    return undefined; // Not installed, or not allowed.
  }
}

/** Parses `squeue --noheader --format=%F|%K|%T` lines into `into` (newer jobs win). */
export function parseSqueue(text: string, into: Map<number, TaskState>): void {
  for (const line of text.split("\n")) {
    const [job, indices, state] = line.trim().split("|");
    if (state === undefined || !/^\d+$/.test(job)) continue;
    for (const i of parseIndices(indices)) {
      const known = into.get(i);
      if (known === undefined || Number(job) >= Number(known.job)) {
        into.set(i, { job, state, source: "squeue" });
      }
    }
  }
}

/** Parses `sacct --noheader --parsable2 --format=JobID,State` lines into `into`. */
export function parseSacct(text: string, into: Map<number, TaskState>): void {
  for (const line of text.split("\n")) {
    const [id, state] = line.trim().split("|");
    // `12_3` is array job 12, task 3; `12_3.batch` its steps; `12_[4-5]` still pending.
    const match = /^(\d+)_(\d+)$/.exec(id ?? "");
    if (match === null || state === undefined) continue;
    const index = Number(match[2]);
    const known = into.get(index);
    // squeue's answer is the live one; sacct adds what squeue no longer lists.
    if (known === undefined || Number(match[1]) > Number(known.job)) {
      // `CANCELLED by 0` → `CANCELLED`.
      into.set(index, { job: match[1], state: state.split(" ")[0], source: "sacct" });
    }
  }
}

/**
 * The states of the array tasks of `jobs`, the array job ids this sweep submitted (its
 * `jobs.jsonl`; by id, not by job name, so the same sweep run into another runs root is not
 * mistaken for this one).
 */
export async function queueReport(jobs: readonly string[]): Promise<QueueReport> {
  const tasks = new Map<number, TaskState>();
  if (jobs.length === 0) return { tasks, submitted: false, squeue: false, sacct: "no job" };
  const squeue = await command("squeue", [
    "--noheader",
    "--states=all",
    `--jobs=${jobs.join(",")}`,
    "--format=%F|%K|%T",
  ]);
  if (squeue?.ok) parseSqueue(squeue.stdout, tasks);
  let sacct: true | string;
  const out = await command("sacct", [
    "--noheader",
    "--parsable2",
    "--format=JobID,State",
    `--jobs=${jobs.join(",")}`,
  ]);
  if (out === undefined) sacct = "sacct is not installed here";
  else if (!out.ok) sacct = out.stderr.split("\n")[0] || "sacct failed";
  else {
    sacct = true;
    parseSacct(out.stdout, tasks);
  }
  return { tasks, submitted: true, squeue: squeue?.ok === true, sacct };
}
