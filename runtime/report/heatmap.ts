/**
 * SVG heat maps: a grid of labelled cells, each shaded by its value. Two users: the per-class IoU
 * of a results table (one column per results row, one line per class; what separates benchmark
 * settings and methods is mostly per class, so `docs/benchmark.md` and `docs/results.md` show it
 * beside the mIoU bars), and square class × class matrices a report draws (PiPa's per-class
 * similarity of embeddings). Deterministic text, like the bar chart.
 *
 * @module
 */
import { CLASS_NAMES } from "../data/labels.ts";
import type { ResultRow } from "./results.ts";

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A white-to-blue shade for `t` in [0, 1]; grey where undefined. */
function shade(t: number | null): string {
  if (t === null || !Number.isFinite(t)) return "#dddddd";
  const clamped = Math.max(0, Math.min(1, t));
  const channel = (from: number, to: number) => Math.round(from + (to - from) * clamped);
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  return `#${hex(channel(255, 31))}${hex(channel(255, 80))}${hex(channel(255, 160))}`;
}

/** One line of a heat map. */
export interface HeatmapLine {
  /** Its label, left of the cells. */
  name: string;
  /** One value per column; null where undefined. */
  values: readonly (number | null)[];
  /** Bold label (a summary line). */
  bold?: boolean;
}

/** How a heat map's values become shades and labels. */
export interface HeatmapScale {
  /** The value's shade position in [0, 1]. */
  position(value: number): number;
  /** The cell's text. */
  label(value: number): string;
}

/** A heat map as an SVG document: `columns` across (labels rotated), `lines` down. */
export function heatmap(
  columns: readonly string[],
  lines: readonly HeatmapLine[],
  scale: HeatmapScale,
): string {
  const cellW = 64, cellH = 18, left = 96, top = 120;
  const width = left + columns.length * cellW + 8;
  const height = top + lines.length * cellH + 8;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
  ];
  columns.forEach((name, i) => {
    const x = left + i * cellW + cellW / 2;
    const y = top - 6;
    out.push(`<text x="${x}" y="${y}" transform="rotate(-40 ${x} ${y})">${escape(name)}</text>`);
  });
  lines.forEach((line, j) => {
    const y = top + j * cellH;
    out.push(
      `<text x="${left - 6}" y="${y + 13}" text-anchor="end"${
        line.bold ? ' font-weight="bold"' : ""
      }>${escape(line.name)}</text>`,
    );
    columns.forEach((_, i) => {
      const raw = line.values[i] ?? null;
      const v = raw !== null && Number.isFinite(raw) ? raw : null;
      const position = v === null ? null : scale.position(v);
      const x = left + i * cellW;
      out.push(
        `<rect x="${x}" y="${y}" width="${cellW - 2}" height="${cellH - 2}" fill="${
          shade(position)
        }"/>`,
        `<text x="${x + cellW / 2 - 1}" y="${y + 13}" text-anchor="middle" fill="${
          position !== null && position > 0.55 ? "#ffffff" : "#000000"
        }">${v === null ? "—" : scale.label(v)}</text>`,
      );
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** IoU in [0, 1], labelled in percent. */
const IOU_SCALE: HeatmapScale = { position: (v) => v, label: (v) => (100 * v).toFixed(1) };

/** The per-class IoU heat map of results rows (a line per class, then the mIoU in bold). */
export function classHeatmap(rows: readonly ResultRow[]): string {
  const lines: HeatmapLine[] = [
    ...CLASS_NAMES.map((name) => ({ name, values: rows.map((r) => r.iou[name] ?? null) })),
    {
      name: "mIoU",
      bold: true,
      values: rows.map((r) => (Number.isFinite(r.mean) ? r.mean : null)),
    },
  ];
  return heatmap(rows.map((r) => r.name), lines, IOU_SCALE);
}

/**
 * A class × class matrix of cosine similarities in [−1, 1] (white at 0 or below, darkest at 1),
 * labelled to two decimals; `names` label both the lines and the columns.
 */
export function similarityHeatmap(
  names: readonly string[],
  matrix: readonly (readonly (number | null)[])[],
): string {
  return heatmap(
    names,
    names.map((name, i) => ({ name, values: matrix[i] })),
    { position: (v) => v, label: (v) => v.toFixed(2) },
  );
}
