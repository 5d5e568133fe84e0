import { strict as assert } from "node:assert";
import {
  ci95HalfWidth,
  studentTCdf,
  studentTQuantile,
  twoSidedP,
  welchTTest,
} from "../../runtime/report/stats.ts";
import { formatResultsTable, type RunSummary, summarise } from "../../runtime/report/results.ts";
import { resultsChart } from "../../runtime/report/chart.ts";

const close = (a: number, b: number, eps: number, what: string) =>
  assert.ok(Math.abs(a - b) < eps, `${what}: ${a} vs ${b}`);

Deno.test("Student t: hand-worked CDF, p-values and quantiles", () => {
  close(twoSidedP(2.0, 4), 0.1161, 1e-4, "t = 2, 4 dof");
  close(studentTQuantile(0.975, 2), 4.3027, 1e-4, "t(0.975, 2)");
  close(studentTQuantile(0.975, 4), 2.7764, 1e-4, "t(0.975, 4)");
  // 1 dof is Cauchy: P(T ≤ 1) = 3/4 exactly.
  close(studentTCdf(1, 1), 0.75, 1e-12, "Cauchy");
  close(studentTCdf(0, 7), 0.5, 1e-12, "symmetry");
});

Deno.test("95% CI and Welch's t-test on given samples", () => {
  // std 2 over 3 seeds: 4.3027 · 2 / √3 = 4.968.
  close(ci95HalfWidth(2, 3), 4.968, 1e-3, "CI half-width");
  assert.ok(Number.isNaN(ci95HalfWidth(2, 1)));
  // [1..5] vs [2,4,..,10]: t = −3/√2.5 = −1.8974, dof = 6.25/1.0625 = 5.882, p = 0.1075.
  const w = welchTTest([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])!;
  close(w.t, -1.8974, 1e-4, "t");
  close(w.dof, 5.8824, 1e-4, "dof");
  close(w.p, 0.1075, 1e-4, "p");
  assert.equal(welchTTest([1], [2, 3]), undefined);
});

Deno.test("results table: CI column, Welch p with a mark, per-class deltas, chart", () => {
  const run = (name: string, hash: string, seed: number, mIoU: number): RunSummary => ({
    dir: `runs/${name}/${hash}-s${seed}`,
    name,
    hash,
    seed,
    iterations: 10,
    done: 10,
    finished: true,
    mIoU,
    iou: { road: mIoU },
  });
  const rows = summarise([
    ...[0.40, 0.42, 0.44].map((v, s) => run("base", "aaaaaaaaaaaa", s, v)),
    ...[0.50, 0.53, 0.56].map((v, s) => run("ours", "bbbbbbbbbbbb", s, v)),
  ]);
  const table = formatResultsTable(rows, { baseline: "base", chart: "results.svg" });
  // base: mean 42.0, std 2.0, CI ± 4.968 → [37.0, 47.0].
  assert.ok(
    table.includes("| base | `aaaaaaaaaaaa` | 3 | 42.0 ± 2.0 | [37.0, 47.0] | baseline | |"),
  );
  // ours vs base: Welch t = 5.284, dof 3.48, p = 0.00896.
  assert.ok(table.includes("| +11.0 | 0.00896 * |"), table);
  assert.ok(table.includes("| road | +11.0 |"), table);
  assert.ok(table.includes("![Target mIoU, mean and 95% confidence interval](results.svg)"));
  assert.throws(() => formatResultsTable(rows, { baseline: "nope" }), /no such row/);
  const svg = resultsChart(rows);
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<rect /g) ?? []).length, 2);
});
