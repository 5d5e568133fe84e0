import assert from "node:assert/strict";
import { type ChartOptions, lineChart, logTicks, niceTicks } from "../../runtime/report/svg.ts";

/** Tags balance, every `&` starts an entity, and there is exactly one root `<svg>`. */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.endsWith("</svg>\n"));
  const stack: string[] = [];
  let roots = 0;
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^<>]*?(\/?)>/g)) {
    if (closing) assert.equal(stack.pop(), name, `unbalanced ${tag}`);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  assert.deepEqual(stack, []);
  assert.equal(roots, 1);
  assert.doesNotMatch(svg, /&(?!(amp|lt|gt|quot|#39);)/);
  // Text outside tags never holds a raw '<' or '>' (they would have matched as tags above).
  assert.doesNotMatch(svg.replace(/<[^<>]*>/g, ""), /[<>]/);
}

const count = (svg: string, needle: string): number => svg.split(needle).length - 1;

function polylines(svg: string): Array<Array<[number, number]>> {
  return [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map(([, pts]) =>
    pts.split(" ").map((p) => p.split(",").map(Number) as [number, number])
  );
}

const base: ChartOptions = {
  title: "loss",
  xLabel: "iteration",
  yLabel: "value",
  series: [
    { name: "train", points: [[0, 1], [100, 0.5], [200, NaN], [300, 0.3], [400, 0.2]] },
    { name: "val", points: [[0, 0.9], [200, Infinity], [400, 0.4]] },
  ],
};

Deno.test("niceTicks: 1-2-5 steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.13, 0.87), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-3, 47), [-10, 0, 10, 20, 30, 40, 50]);
  assert.deepEqual(niceTicks(0, 40000, 4), [0, 10000, 20000, 30000, 40000]);
  assert.deepEqual(niceTicks(1.5e-4, 9e-4), [0, 2e-4, 4e-4, 6e-4, 8e-4, 1e-3]);
  assert.deepEqual(niceTicks(0.6, 1.4, 4), [0.6, 0.8, 1, 1.2, 1.4]);
  assert.deepEqual(niceTicks(2.5, 17.5, 3), [0, 5, 10, 15, 20]);
  assert.deepEqual(niceTicks(5, 5), [2, 3, 4, 5, 6, 7, 8]);
  for (const [lo, hi] of [[0.0123, 0.0456], [-7e6, 3e6], [1, 1000], [-0.5, -0.1]]) {
    const ticks = niceTicks(lo, hi);
    assert.ok(ticks[0] <= lo && ticks[ticks.length - 1] >= hi, `${lo}..${hi}: ${ticks}`);
    const step = ticks[1] - ticks[0];
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${step}`);
    assert.ok(ticks.length >= 3 && ticks.length <= 12, `${ticks}`);
  }
});

Deno.test("logTicks: decades, with 1-2-5 inside narrow ranges", () => {
  assert.deepEqual(logTicks(0.003, 0.8), [0.001, 0.01, 0.1, 1]);
  assert.deepEqual(logTicks(0.2, 7), [0.1, 0.2, 0.5, 1, 2, 5, 10]);
  assert.deepEqual(logTicks(1, 10), [1, 2, 5, 10]);
  assert.deepEqual(logTicks(1e-10, 1e10), [1e-10, 1e-7, 1e-4, 0.1, 100, 1e5, 1e8, 1e11]);
});

Deno.test("lineChart: identical input gives identical bytes", () => {
  const a = lineChart(base);
  const b = lineChart(structuredClone(base));
  assert.equal(a, b);
  assertWellFormed(a);
  assert.match(a, /width="640" height="320"/);
});

Deno.test("lineChart: one polyline per run of finite points, a dot for a lone point", () => {
  const svg = lineChart(base);
  const lines = polylines(svg);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => l.length), [2, 2, 1, 1]);
  assert.equal(count(svg, "<circle "), 2);
  // Each series keeps one colour; the two series differ.
  const colours = [...svg.matchAll(/<polyline stroke="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(colours[0], colours[1]);
  assert.equal(colours[2], colours[3]);
  assert.notEqual(colours[0], colours[2]);
  // Legend: one entry per series, in its colour.
  assert.match(svg, new RegExp(`stroke="${colours[2]}" stroke-width="2"/>\\n<text[^>]*>val<`));
});

Deno.test("lineChart: points map linearly into the plot, y growing upwards", () => {
  const svg = lineChart({
    ...base,
    series: [{ name: "s", points: [[0, 0], [1, 0.25], [2, 1], [4, 2]] }],
    yMin: 0,
    yMax: 2,
  });
  const [[p0, p1, p2, p3]] = polylines(svg);
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 0.02;
  // x: 0, 1, 2, 4 are evenly spaced in data, so the pixel gaps are in ratio 1:1:2.
  assert.ok(close(p1[0] - p0[0], p2[0] - p1[0]) && close(p3[0] - p2[0], 2 * (p2[0] - p1[0])));
  // y: 0 at the bottom, 2 at the top (smaller pixel y), 1 half way, 0.25 an eighth up.
  assert.ok(p3[1] < p0[1]);
  assert.ok(close(p2[1], (p0[1] + p3[1]) / 2));
  assert.ok(close(p0[1] - p1[1], (p0[1] - p3[1]) / 8));
  // The explicit bounds are tick labels at the ends of the axis.
  assert.match(svg, /text-anchor="end">0<\/text>/);
  assert.match(svg, /text-anchor="end">2<\/text>/);
});

Deno.test("lineChart: text is escaped everywhere", () => {
  const svg = lineChart({
    title: 'a < b & "c" > d',
    xLabel: "x&y",
    yLabel: "<y>",
    series: [{ name: "<script>alert(1)</script>", points: [[0, 1], [1, 2]] }],
  });
  assertWellFormed(svg);
  assert.ok(svg.includes("a &lt; b &amp; &quot;c&quot; &gt; d"));
  assert.ok(svg.includes(">x&amp;y<"));
  assert.ok(svg.includes(">&lt;y&gt;<"));
  assert.ok(svg.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(!svg.includes("<script"));
});

Deno.test("lineChart: no series, or nothing drawable, still gives a chart saying 'no data'", () => {
  for (
    const series of [
      [],
      [{ name: "empty", points: [] }],
      [{ name: "nan", points: [[0, NaN], [1, Infinity]] as Array<[number, number]> }],
    ]
  ) {
    const svg = lineChart({ ...base, series });
    assertWellFormed(svg);
    assert.ok(svg.includes(">no data<"));
    assert.equal(count(svg, "<polyline"), 0);
  }
  assert.ok(!lineChart(base).includes("no data"));
});

Deno.test("lineChart: logY uses decade ticks and leaves out non-positive values", () => {
  const svg = lineChart({
    ...base,
    logY: true,
    series: [{ name: "loss", points: [[0, 2], [1, 0.5], [2, 0], [3, 0.05], [4, -1], [5, 0.004]] }],
  });
  assertWellFormed(svg);
  const labels = [...svg.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(labels, ["0.001", "0.01", "0.1", "1", "10"]);
  assert.deepEqual(polylines(svg).map((l) => l.length), [2, 1, 1]);
  // Equal ratios are equal distances: 2 → 0.5 spans as far as 0.2 → 0.05 would.
  const [[a, b], [c]] = polylines(svg);
  const decade = (b[1] - a[1]) / Math.log10(4);
  assert.ok(Math.abs((c[1] - a[1]) - decade * Math.log10(40)) < 0.05);
});
