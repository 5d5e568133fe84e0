/**
 * Results tables over seeds: one row per experiment (name and hash), the mean ± sample standard
 * deviation of the final target mIoU over its seeds, each seed's value, and the mean per-class
 * IoU. `docs/results.md` is generated from finished run directories with these functions (by
 * `deno task results`), never typed by hand.
 *
 * A run directory is `runs/<experiment>/<hash12>-s<seed>/` (see `runtime/train/run_dir.ts`):
 * the experiment name is its parent's path under `runs/`, the hash and seed come from its name,
 * `experiment.yaml` gives `run.iterations` and `run.seed`, and `metrics.jsonl` the evaluations.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve, sep } from "node:path";
// The `yaml` package's browser build: its Node build reads LOG_TOKENS and LOG_STREAM from the
// environment while parsing, which `deno task results` (no --allow-env) may not do. Same package,
// version and API (types from the `yaml` import of deno.json).
// @ts-types="yaml"
import { parse } from "../../node_modules/yaml/browser/index.js";
import { type MetricsRecord, readMetrics } from "./metrics_log.ts";
import { CLASS_NAMES } from "../data/labels.ts";
import { ci95HalfWidth, welchTTest } from "./stats.ts";

/** What a finished (or partial) run contributes to a table. */
export interface RunSummary {
  /** The run directory, as given. */
  dir: string;
  /** Experiment name: the parent's path under `runs/` (`source_only`, `gta2cs/daformer`). */
  name: string;
  /** First 12 hex digits of the experiment hash. */
  hash: string;
  /** Seed. */
  seed: number;
  /** Iterations the experiment asks for (`run.iterations`). */
  iterations: number;
  /** Iterations the run has logged (0 before its first log line). */
  done: number;
  /** Whether the run logged all its iterations and the final target evaluation. */
  finished: boolean;
  /** Target mIoU (0–1) of the final evaluation (at the last iteration), undefined before it. */
  mIoU?: number;
  /** Per-class target IoU (0–1) of the final evaluation, by class name (null where undefined). */
  iou?: Record<string, number | null>;
  /** Evaluation protocol of the final evaluation (`19`, `16`, `13`). */
  protocol?: string;
  /** Temporal consistency (0–1) of the final target evaluation, where the set is a sequence. */
  temporalConsistency?: number;
  /**
   * Seconds spent in training steps, summed over the logged windows of every session
   * (evaluations, start-up and pauses between sessions excluded); undefined without train lines.
   */
  trainSeconds?: number;
}

/** One row of a table: an experiment (name + hash) over its seeds. */
export interface ResultRow {
  /** Experiment name. */
  name: string;
  /** Hash prefix (12 hex digits). */
  hash: string;
  /** The runs, by ascending seed (finished or not). */
  runs: RunSummary[];
  /** Every seed of the row, ascending. */
  seeds: number[];
  /** Number of finished seeds (those the statistics are over). */
  n: number;
  /** Mean final target mIoU (0–1) of the finished runs, NaN when none finished. */
  mean: number;
  /** Sample standard deviation (n − 1) of the finished runs' mIoU, NaN for fewer than two. */
  std: number;
  /** Mean per-class IoU (0–1) over the finished runs (null where no run defines it). */
  iou: Record<string, number | null>;
  /** Mean training time of the finished runs in seconds, undefined when unknown. */
  trainSeconds?: number;
  /** Mean temporal consistency (0–1) of the finished runs that report one. */
  temporalConsistency?: number;
  /** The finished runs' mIoU values (0–1) by ascending seed, what the statistics are over. */
  values: number[];
  /** Half-width of the 95% confidence interval of the mean (t, n − 1 dof); NaN below two. */
  ci95: number;
}

/** Options of {@link formatResultsTable}. */
export interface TableOptions {
  /** A `# title` line above the tables. */
  title?: string;
  /** The row (experiment name) the others are tested against (Welch's t-test, per-class Δ). */
  baseline?: string;
  /** Path of the bar chart, relative to the markdown, to reference below the tables. */
  chart?: string;
  /** Path of the per-class heat map, relative to the markdown, to reference below the tables. */
  heatmap?: string;
  /**
   * Rows that bound the adaptation gap, `floor` (source-only) and `ceiling` (target oracle): a
   * section gives each row's share of the gap closed, `(m − m_floor) / (m_ceiling − m_floor)`.
   */
  gap?: { floor: string; ceiling: string };
}

const RUN_DIR_NAME = /^([0-9a-f]{12})-s(\d+)$/;
const EXAMPLE = "runs/source_only/59dcf310459c-s0";

type EvalRecord = Extract<MetricsRecord, { type: "eval" }>;

/** The run directories directly inside `dir` (to suggest them when given an experiment folder). */
async function childRuns(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && RUN_DIR_NAME.test(entry.name)) names.push(entry.name);
    }
  } catch {
    // Unreadable: no suggestion.
  }
  return names.sort();
}

/**
 * The experiment name of a run directory: its parent's path relative to `runsRoot` when inside
 * it, else relative to the last `runs` folder on its path, else the parent's own name.
 */
export function experimentNameOf(dir: string, runsRoot = "runs"): string {
  const parent = dirname(resolve(dir));
  const rel = relative(resolve(runsRoot), parent);
  if (rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep)) return rel.split(sep).join("/");
  const parts = parent.split(sep);
  const at = parts.lastIndexOf("runs");
  if (at >= 0 && at < parts.length - 1) return parts.slice(at + 1).join("/");
  return basename(parent);
}

function notARunDir(dir: string, why: string): Error {
  return new Error(
    `${dir} is not a run directory: ${why}. A run directory is ` +
      `runs/<experiment>/<hash12>-s<seed>/ with experiment.yaml and metrics.jsonl, e.g. ${EXAMPLE}.`,
  );
}

/** The per-class IoU of an eval line by class name (also accepts a list indexed by trainId). */
function iouByClass(iou: unknown): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  CLASS_NAMES.forEach((name, i) => {
    const v = Array.isArray(iou)
      ? iou[i]
      : (typeof iou === "object" && iou !== null ? (iou as Record<string, unknown>)[name] : null);
    out[name] = typeof v === "number" && Number.isFinite(v) ? v : null;
  });
  return out;
}

/**
 * Reads what a table needs from one run directory. Throws an error naming the directory when it
 * is not a run directory (missing, misnamed, no or broken `experiment.yaml`, seed mismatch).
 */
export async function readRunSummary(dir: string, runsRoot = "runs"): Promise<RunSummary> {
  dir = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notARunDir(dir, "it does not exist");
    throw error;
  }
  if (!info.isDirectory) throw notARunDir(dir, "it is a file");
  const match = RUN_DIR_NAME.exec(basename(resolve(dir)));
  if (match === null) {
    const children = await childRuns(dir);
    throw notARunDir(
      dir,
      children.length > 0
        ? `it is an experiment folder holding the runs ${children.join(", ")}; give those ` +
          `(e.g. ${join(dir, children[0])}), one per seed`
        : `its name is not <hash12>-s<seed>`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "experiment.yaml"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw notARunDir(dir, "it has no experiment.yaml");
    throw error;
  }
  let run: Record<string, unknown> | undefined;
  try {
    const doc = parse(text) as Record<string, unknown> | null;
    const section = doc?.run;
    if (typeof section === "object" && section !== null) run = section as Record<string, unknown>;
  } catch (error) {
    throw notARunDir(dir, `its experiment.yaml is not valid YAML (${(error as Error).message})`);
  }
  const iterations = run?.iterations;
  if (typeof iterations !== "number" || !Number.isInteger(iterations) || iterations < 1) {
    throw notARunDir(dir, "its experiment.yaml has no run.iterations");
  }
  const seed = Number(match[2]);
  if (run?.seed !== seed) {
    throw new Error(
      `${dir}: the directory name says seed ${seed} but its experiment.yaml has run.seed ` +
        `${JSON.stringify(run?.seed)}; the directory was renamed or copied. Rename it back to ` +
        `${match[1]}-s${run?.seed} or leave it out.`,
    );
  }
  let done = 0;
  let final: EvalRecord | undefined;
  let trainSeconds = 0, windows = 0, previous = 0;
  for (const r of await readMetrics(dir)) {
    if (typeof r.iter !== "number") continue;
    done = Math.max(done, r.iter);
    if (r.type === "train") {
      if (r.itPerSec > 0 && r.iter > previous) {
        trainSeconds += (r.iter - previous) / r.itPerSec;
        windows++;
      }
      previous = r.iter;
    } else if (
      r.type === "eval" && r.set === "targetVal" && r.iter === iterations &&
      typeof r.mIoU === "number"
    ) {
      final = r; // The last one wins, should a run have logged its final evaluation twice.
    }
  }
  const finished = done >= iterations && final !== undefined;
  return {
    dir,
    name: experimentNameOf(dir, runsRoot),
    hash: match[1],
    seed,
    iterations,
    done,
    finished,
    ...(finished
      ? { mIoU: final!.mIoU, iou: iouByClass(final!.iou), protocol: String(final!.protocol) }
      : {}),
    ...(finished && typeof final!.temporalConsistency === "number"
      ? { temporalConsistency: final!.temporalConsistency }
      : {}),
    ...(windows > 0 ? { trainSeconds } : {}),
  };
}

/** Mean and sample standard deviation (n − 1; NaN below two values, both NaN for none). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2
    ? NaN
    : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std };
}

/**
 * Groups runs by (name, hash) in the order first given; statistics over the finished runs.
 * Throws when one seed of an experiment is given twice (two directories would be averaged).
 */
export function summarise(runs: readonly RunSummary[]): ResultRow[] {
  const groups = new Map<string, RunSummary[]>();
  for (const run of runs) {
    const key = `${run.name}\u0000${run.hash}`;
    const group = groups.get(key) ?? [];
    const twin = group.find((r) => r.seed === run.seed);
    if (twin !== undefined) {
      throw new Error(
        `seed ${run.seed} of ${run.name} (${run.hash}) is given twice: ${twin.dir} and ${run.dir}; ` +
          `give each run once.`,
      );
    }
    group.push(run);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.seed - b.seed);
    const finished = sorted.filter((r) => r.finished && r.mIoU !== undefined);
    const values = finished.map((r) => r.mIoU!);
    const { mean, std } = meanStd(values);
    const iou: Record<string, number | null> = {};
    for (const cls of CLASS_NAMES) {
      const values = finished.map((r) => r.iou?.[cls]).filter((v): v is number =>
        typeof v === "number" && Number.isFinite(v)
      );
      iou[cls] = values.length === 0 ? null : meanStd(values).mean;
    }
    const times = finished.map((r) => r.trainSeconds).filter((v): v is number => v !== undefined);
    const consistency = finished.map((r) => r.temporalConsistency)
      .filter((v): v is number => v !== undefined);
    return {
      name: group[0].name,
      hash: group[0].hash,
      runs: sorted,
      seeds: sorted.map((r) => r.seed),
      n: finished.length,
      mean,
      std,
      iou,
      values,
      ci95: ci95HalfWidth(std, values.length),
      ...(times.length > 0 ? { trainSeconds: meanStd(times).mean } : {}),
      ...(consistency.length > 0 ? { temporalConsistency: meanStd(consistency).mean } : {}),
    };
  });
}

/** A 0–1 value as a percentage with one decimal; "—" for null, undefined and NaN. */
export function percent(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : (100 * v).toFixed(1);
}

/** Seconds as `42 s`, `5.3 min` or `2.1 h`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const SHARED_NAME = "†";
const UNFINISHED = "‡";

/** Escapes what would break a table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

/**
 * The tables as markdown: target mIoU over seeds (one row per experiment, in the order of
 * `rows`), then the mean per-class IoU, then footnotes. Values are percentages with one decimal.
 */
export function formatResultsTable(
  rows: readonly ResultRow[],
  options: TableOptions = {},
): string {
  const lines: string[] = [];
  if (options.title !== undefined && options.title.trim() !== "") {
    lines.push(`# ${options.title.trim()}`, "");
  }
  const hashesOf = new Map<string, string[]>();
  for (const row of rows) hashesOf.set(row.name, [...(hashesOf.get(row.name) ?? []), row.hash]);
  const shared = (row: ResultRow) => hashesOf.get(row.name)!.length > 1;
  const label = (row: ResultRow) => cell(row.name) + (shared(row) ? ` ${SHARED_NAME}` : "");
  const seeds = [...new Set(rows.flatMap((r) => r.seeds))].sort((a, b) => a - b);
  const protocols = new Set(
    rows.flatMap((r) => r.runs.map((x) => x.protocol)).filter((p): p is string => p !== undefined),
  );
  const mixed = protocols.size > 1;
  const protocolOf = (row: ResultRow) =>
    [...new Set(row.runs.map((r) => r.protocol).filter((p) => p !== undefined))].join("/") || "—";
  const anyPartial = rows.some((r) => r.runs.some((x) => !x.finished));
  // Video rows: the share of pixels whose prediction agrees with the previous frame's, warped.
  const video = rows.some((r) => r.temporalConsistency !== undefined);

  lines.push(
    `Target mIoU (%) of the final evaluation (targetVal at the last iteration)` +
      (mixed ? "" : `, ${[...protocols][0] ?? "19"}-class protocol`) +
      `: mean ± sample standard deviation (n − 1) over the finished seeds ("—" for one seed), ` +
      `then each seed's value.`,
    "",
    `| experiment | hash | seeds | target mIoU |${mixed ? " protocol |" : ""}` +
      seeds.map((s) => ` s${s} |`).join("") + (video ? " temporal consistency |" : "") +
      " train time |",
    `|---|---|---:|---:|${mixed ? "---|" : ""}` + seeds.map(() => "---:|").join("") +
      (video ? "---:|" : "") + "---:|",
  );
  for (const row of rows) {
    const unfinished = row.runs.length - row.n;
    const perSeed = seeds.map((s) => {
      const run = row.runs.find((r) => r.seed === s);
      if (run === undefined) return "";
      return run.finished ? percent(run.mIoU) : `${UNFINISHED} ${run.done}/${run.iterations} it`;
    });
    lines.push(
      `| ${label(row)} | \`${row.hash}\` | ${row.n}${
        unfinished > 0 ? ` (+${unfinished} unfinished)` : ""
      } | ${percent(row.mean)} ± ${percent(row.std)} |${mixed ? ` ${protocolOf(row)} |` : ""}` +
        perSeed.map((v) => ` ${v} |`).join("") +
        (video ? ` ${percent(row.temporalConsistency)} |` : "") +
        ` ${duration(row.trainSeconds)} |`,
    );
  }

  const notes: string[] = [];
  const sharedNames = [...hashesOf].filter(([, hashes]) => hashes.length > 1);
  if (sharedNames.length > 0) {
    notes.push(
      `${SHARED_NAME} ` + sharedNames.map(([name, hashes]) =>
        `\`${name}\` appears with ${hashes.length} hashes (${
          hashes.map((h) => `\`${h}\``).join(", ")
        })`
      ).join("; ") +
        `: the experiment's definition changed between these runs, so each hash is a separate ` +
        `row and their seeds are never averaged together.`,
    );
  }
  if (video) {
    notes.push(
      `Temporal consistency: the share of target pixels whose final prediction equals the ` +
        `prediction of the previous frame carried along the flow (pixels with valid flow), mean ` +
        `over the finished seeds.`,
    );
  }
  if (anyPartial) {
    notes.push(
      `${UNFINISHED} Unfinished run (iterations done/asked); left out of the mean, the standard ` +
        `deviation and the per-class IoU. Resume it with \`deno task run\`.`,
    );
  }
  if (notes.length > 0) lines.push("", ...notes.flatMap((n, i) => (i === 0 ? [n] : ["", n])));

  const column = (row: ResultRow) => cell(row.name) + (shared(row) ? ` (\`${row.hash}\`)` : "");
  lines.push(
    "",
    `Per-class target IoU (%) of the final evaluation, mean over the finished seeds ` +
      `("—" where no seed defines the class):`,
    "",
    `| class |${rows.map((r) => ` ${column(r)} |`).join("")}`,
    `|---|${rows.map(() => "---:|").join("")}`,
  );
  for (const cls of CLASS_NAMES) {
    lines.push(`| ${cls} |${rows.map((r) => ` ${percent(r.iou[cls])} |`).join("")}`);
  }
  lines.push(...formatStatistics(rows, options));
  return lines.join("\n") + "\n";
}

/** The row named `baseline`; throws when there is none or the name has several hashes. */
export function baselineRow(rows: readonly ResultRow[], baseline: string): ResultRow {
  const matches = rows.filter((r) => r.name === baseline || `${r.name}@${r.hash}` === baseline);
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new Error(
      `--baseline ${baseline}: no such row; the rows are ${rows.map((r) => r.name).join(", ")}.`,
    );
  }
  throw new Error(
    `--baseline ${baseline}: ${matches.length} rows have that name (hashes ${
      matches.map((r) => r.hash).join(", ")
    }); name one as ${baseline}@<hash>.`,
  );
}

/** A signed percentage-point difference with one decimal (`+1.2`, `−0.4`); "—" for NaN. */
export function signedPoints(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const text = (100 * Math.abs(v)).toFixed(1);
  return text === "0.0" ? "±0.0" : `${v > 0 ? "+" : "−"}${text}`;
}

/** A p-value: three significant digits, `< 0.001` below that. */
export function pValue(p: number): string {
  return p < 0.001 ? "< 0.001" : p.toPrecision(3);
}

const SIGNIFICANT = "*";

/**
 * The statistics section: per row the 95% confidence interval of the mean and, with a
 * baseline, the difference to it and Welch's two-sided t-test (`*` where p < 0.05), then the
 * per-class differences to the baseline, then the chart reference.
 */
export function formatStatistics(rows: readonly ResultRow[], options: TableOptions): string[] {
  const base = options.baseline === undefined ? undefined : baselineRow(rows, options.baseline);
  const lines = [
    "",
    `Statistics of the target mIoU (%) over the finished seeds: mean ± sample standard deviation, ` +
    `the 95% confidence interval of the mean (Student's t with n − 1 degrees of freedom)` +
    (base === undefined
      ? "."
      : `, and against \`${cell(base.name)}\` the difference of means and the two-sided p-value ` +
        `of Welch's t-test (${SIGNIFICANT} where p < 0.05; "—" with fewer than two seeds on ` +
        `either side).`),
    "",
    `| experiment | hash | n | mean ± std | 95% CI |${
      base ? ` Δ vs ${cell(base.name)} | p |` : ""
    }`,
    `|---|---|---:|---:|---:|${base ? "---:|---:|" : ""}`,
  ];
  for (const row of rows) {
    const ci = Number.isFinite(row.ci95)
      ? `[${percent(row.mean - row.ci95)}, ${percent(row.mean + row.ci95)}]`
      : "—";
    let tail = "";
    if (base !== undefined) {
      if (row === base) tail = " baseline | |";
      else {
        const test = welchTTest(row.values, base.values);
        const p = test === undefined
          ? "—"
          : pValue(test.p) + (test.p < 0.05 ? ` ${SIGNIFICANT}` : "");
        tail = ` ${signedPoints(row.mean - base.mean)} | ${p} |`;
      }
    }
    lines.push(
      `| ${cell(row.name)} | \`${row.hash}\` | ${row.n} | ${percent(row.mean)} ± ${
        percent(row.std)
      } | ${ci} |${tail}`,
    );
  }
  if (base !== undefined) {
    const others = rows.filter((r) => r !== base);
    lines.push(
      "",
      `Per-class target IoU difference (percentage points) to \`${cell(base.name)}\`, means over ` +
        `the finished seeds:`,
      "",
      `| class |${others.map((r) => ` ${cell(r.name)} |`).join("")}`,
      `|---|${others.map(() => "---:|").join("")}`,
    );
    for (const cls of CLASS_NAMES) {
      const deltas = others.map((r) => {
        const a = r.iou[cls], b = base.iou[cls];
        return a === null || b === null ? "—" : signedPoints(a - b);
      });
      lines.push(`| ${cls} |${deltas.map((d) => ` ${d} |`).join("")}`);
    }
  }
  if (options.gap !== undefined) lines.push(...formatGap(rows, options.gap));
  if (options.chart !== undefined) {
    lines.push("", `![Target mIoU, mean and 95% confidence interval](${options.chart})`);
  }
  if (options.heatmap !== undefined) {
    lines.push("", `![Per-class target IoU (%), mean over seeds](${options.heatmap})`);
  }
  return lines;
}

/**
 * The gap section: the floor's mIoU as a share of the ceiling's (the real GTA→Cityscapes
 * benchmark's source-only reaches about 45% of its oracle), then for each row the share of the
 * floor → ceiling gap it closes.
 */
export function formatGap(
  rows: readonly ResultRow[],
  gap: { floor: string; ceiling: string },
): string[] {
  const floor = gapRow(rows, gap.floor, "floor");
  const ceiling = gapRow(rows, gap.ceiling, "ceiling");
  const width = ceiling.mean - floor.mean;
  const share = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : "—");
  const lines = [
    "",
    `The adaptation gap: \`${cell(floor.name)}\` reaches ${share(floor.mean / ceiling.mean)} of ` +
    `\`${cell(ceiling.name)}\`'s mean target mIoU; each row's share of the gap between them ` +
    `closed, (m − m_${cell(floor.name)}) / (m_${cell(ceiling.name)} − m_${cell(floor.name)}), ` +
    `from the means over seeds:`,
    "",
    "| experiment | target mIoU | gap closed |",
    "|---|---:|---:|",
  ];
  for (const row of rows) {
    const closed = width > 0 ? (row.mean - floor.mean) / width : NaN;
    lines.push(`| ${cell(row.name)} | ${percent(row.mean)} | ${share(closed)} |`);
  }
  return lines;
}

function gapRow(rows: readonly ResultRow[], name: string, role: string): ResultRow {
  try {
    return baselineRow(rows, name);
  } catch (error) {
    throw new Error((error as Error).message.replaceAll("--baseline", `--gap (${role})`));
  }
}
