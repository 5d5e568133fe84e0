/**
 * An SVG heat map of per-class IoU: one column per results row, one line per class, each cell
 * shaded by its IoU and labelled with it. What separates benchmark settings and methods is
 * mostly per class (which small classes a method learns at all), so this is the picture of a
 * results table that `docs/benchmark.md` and `docs/results.md` show beside the mIoU bars.
 * Deterministic text, like the bar chart.
 *
 * @module
 */
import { CLASS_NAMES } from "../data/labels.ts";
import type { ResultRow } from "./results.ts";

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A white-to-blue shade for an IoU in [0, 1]; grey where undefined. */
function shade(iou: number | null): string {
  if (iou === null || !Number.isFinite(iou)) return "#dddddd";
  const t = Math.max(0, Math.min(1, iou));
  const channel = (from: number, to: number) => Math.round(from + (to - from) * t);
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  return `#${hex(channel(255, 31))}${hex(channel(255, 80))}${hex(channel(255, 160))}`;
}

/** The heat map as an SVG document. */
export function classHeatmap(rows: readonly ResultRow[]): string {
  const cellW = 64, cellH = 18, left = 96, top = 120;
  const width = left + rows.length * cellW + 8;
  const height = top + (CLASS_NAMES.length + 1) * cellH + 8;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
  ];
  rows.forEach((row, i) => {
    const x = left + i * cellW + cellW / 2;
    const y = top - 6;
    out.push(
      `<text x="${x}" y="${y}" transform="rotate(-40 ${x} ${y})">${escape(row.name)}</text>`,
    );
  });
  const lines = [...CLASS_NAMES.map((name) => ({ name, value: (r: ResultRow) => r.iou[name] })), {
    name: "mIoU",
    value: (r: ResultRow) => (Number.isFinite(r.mean) ? r.mean : null),
  }];
  lines.forEach((line, j) => {
    const y = top + j * cellH;
    out.push(
      `<text x="${left - 6}" y="${y + 13}" text-anchor="end"${
        line.name === "mIoU" ? ' font-weight="bold"' : ""
      }>${escape(line.name)}</text>`,
    );
    rows.forEach((row, i) => {
      const v = line.value(row) ?? null;
      const x = left + i * cellW;
      const label = v === null ? "—" : (100 * v).toFixed(1);
      out.push(
        `<rect x="${x}" y="${y}" width="${cellW - 2}" height="${cellH - 2}" fill="${shade(v)}"/>`,
        `<text x="${x + cellW / 2 - 1}" y="${y + 13}" text-anchor="middle" fill="${
          v !== null && v > 0.55 ? "#ffffff" : "#000000"
        }">${label}</text>`,
      );
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
