/**
 * Small-sample statistics for results tables: Student's t distribution (CDF and quantile, via the
 * regularised incomplete beta function evaluated by its continued fraction), the 95% confidence
 * interval of a mean, and Welch's unequal-variance t-test. Written here rather than imported so
 * the results task keeps its dependency list and the numbers are checked against hand-worked
 * values in `tests/report/stats_test.ts`.
 *
 * @module
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  // Reflection keeps the series in its accurate range (x ≥ 0.5).
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // Even step.
    let aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), 0 ≤ x ≤ 1, a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The fraction converges fast only on one side of the mean; use the symmetry on the other.
  return x < (a + 1) / (a + b + 2)
    ? front * betaFraction(x, a, b) / a
    : 1 - front * betaFraction(1 - x, b, a) / b;
}

/** P(T ≤ t) for Student's t with `dof` degrees of freedom (dof > 0, not necessarily whole). */
export function studentTCdf(t: number, dof: number): number {
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = 0.5 * incompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Two-sided p-value of a t statistic: P(|T| ≥ |t|). */
export function twoSidedP(t: number, dof: number): number {
  return incompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
}

/** The t with P(T ≤ t) = p (0 < p < 1), by bisection on the CDF (monotone, so it cannot fail). */
export function studentTQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, dof);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Half-width of the 95% confidence interval of a mean from `n` values with sample standard
 * deviation `std`: t(0.975, n − 1) · std / √n. NaN below two values.
 */
export function ci95HalfWidth(std: number, n: number): number {
  if (n < 2 || !Number.isFinite(std)) return NaN;
  return studentTQuantile(0.975, n - 1) * std / Math.sqrt(n);
}

/** Welch's t-test of two samples. */
export interface WelchResult {
  /** t = (mean a − mean b) / √(s²a/na + s²b/nb). */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  dof: number;
  /** Two-sided p-value. */
  p: number;
}

/**
 * Welch's unequal-variance t-test of `a` against `b`; undefined when either has fewer than two
 * values or both have zero variance (the statistic is then undefined, not significant).
 */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const variance = (v: readonly number[], m: number) =>
    v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
  const ma = mean(a), mb = mean(b);
  const va = variance(a, ma) / a.length, vb = variance(b, mb) / b.length;
  if (va + vb === 0) return undefined;
  const t = (ma - mb) / Math.sqrt(va + vb);
  const dof = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { t, dof, p: twoSidedP(t, dof) };
}
