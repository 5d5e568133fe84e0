/**
 * Deterministic SVG line charts for `report.md`. The same input always gives byte-identical
 * output — every number goes through one fixed formatter and nothing reads a clock or a random
 * source — so regenerated reports diff cleanly and can be checked into a repository.
 *
 * @module
 */

/** One line of a chart: `[x, y]` points in drawing order. */
export interface Series {
  /** Legend text. */
  name: string;
  /** Points; a point with a non-finite coordinate (or y ≤ 0 on a log axis) breaks the line. */
  points: ReadonlyArray<readonly [number, number]>;
}

/** What to draw and how. */
export interface ChartOptions {
  /** Chart title, drawn above the plot. */
  title: string;
  /** Label under the x axis. */
  xLabel: string;
  /** Label beside the y axis. */
  yLabel: string;
  /** The lines, coloured in order from a fixed colour-blind-safe cycle. */
  series: readonly Series[];
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 320). */
  height?: number;
  /** Log-scaled y axis with decade ticks; non-positive values are not drawn. */
  logY?: boolean;
  /** Fixed lower y bound (otherwise the data minimum, rounded down to a tick). */
  yMin?: number;
  /** Fixed upper y bound (otherwise the data maximum, rounded up to a tick). */
  yMax?: number;
}

// Okabe–Ito, reordered so that the low-contrast yellow comes last and black (axes) is not first.
const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
];

/** Escapes `& < > "` (and `'`) for use in SVG text and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** `m × 10^e` computed as one correctly rounded operation, so 3 × 0.1 prints as 0.3. */
function scaled(m: number, e: number): number {
  return e >= 0 ? m * 10 ** e : m / 10 ** -e;
}

/**
 * "Nice" tick values (1, 2 or 5 × 10^k apart) covering `[min, max]`: the first tick is at or
 * below `min`, the last at or above `max`, with about `target` intervals between them.
 * A degenerate range is widened around its value first.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error("niceTicks: bad range");
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) / 2;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / Math.max(1, target);
  let e = Math.floor(Math.log10(raw));
  // Math.log10 may land a hair off for exact powers of ten; correct it both ways.
  if (scaled(1, e + 1) <= raw) e++;
  if (scaled(1, e) > raw) e--;
  const f = raw / scaled(1, e);
  let m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  if (m === 10) [m, e] = [1, e + 1];
  const step = scaled(m, e);
  // The epsilon keeps 0.6 / 0.2 = 2.9999999999999996 from adding a tick below 0.6.
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(scaled(k * m, e) || 0); // `|| 0`: no "-0"
  return ticks;
}

/**
 * Log-axis ticks covering `[min, max]` (both > 0): powers of ten from the decade at or below
 * `min` to the one at or above `max`; 1-2-5 steps within each decade when the range spans at
 * most two decades, and every n-th power when it spans more than eight.
 */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) {
    throw new Error("logTicks: bounds must be positive and finite");
  }
  if (min > max) [min, max] = [max, min];
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (scaled(1, lo) > min) lo--;
  if (scaled(1, hi) < max) hi++;
  if (scaled(1, lo + 1) <= min) lo++;
  if (scaled(1, hi - 1) >= max) hi--;
  if (hi === lo) hi++;
  const ticks: number[] = [];
  if (hi - lo <= 2) {
    for (let e = lo; e < hi; e++) for (const m of [1, 2, 5]) ticks.push(scaled(m, e));
    ticks.push(scaled(1, hi));
  } else {
    // Past eight decades the labels would collide; the top tick moves up to stay on the stride.
    const stride = Math.ceil((hi - lo) / 8);
    for (let e = lo; e < hi + stride; e += stride) ticks.push(scaled(1, e));
  }
  return ticks;
}

/** Pixel coordinates: two decimals, no "-0", clamped so off-chart points stay plain numbers. */
function px(x: number): string {
  const r = Math.round(Math.min(1e6, Math.max(-1e6, x)) * 100) / 100;
  return String(r === 0 ? 0 : r);
}

/** Tick labels: up to six significant digits, exponent form for very small or large values. */
function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) {
    const [mantissa, exponent] = v.toExponential(5).split("e");
    return `${String(Number(mantissa))}e${Number(exponent)}`;
  }
  return String(Number(v.toPrecision(6)));
}

/** Smallest and largest of `values` (a loop: spreading 10^6 points into Math.min overflows). */
function extent(values: readonly number[]): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

/** FNV-1a, for a clip-path id that stays stable for a chart yet differs between charts. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** Splits a series into runs of drawable points; anything undrawable ends the current run. */
function segments(points: Series["points"], logY: boolean): Array<Array<[number, number]>> {
  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  for (const [x, y] of points) {
    if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) {
      run.push([x, y]);
    } else if (run.length) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length) runs.push(run);
  return runs;
}

/** A complete standalone SVG document with a line chart of `options.series`. */
export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 320;
  if (!(width > 0 && height > 0)) throw new Error("lineChart: width and height must be positive");
  const logY = options.logY ?? false;
  const runs = options.series.map((s) => segments(s.points, logY));
  const all = runs.flat(2);
  const noData = all.length === 0;

  // Legend to the right of the plot, sized from the longest name so short names waste no room.
  const longest = Math.max(0, ...options.series.map((s) => s.name.length));
  const legendWidth = options.series.length ? Math.min(200, Math.round(36 + 6.5 * longest)) : 0;
  const top = 34;
  const bottom = height - 42;
  const plotH = Math.max(1, bottom - top);

  // Explicit bounds are honoured exactly (ticks outside them dropped); data bounds are rounded
  // outwards to ticks so the curve never touches the frame at an arbitrary value.
  const [yLo, yHi] = extent(all.map((p) => p[1]));
  const explicitMin = options.yMin !== undefined && (!logY || options.yMin > 0);
  const explicitMax = options.yMax !== undefined && (!logY || options.yMax > 0);
  let lo = explicitMin ? options.yMin! : noData ? (logY ? 1 : 0) : yLo;
  let hi = explicitMax ? options.yMax! : noData ? (logY ? 10 : 1) : yHi;
  if (lo > hi) [lo, hi] = [hi, lo];
  let yTicks = logY ? logTicks(lo, hi) : niceTicks(lo, hi, Math.max(2, Math.round(plotH / 50)));
  let [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  if (explicitMin && lo < hi) y0 = lo;
  if (explicitMax && lo < hi) y1 = hi;
  const slack = (y1 - y0) * 1e-9;
  yTicks = yTicks.filter((t) => t >= y0 - slack && t <= y1 + slack);

  // The left margin grows with the widest y tick label so it never runs into the axis label.
  const widestY = Math.max(0, ...yTicks.map((t) => tickLabel(t).length));
  const left = Math.max(48, Math.round(30 + 6.5 * widestY));
  const right = width - 16 - legendWidth;
  const plotW = Math.max(1, right - left);

  const [xLo, xHi] = extent(all.map((p) => p[0]));
  const xTicks = noData
    ? niceTicks(0, 1)
    : niceTicks(xLo, xHi, Math.max(2, Math.round(plotW / 90)));
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const ty = (v: number): number => logY ? Math.log10(v) : v;
  const [ty0, ty1] = [ty(y0), ty(y1)];

  const sx = (x: number): number => left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number): number => bottom - ((ty(y) - ty0) / (ty1 - ty0)) * plotH;
  const clipId = `plot-${fnv1a(JSON.stringify([options.title, options.xLabel, options.yLabel]))}`;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" ` +
      `viewBox="0 0 ${px(width)} ${px(height)}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${px(width)}" height="${px(height)}" fill="#ffffff"/>`);
  out.push(
    `<text x="${px((left + right) / 2)}" y="20" text-anchor="middle" font-size="14" ` +
      `font-weight="bold">${escapeXml(options.title)}</text>`,
  );

  out.push(`<g stroke="#e5e5e5" stroke-width="1">`);
  for (const t of xTicks) {
    out.push(`<line x1="${px(sx(t))}" y1="${px(top)}" x2="${px(sx(t))}" y2="${px(bottom)}"/>`);
  }
  for (const t of yTicks) {
    out.push(`<line x1="${px(left)}" y1="${px(sy(t))}" x2="${px(right)}" y2="${px(sy(t))}"/>`);
  }
  out.push(`</g>`);

  out.push(`<g stroke="#333333" stroke-width="1">`);
  out.push(`<line x1="${px(left)}" y1="${px(bottom)}" x2="${px(right)}" y2="${px(bottom)}"/>`);
  out.push(`<line x1="${px(left)}" y1="${px(top)}" x2="${px(left)}" y2="${px(bottom)}"/>`);
  for (const t of xTicks) {
    out.push(
      `<line x1="${px(sx(t))}" y1="${px(bottom)}" x2="${px(sx(t))}" y2="${px(bottom + 4)}"/>`,
    );
  }
  for (const t of yTicks) {
    out.push(`<line x1="${px(left - 4)}" y1="${px(sy(t))}" x2="${px(left)}" y2="${px(sy(t))}"/>`);
  }
  out.push(`</g>`);

  out.push(`<g fill="#333333">`);
  for (const t of xTicks) {
    out.push(
      `<text x="${px(sx(t))}" y="${px(bottom + 16)}" text-anchor="middle">${
        escapeXml(tickLabel(t))
      }</text>`,
    );
  }
  for (const t of yTicks) {
    out.push(
      `<text x="${px(left - 7)}" y="${px(sy(t))}" dy="0.32em" text-anchor="end">${
        escapeXml(tickLabel(t))
      }</text>`,
    );
  }
  out.push(
    `<text x="${px((left + right) / 2)}" y="${px(height - 8)}" text-anchor="middle">${
      escapeXml(options.xLabel)
    }</text>`,
  );
  const midY = px((top + bottom) / 2);
  out.push(
    `<text x="14" y="${midY}" text-anchor="middle" transform="rotate(-90 14 ${midY})">${
      escapeXml(options.yLabel)
    }</text>`,
  );
  out.push(`</g>`);

  if (noData) {
    out.push(
      `<text x="${px((left + right) / 2)}" y="${px((top + bottom) / 2)}" dy="0.32em" ` +
        `text-anchor="middle" font-size="14" fill="#777777">no data</text>`,
    );
  } else {
    out.push(
      `<defs><clipPath id="${clipId}"><rect x="${px(left)}" y="${px(top)}" ` +
        `width="${px(plotW)}" height="${px(plotH)}"/></clipPath></defs>`,
    );
    out.push(`<g clip-path="url(#${clipId})" fill="none" stroke-width="1.5">`);
    runs.forEach((seriesRuns, i) => {
      const colour = PALETTE[i % PALETTE.length];
      for (const run of seriesRuns) {
        const pts = run.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(" ");
        out.push(`<polyline stroke="${colour}" points="${pts}"/>`);
        // A lone point makes an invisible polyline; a dot keeps it on the chart.
        if (run.length === 1) {
          const [x, y] = run[0];
          out.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="2" fill="${colour}"/>`);
        }
      }
    });
    out.push(`</g>`);
  }

  if (options.series.length) {
    out.push(`<g>`);
    options.series.forEach((s, i) => {
      const y = top + 8 + 16 * i;
      const x = right + 12;
      const colour = PALETTE[i % PALETTE.length];
      out.push(
        `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 18)}" y2="${px(y)}" ` +
          `stroke="${colour}" stroke-width="2"/>`,
      );
      out.push(
        `<text x="${px(x + 24)}" y="${px(y)}" dy="0.32em" fill="#333333">${
          escapeXml(s.name)
        }</text>`,
      );
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
