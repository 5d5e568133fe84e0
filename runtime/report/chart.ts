/**
 * An SVG bar chart of a results table: one bar per row (mean target mIoU) with an error bar over
 * the 95% confidence interval of the mean. Plain SVG text, no dependency, stable for the same
 * rows, so a regenerated `docs/` diff shows only real changes.
 *
 * @module
 */
import type { ResultRow } from "./results.ts";

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The chart as an SVG document. */
export function resultsChart(rows: readonly ResultRow[]): string {
  const bar = 48, gap = 24, left = 48, top = 16, height = 200, bottom = 96;
  const width = left + rows.length * (bar + gap) + gap;
  const top100 = Math.max(
    0.05,
    ...rows.map((r) =>
      (Number.isFinite(r.mean) ? r.mean : 0) + (Number.isFinite(r.ci95) ? r.ci95 : 0)
    ),
  );
  // Round the axis up to the next 10 percentage points.
  const max = Math.min(1, Math.ceil(top100 * 10) / 10);
  const y = (v: number) => top + height - (Math.max(0, v) / max) * height;
  const f = (v: number) => v.toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + height + bottom}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + height}" stroke="#000"/>`,
    `<line x1="${left}" y1="${top + height}" x2="${width}" y2="${top + height}" stroke="#000"/>`,
  ];
  for (let t = 0; t <= max + 1e-9; t += max / 5) {
    out.push(
      `<text x="${left - 4}" y="${f(y(t) + 4)}" text-anchor="end">${(100 * t).toFixed(0)}</text>`,
    );
  }
  out.push(
    `<text x="12" y="${top + height / 2}" transform="rotate(-90 12 ${top + height / 2})" ` +
      `text-anchor="middle">target mIoU (%)</text>`,
  );
  rows.forEach((row, i) => {
    const x = left + gap + i * (bar + gap);
    const cx = x + bar / 2;
    if (Number.isFinite(row.mean)) {
      out.push(
        `<rect x="${x}" y="${f(y(row.mean))}" width="${bar}" height="${
          f(top + height - y(row.mean))
        }" fill="#4c78a8"><title>${escape(row.name)}: ${
          (100 * row.mean).toFixed(1)
        }</title></rect>`,
      );
    }
    if (Number.isFinite(row.ci95)) {
      const lo = f(y(row.mean - row.ci95)), hi = f(y(row.mean + row.ci95));
      out.push(
        `<line x1="${cx}" y1="${lo}" x2="${cx}" y2="${hi}" stroke="#000"/>`,
        `<line x1="${cx - 8}" y1="${lo}" x2="${cx + 8}" y2="${lo}" stroke="#000"/>`,
        `<line x1="${cx - 8}" y1="${hi}" x2="${cx + 8}" y2="${hi}" stroke="#000"/>`,
      );
    }
    const ty = top + height + 12;
    out.push(
      `<text x="${cx}" y="${ty}" transform="rotate(30 ${cx} ${ty})">${escape(row.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
