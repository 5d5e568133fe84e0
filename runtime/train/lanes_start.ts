/**
 * Choosing how many processes a run's steps use, and starting the backend to match: `--lanes 1`
 * runs every step in this process; `--lanes 2` splits it as `lanes.ts` plans, this process and a
 * worker each on half the cores; `auto` (the default) splits where the program has independent
 * groups of terms, the backend is a CPU one and the machine has two cores or more. The split gives
 * the same numbers as one process (`tests/train/lanes_test.ts`), so it is an execution choice,
 * like `--threads`, not part of the experiment.
 *
 * @module
 */
import {
  type BackendInfo,
  defaultWasmThreads,
  startedWasmThreads,
  ThreadsFlagError,
  useBackend,
} from "../backend/mod.ts";
import type { Program } from "../compile/program.ts";
import { LaneWorker } from "./lane_client.ts";
import { type LanePlan, planLanes } from "./lanes.ts";

/** How many processes a step runs in. */
export type LaneCount = 1 | 2 | "auto";

/** The backends a worker lane runs on: the CPU ones (a GPU is one device already in use). */
const LANE_BACKENDS = new Set(["wasm", "cpu"]);

/** The lane count a `--lanes` value names (`auto` when absent); throws a usage error otherwise. */
export function parseLanesFlag(text: string | undefined): LaneCount {
  if (text === undefined || text === "auto") return "auto";
  if (text === "1" || text === "2") return Number(text) as 1 | 2;
  throw new ThreadsFlagError(
    `--lanes: expected 1, 2 or auto, got ${JSON.stringify(text)}. --lanes 2 runs the step's ` +
      `independent terms (DAFormer's source and mixed passes) in a second process at the same ` +
      `time; 1 runs everything in this one; auto (the default) splits where it pays.`,
  );
}

/** Takes `--lanes N` (or `--lanes=N`) out of `args`. */
export function takeLanesFlag(args: readonly string[]): { rest: string[]; lanes: LaneCount } {
  const i = args.findIndex((a) => a === "--lanes" || a.startsWith("--lanes="));
  if (i < 0) return { rest: [...args], lanes: "auto" };
  const inline = args[i].includes("=");
  const lanes = parseLanesFlag(inline ? args[i].slice("--lanes=".length) : args[i + 1] ?? "");
  return { rest: [...args.slice(0, i), ...args.slice(i + (inline ? 1 : 2))], lanes };
}

/** The started backend, and the split where the step runs in two processes. */
export interface StartedBackend {
  /** The backend of this process. */
  backend: BackendInfo;
  /** The split, or undefined when every step runs here; start its worker with `LaneWorker`. */
  lanes?: LanePlan;
}

/**
 * Starts the program's backend (on half the threads where the step is split, unless the backend
 * was started already or `threads` says otherwise) and says whether `lanes` splits the step.
 */
export async function startBackend(
  program: Program,
  lanes: LaneCount,
  threads?: number,
): Promise<StartedBackend> {
  const plan = lanes === 1 || !LANE_BACKENDS.has(program.backend) ? undefined : planLanes(program);
  if (lanes === 2 && plan === undefined) {
    throw new ThreadsFlagError(
      `--lanes 2: this experiment's step cannot be split (${
        LANE_BACKENDS.has(program.backend)
          ? "all its terms read the same trained passes"
          : `backend '${program.backend}' runs on one device`
      }). Drop --lanes or pass --lanes 1.`,
    );
  }
  const cores = defaultWasmThreads();
  const split = plan !== undefined && (lanes === 2 || cores >= 2);
  const perProcess = threads ?? startedWasmThreads() ??
    (split ? Math.max(1, Math.floor(cores / 2)) : undefined);
  const backend = await useBackend(
    program.backend,
    program.backend === "wasm" && perProcess !== undefined ? { threads: perProcess } : {},
  );
  return split ? { backend, lanes: plan } : { backend };
}

/** Starts the worker of a split step, on as many threads as this process's backend has. */
export function startLaneWorker(
  program: Program,
  started: StartedBackend,
): Promise<LaneWorker | undefined> {
  if (started.lanes === undefined) return Promise.resolve(undefined);
  return LaneWorker.start(program, started.lanes, started.backend.threads ?? 1);
}
