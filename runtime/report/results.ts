/**
 * Results tables over seeds: one row per experiment (name and hash), the mean ± standard
 * deviation of the final target mIoU over its seeds, each seed's value, and the mean per-class
 * IoU. `docs/results.md` is generated from finished run directories with these functions, never
 * typed by hand.
 *
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { readMetrics } from "../train/run_dir.ts";
import { CLASS_NAMES } from "../data/labels.ts";

/** What a finished (or partial) run contributes to a table. */
export interface RunSummary {
  /** The run directory. */
  dir: string;
  /** Experiment name (`source_only`, `ablations/daformer_no_fd`). */
  name: string;
  /** First 12 hex digits of the experiment hash. */
  hash: string;
  /** Seed. */
  seed: number;
  /** Iterations the experiment asks for. */
  iterations: number;
  /** Iterations the run has logged. */
  done: number;
  /** Target mIoU (0–1) of the final evaluation, undefined before it. */
  mIoU?: number;
  /** Per-class target IoU of the final evaluation (null where undefined). */
  iou?: Record<string, number | null>;
  /** Evaluation protocol. */
  protocol?: string;
  /** Mean training speed over the run, iterations per second. */
  itPerSec?: number;
}

/** One row of a table: an experiment (name + hash) over its seeds. */
export interface ResultRow {
  /** Experiment name. */
  name: string;
  /** Hash prefix. */
  hash: string;
  /** The runs, by seed. */
  runs: RunSummary[];
  /** Mean target mIoU (0–1) of the finished runs. */
  mean: number;
  /** Sample standard deviation (n − 1), NaN for one run. */
  std: number;
  /** Mean per-class IoU over the finished runs (null where no run defines it). */
  iou: Record<string, number | null>;
}

const RUN_DIR = /^([0-9a-f]{12})-s(\d+)$/;

/**
 * `run.iterations` of a canonical `experiment.yaml` (`dsl/canonical.ts` prints each section at
 * column 0 and its fields indented by two spaces), without a YAML parser.
 */
export function runIterations(yaml: string): number | undefined {
  let inRun = false;
  for (const line of yaml.split("\n")) {
    if (/^\S/.test(line)) inRun = line === "run:";
    else if (inRun) {
      const match = /^ {2}iterations: (\d+)$/.exec(line);
      if (match) return Number(match[1]);
    }
  }
  return undefined;
}

/** Reads what a table needs from one run directory; throws naming the directory when it is not one. */
export async function readRunSummary(dir: string, runsRoot = "runs"): Promise<RunSummary> {
  const match = RUN_DIR.exec(basename(dir));
  let yaml: string;
  try {
    yaml = await Deno.readTextFile(join(dir, "experiment.yaml"));
  } catch {
    throw new Error(
      `${dir} is not a run directory (no experiment.yaml). Give directories such as ` +
        `runs/daformer/<hash>-s0, or experiment files with --seeds.`,
    );
  }
  if (match === null) {
    throw new Error(`${dir}: a run directory is named <hash12>-s<seed>, e.g. 3f2a9c01b7de-s0.`);
  }
  const iterations = runIterations(yaml);
  if (iterations === undefined) {
    throw new Error(`${dir}/experiment.yaml has no run.iterations; is it a UDA-Lab run?`);
  }
  const records = await readMetrics(dir);
  let done = 0;
  let final: Extract<(typeof records)[number], { type: "eval" }> | undefined;
  let speed = 0, windows = 0;
  for (const r of records) {
    done = Math.max(done, r.iter);
    if (r.type === "train") {
      speed += r.itPerSec;
      windows++;
    }
    if (r.type === "eval" && r.set === "targetVal" && r.iter === iterations) final = r;
  }
  const parent = dirname(dir);
  const name = relative(runsRoot, parent).startsWith("..")
    ? basename(parent)
    : relative(runsRoot, parent);
  return {
    dir,
    name,
    hash: match[1],
    seed: Number(match[2]),
    iterations,
    done,
    mIoU: final?.mIoU,
    iou: final?.iou,
    protocol: final?.protocol,
    itPerSec: windows > 0 ? speed / windows : undefined,
  };
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2
    ? NaN
    : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std };
}

/** Groups runs by (name, hash) in the order first seen; statistics over the finished ones. */
export function summarise(runs: readonly RunSummary[]): ResultRow[] {
  const rows = new Map<string, RunSummary[]>();
  for (const run of runs) {
    const key = `${run.name}\u0000${run.hash}`;
    if (!rows.has(key)) rows.set(key, []);
    rows.get(key)!.push(run);
  }
  return [...rows.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.seed - b.seed);
    const finished = sorted.filter((r) => r.mIoU !== undefined);
    const { mean, std } = finished.length === 0
      ? { mean: NaN, std: NaN }
      : meanStd(finished.map((r) => r.mIoU!));
    const iou: Record<string, number | null> = {};
    for (const name of CLASS_NAMES) {
      const values = finished.map((r) => r.iou?.[name]).filter((v): v is number =>
        typeof v === "number"
      );
      iou[name] = values.length === 0 ? null : meanStd(values).mean;
    }
    return { name: group[0].name, hash: group[0].hash, runs: sorted, mean, std, iou };
  });
}

const pct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : (100 * v).toFixed(1);

/** The tables as markdown: mIoU over seeds, then per-class IoU. */
export function formatResultsTable(rows: readonly ResultRow[]): string {
  const lines: string[] = [];
  const protocols = new Set(rows.flatMap((r) => r.runs.map((x) => x.protocol)).filter(Boolean));
  lines.push(
    `Target mIoU (%, ${[...protocols].join("/") || "19"}-class protocol) of the final ` +
      `evaluation: mean ± sample standard deviation over seeds.`,
    "",
    "| experiment | hash | seeds | target mIoU | per seed | it/s |",
    "|---|---|---|---|---|---|",
  );
  for (const row of rows) {
    const partial = row.runs.filter((r) => r.mIoU === undefined);
    const perSeed = row.runs.map((r) =>
      r.mIoU === undefined
        ? `s${r.seed}: (${r.done}/${r.iterations} it)`
        : `s${r.seed}: ${pct(r.mIoU)}`
    ).join(", ");
    const speeds = row.runs.map((r) => r.itPerSec).filter((v): v is number => v !== undefined);
    const speed = speeds.length === 0
      ? "—"
      : (speeds.reduce((a, b) => a + b, 0) / speeds.length).toFixed(2);
    const finished = row.runs.length - partial.length;
    lines.push(
      `| ${row.name} | \`${row.hash}\` | ${finished}${
        partial.length > 0 ? ` (+${partial.length} unfinished)` : ""
      } | ` +
        `**${pct(row.mean)}** ± ${pct(row.std)} | ${perSeed} | ${speed} |`,
    );
  }
  const names = new Map<string, number>();
  rows.forEach((r) => names.set(r.name, (names.get(r.name) ?? 0) + 1));
  if ([...names.values()].some((n) => n > 1)) {
    lines.push(
      "",
      "Rows with the same name and different hashes are different experiment definitions " +
        "(a file changed between runs); they are never averaged together.",
    );
  }
  lines.push(
    "",
    "Per-class target IoU (%), mean over the finished seeds:",
    "",
    `| class | ${rows.map((r) => r.name).join(" | ")} |`,
    `|---|${rows.map(() => "---").join("|")}|`,
  );
  for (const cls of CLASS_NAMES) {
    lines.push(`| ${cls} | ${rows.map((r) => pct(r.iou[cls])).join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}
