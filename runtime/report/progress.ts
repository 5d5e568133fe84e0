/**
 * Training progress output: a single self-redrawing status line on a terminal, and plain
 * periodic lines everywhere else (CI logs, `nohup` files), where carriage returns and escape
 * codes would turn into garbage.
 *
 * @module
 */

/** How a {@link Progress} reports and what it measures against. */
export interface ProgressOptions {
  /** Iteration count at which training ends. */
  total: number;
  /** First iteration of this process (a resumed run's checkpoint iteration); default 0. */
  start?: number;
  /** Redraw one line in place (true) or print plain lines (false). */
  terminal: boolean;
  /** Receives the text to output, newlines and control codes included. */
  write: (text: string) => void;
  /** Plain mode: print a line every this many iterations (and at the last); default 50. */
  every?: number;
  /** Millisecond clock; default `performance.now`. */
  now?: () => number;
  /** Cells in the terminal progress bar; default 24. */
  width?: number;
}

/** Seconds as `45s`, `6m05s` or `2h03m` (rounded to the second); `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number): string => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

/** `x` to `digits` significant digits without trailing zeros; exponent form when tiny or huge. */
function formatSignificant(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  // Decide on the rounded value, so 99999.7 becomes 1e5 rather than "100000".
  const rounded = Number(x.toPrecision(digits));
  const a = Math.abs(rounded);
  if (a < 1e-3 || a >= 1e5) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
    return `${String(Number(mantissa))}e${Number(exponent)}`;
  }
  return String(rounded);
}

/**
 * A metric value to 4 significant digits (`0.532`, `1234`), exponent form below 1e-3 or from
 * 1e5 on (`5.9e-5`, `1.235e5`), `nan` / `inf` / `-inf` for non-finite values.
 */
export function formatNumber(x: number): string {
  return formatSignificant(x, 4);
}

// The rate is the slope over a sliding window of recent samples rather than since `start` or
// an EMA of per-iteration speeds: the first iterations of a run include kernel compilation and
// data-loader warm-up, which would bias an all-time average for hours, while an EMA over
// per-call rates is dominated by timer jitter when updates come every few milliseconds. A
// window of wall time reacts to real speed changes within half a minute and stays exact for a
// steady run; the oldest kept sample of a fresh process is (start, construction time), so a
// resumed run counts only the iterations this process did.
const RATE_WINDOW_MS = 30_000;
// Samples are kept at most this often, bounding the window to ~120 entries at any speed.
const SAMPLE_EVERY_MS = 250;
const REDRAW_EVERY_MS = 200;

/** Prints training progress: iteration count, speed, time left and the latest metrics. */
export class Progress {
  private readonly total: number;
  private readonly terminal: boolean;
  private readonly write: (text: string) => void;
  private readonly every: number;
  private readonly now: () => number;
  private readonly width: number;
  /** `[ms, iteration]` pairs, oldest first; the first one is always at or before the window. */
  private readonly samples: Array<[number, number]>;
  private lastDraw = -Infinity;
  private lastPrinted: number;
  /** The latest update not yet shown, with its time: finish() reports it as of then. */
  private pending:
    | { t: number; iteration: number; fields: Readonly<Record<string, number>> }
    | undefined;
  private lineOpen = false;
  private finished = false;

  /** Starts the clock: the time of construction is the time of iteration `start`. */
  constructor(options: ProgressOptions) {
    if (!(options.total > 0)) throw new Error(`progress total must be positive: ${options.total}`);
    this.total = options.total;
    this.terminal = options.terminal;
    this.write = options.write;
    this.every = Math.max(1, Math.floor(options.every ?? 50));
    this.now = options.now ?? (() => performance.now());
    this.width = Math.max(1, Math.floor(options.width ?? 24));
    const start = options.start ?? 0;
    this.samples = [[this.now(), start]];
    this.lastPrinted = start;
  }

  /** Records that `iteration` iterations are complete, with the latest metric `fields`. */
  update(iteration: number, fields: Readonly<Record<string, number>>): void {
    if (this.finished) return;
    const t = this.now();
    const samples = this.samples;
    if (t - samples[samples.length - 1][0] >= SAMPLE_EVERY_MS) samples.push([t, iteration]);
    while (samples.length > 1 && samples[1][0] <= t - RATE_WINDOW_MS) samples.shift();
    const last = iteration >= this.total;
    if (this.terminal) {
      this.pending = { t, iteration, fields };
      if (last || t - this.lastDraw >= REDRAW_EVERY_MS) this.draw();
    } else {
      const crossed =
        Math.floor(iteration / this.every) > Math.floor(this.lastPrinted / this.every);
      this.pending = { t, iteration, fields };
      if (crossed || (last && iteration > this.lastPrinted)) this.print();
    }
  }

  /**
   * Ends the output: the last state is shown if it was rate-limited away (or, in plain mode,
   * if training stopped between periods), and the terminal line is ended with a newline.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.pending) {
      if (this.terminal) this.draw();
      else this.print();
    }
    if (this.lineOpen) this.write("\n");
    this.lineOpen = false;
  }

  /** Iterations per second over the window, or NaN before any time has passed. */
  private rate(t: number, iteration: number): number {
    const [t0, i0] = this.samples[0];
    return t > t0 ? ((iteration - i0) * 1000) / (t - t0) : NaN;
  }

  private status(t: number, iteration: number): { rate: string; eta: string } {
    const rate = this.rate(t, iteration);
    const left = Math.max(0, this.total - iteration);
    const eta = left === 0 ? 0 : rate > 0 ? left / rate : NaN;
    return {
      rate: Number.isNaN(rate) ? "--" : formatSignificant(rate, 3),
      eta: formatDuration(eta),
    };
  }

  private draw(): void {
    const { t, iteration, fields } = this.pending!;
    this.pending = undefined;
    this.lastDraw = t;
    const fraction = Math.min(1, Math.max(0, iteration / this.total));
    const filled = Math.floor(fraction * this.width);
    const bar = "#".repeat(filled) + ".".repeat(this.width - filled);
    const { rate, eta } = this.status(t, iteration);
    const metrics = Object.entries(fields).map(([k, v]) => `${k} ${formatNumber(v)}`).join(" ");
    const head = `[${bar}] ${iteration}/${this.total} ${Math.floor(fraction * 100)}%`;
    const line = [head, `${rate} it/s`, `eta ${eta}`, ...(metrics ? [metrics] : [])].join(" | ");
    // \x1b[K clears what a longer previous line left to the right of this one.
    this.write(`\r${line}\x1b[K`);
    this.lineOpen = true;
  }

  private print(): void {
    const { t, iteration, fields } = this.pending!;
    this.pending = undefined;
    this.lastPrinted = iteration;
    const { rate, eta } = this.status(t, iteration);
    const metrics = Object.entries(fields).map(([k, v]) => `${k} ${formatNumber(v)}`);
    const parts = [`iter ${iteration}/${this.total}`, `${rate} it/s`, `eta ${eta}`, ...metrics];
    this.write(parts.join(" | ") + "\n");
  }
}
