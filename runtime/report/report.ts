/**
 * `report.md` of a finished run: the headline numbers, loss / learning-rate / mIoU curves as
 * SVG (drawn from `metrics.jsonl`, so a resumed run's report equals an uninterrupted one's), the
 * per-class IoU table of the final evaluation, and `image | label | prediction` pictures of the
 * first target validation images.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { writePredictionStrip } from "../eval/colourise.ts";
import type { Program } from "../compile/program.ts";
import type { EvalResult, EvalSet } from "../eval/evaluate.ts";
import { type MetricsRecord, readMetrics } from "./metrics_log.ts";
import { drawnFigures } from "./figures.ts";
import { type ChartOptions, lineChart, type Series } from "./svg.ts";

/** What the report is made from. */
export interface ReportInput {
  /** The run directory (the report and its files go there). */
  runDir: string;
  /** The experiment's name. */
  name: string;
  /** The program that ran. */
  program: Program;
  /** The final evaluation by set. */
  evaluation: Record<string, EvalResult>;
  /** The validation sets (for the pictures). */
  evalSets: EvalSet[];
}

/** A percentage with one decimal, or `–` for an undefined value. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "–"
    : (100 * value).toFixed(1);
}

/** The per-class IoU table (classes as rows, sets as columns) in markdown. */
export function iouTable(evaluation: Record<string, EvalResult>): string {
  const sets = Object.keys(evaluation);
  if (sets.length === 0) return "(no evaluation)\n";
  const classes = Object.keys(evaluation[sets[0]].metrics.iou);
  const lines = [
    `| class | ${sets.join(" | ")} |`,
    `| --- | ${sets.map(() => "---:").join(" | ")} |`,
    ...classes.map((c) =>
      `| ${c} | ${sets.map((s) => percent(evaluation[s].metrics.iou[c])).join(" | ")} |`
    ),
    `| **mIoU** | ${sets.map((s) => `**${percent(evaluation[s].metrics.mIoU)}**`).join(" | ")} |`,
  ];
  return lines.join("\n") + "\n";
}

/** One line per name that `pick` gives for the records of `type`, in iteration order. */
function seriesOf<T extends MetricsRecord["type"]>(
  records: MetricsRecord[],
  type: T,
  pick: (r: MetricsRecord & { type: T }) => Record<string, number | null>,
): Series[] {
  const series = new Map<string, [number, number][]>();
  for (const r of records) {
    if (r.type !== type) continue;
    for (const [k, v] of Object.entries(pick(r as MetricsRecord & { type: T }))) {
      if (v === null) continue;
      if (!series.has(k)) series.set(k, []);
      series.get(k)!.push([r.iter, v]);
    }
  }
  return [...series].map(([name, points]) => ({ name, points }));
}

/** The report's section of the modules' figures, one sub-section each, by iteration. */
function figureSection(figures: Awaited<ReturnType<typeof drawnFigures>>): string[] {
  return figures.filter((f) => f.files.length > 0).flatMap((f) => [
    `## ${f.name} (${f.caption})`,
    "",
    ...f.files.flatMap((file) => [
      `iteration ${Number(/_(\d+)\.(png|svg)$/.exec(file)![1])}:`,
      "",
      `![${f.name}](${file})`,
      "",
    ]),
  ]);
}

/** Writes `report.md`, `plots/*.svg` and `pictures/*.png` into the run directory. */
export async function writeReport(input: ReportInput): Promise<string> {
  const { runDir, program } = input;
  const records = await readMetrics(runDir);
  await Deno.mkdir(join(runDir, "plots"), { recursive: true });
  const losses = seriesOf(records, "train", (r) => ({ total: r.loss, ...r.losses }));
  const rates = seriesOf(records, "train", (r) => r.lr);
  const mIoU = seriesOf(records, "eval", (r) => ({ [r.set]: 100 * r.mIoU }));
  // Which classes are learnt, and when: the target's per-class IoU at each evaluation.
  const classIoU = seriesOf(
    records,
    "eval",
    (r) =>
      r.set !== "targetVal" ? {} : Object.fromEntries(
        Object.entries(r.iou).map(([k, v]) => [k, v === null ? null : 100 * v]),
      ),
  );
  const xLabel = "iteration";
  const charts: Record<string, ChartOptions> = {
    loss: { title: "Training loss", xLabel, yLabel: "loss", series: losses, logY: true },
    miou: {
      title: `mIoU (${program.evaluation.settings.protocol} classes)`,
      xLabel,
      yLabel: "mIoU (%)",
      series: mIoU,
      yMin: 0,
    },
    class_iou: {
      title: "Target IoU per class",
      xLabel,
      yLabel: "IoU (%)",
      series: classIoU,
      yMin: 0,
    },
    lr: { title: "Learning rate (base group)", xLabel, yLabel: "lr", series: rates },
  };
  // The modules' own metric charts (PiPa's positive and negative similarities), by chart name.
  const moduleCharts = new Map<string, { title: string; logAs: string[] }>();
  for (const m of program.metrics) {
    if (m.chart === undefined) continue;
    const chart = moduleCharts.get(m.chart.name) ?? { title: m.chart.title, logAs: [] };
    chart.logAs.push(m.logAs);
    moduleCharts.set(m.chart.name, chart);
    charts[m.chart.name] ??= { title: m.chart.title, xLabel, yLabel: m.chart.yLabel, series: [] };
  }
  for (const [name, chart] of moduleCharts) {
    charts[name].series = seriesOf(
      records,
      "train",
      (r) =>
        Object.fromEntries(chart.logAs.map((key) => {
          const v = (r as unknown as Record<string, unknown>)[key];
          return [key, typeof v === "number" && Number.isFinite(v) ? v : null];
        })),
    );
  }
  for (const [name, chart] of Object.entries(charts)) {
    await writeFileAtomic(join(runDir, "plots", `${name}.svg`), lineChart(chart));
  }

  const pictures: string[] = [];
  let pictureCaption = "";
  const target = input.evalSets.find((s) => s.role === "targetVal");
  const predictions = input.evaluation.targetVal?.predictions ?? [];
  if (target !== undefined && predictions.length > 0) {
    await Deno.mkdir(join(runDir, "pictures"), { recursive: true });
    const maps = input.evaluation.targetVal?.maps ?? [];
    for (let k = 0; k < predictions.length; k++) {
      const x = target.images[k];
      const file = `pictures/targetVal_${k}.png`;
      await writePredictionStrip(
        join(runDir, file),
        x.image,
        x.label,
        predictions[k],
        x.width,
        x.height,
        Object.values(maps[k] ?? {}),
      );
      pictures.push(`![${x.name}](${file})`);
    }
    const names = Object.keys(maps[0] ?? {});
    if (names.length > 0) pictureCaption = `, ${names.join(", ")}`;
  }

  const trains = records.filter((r) => r.type === "train");
  const speed = trains.length > 0
    ? trains.reduce((a, r) => a + (r.type === "train" ? r.itPerSec : 0), 0) / trains.length
    : NaN;
  const headline = Object.entries(input.evaluation).map(([set, r]) =>
    `- **${set}** mIoU (${r.metrics.protocol} classes): **${percent(r.metrics.mIoU)}**, ` +
    `pixel accuracy ${percent(r.metrics.aAcc)}` +
    (r.consistency
      ? `, temporal consistency ${percent(r.consistency.result(r.metrics.protocol).share)} ` +
        `(pixels whose prediction agrees with frame t−k's warped by the flow)`
      : "")
  );
  const gap = input.evaluation.sourceVal && input.evaluation.targetVal
    ? [
      `- domain gap (sourceVal − targetVal): ${
        (100 * (input.evaluation.sourceVal.metrics.mIoU - input.evaluation.targetVal.metrics.mIoU))
          .toFixed(1)
      } points`,
    ]
    : [];
  const text = [
    `# ${input.name}`,
    "",
    `Experiment \`${program.hash.slice(0, 12)}\`, seed ${program.seed}, backend ` +
    `${program.backend}, ${program.iterations} iterations ` +
    `(mean ${Number.isFinite(speed) ? speed.toFixed(2) : "–"} it/s). ` +
    `The full definition is in [experiment.yaml](experiment.yaml); every logged number is in ` +
    `[metrics.jsonl](metrics.jsonl).`,
    "",
    "## Results",
    "",
    ...headline,
    ...gap,
    "",
    "## Curves",
    "",
    "![loss](plots/loss.svg)",
    "",
    "![mIoU](plots/miou.svg)",
    "",
    "![target IoU per class](plots/class_iou.svg)",
    "",
    "![learning rate](plots/lr.svg)",
    "",
    ...[...moduleCharts].flatMap(([name, chart]) => [`![${chart.title}](plots/${name}.svg)`, ""]),
    "## Per-class IoU (%) at the end",
    "",
    iouTable(input.evaluation),
    `## Predictions (image | label | prediction${pictureCaption.replaceAll(", ", " | ")})`,
    "",
    ...(pictures.length > 0 ? pictures.flatMap((p) => [p, ""]) : ["(none requested)", ""]),
    ...figureSection(await drawnFigures(input.program, runDir)),
  ].join("\n");
  const path = join(runDir, "report.md");
  await writeFileAtomic(path, text);
  return path;
}
