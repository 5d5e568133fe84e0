import assert from "node:assert/strict";
import { formatDuration, formatNumber, Progress } from "../../runtime/report/progress.ts";

/** A Progress on a fake millisecond clock, recording everything it writes. */
function harness(options: { total: number; start?: number; terminal: boolean; every?: number }) {
  const clock = { t: 0 };
  const out: string[] = [];
  const progress = new Progress({
    ...options,
    width: 10,
    now: () => clock.t,
    write: (text) => out.push(text),
  });
  return { clock, out, progress };
}

Deno.test("formatDuration: seconds, minutes, hours", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(59.6), "1m00s");
  assert.equal(formatDuration(365), "6m05s");
  assert.equal(formatDuration(3599), "59m59s");
  assert.equal(formatDuration(2 * 3600 + 3 * 60 + 20), "2h03m");
  assert.equal(formatDuration(30 * 3600), "30h00m");
  assert.equal(formatDuration(NaN), "--");
  assert.equal(formatDuration(Infinity), "--");
});

Deno.test("formatNumber: 4 significant digits, exponent for tiny or huge, non-finite names", () => {
  const cases: Array<[number, string]> = [
    [0.532, "0.532"],
    [0.53219, "0.5322"],
    [1234.5678, "1235"],
    [12344, "12340"],
    [-2.5, "-2.5"],
    [0.001, "0.001"],
    [5.9e-5, "5.9e-5"],
    [0.00012346, "1.235e-4"],
    [123456, "1.235e5"],
    [99999.7, "1e5"],
    [0, "0"],
    [-0, "0"],
    [NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  for (const [x, text] of cases) assert.equal(formatNumber(x), text, `formatNumber(${x})`);
});

Deno.test("Progress (terminal): the status line for a fake clock", () => {
  const { clock, out, progress } = harness({ total: 1000, terminal: true });
  // 120 iterations at 2.41 it/s; 880 left → 365.1 s.
  clock.t = (120 / 2.41) * 1000;
  progress.update(120, { loss: 0.532, lr: 5.9e-5 });
  assert.deepEqual(out, [
    "\r[#.........] 120/1000 12% | 2.41 it/s | eta 6m05s | loss 0.532 lr 5.9e-5\x1b[K",
  ]);
});

Deno.test("Progress (terminal): redraws at most every 200 ms, always at the end", () => {
  const { clock, out, progress } = harness({ total: 40, terminal: true });
  for (let i = 1; i <= 40; i++) {
    clock.t = 50 * i; // 20 it/s
    progress.update(i, { loss: 1 / i });
  }
  progress.finish();
  // Drawn at 50 ms, then whenever 200 ms have passed (every 4th call), then the last one.
  const drawn = out.slice(0, -1).map((line) => Number(line.match(/\] (\d+)\//)![1]));
  assert.deepEqual(drawn, [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 40]);
  assert.ok(out.slice(0, -1).every((l) => l.startsWith("\r[") && l.endsWith("\x1b[K")));
  assert.equal(out[out.length - 1], "\n");
  assert.equal(out[9], "\r[#########.] 37/40 92% | 20 it/s | eta 0s | loss 0.02703\x1b[K");
  assert.equal(out[10], "\r[##########] 40/40 100% | 20 it/s | eta 0s | loss 0.025\x1b[K");
});

Deno.test("Progress (terminal): finish shows a state that the rate limit held back", () => {
  const { clock, out, progress } = harness({ total: 100, terminal: true });
  clock.t = 1000;
  progress.update(10, {});
  clock.t = 1100;
  progress.update(11, {});
  clock.t = 5000; // finish later than the update: the rate is still as of the update
  progress.finish();
  progress.finish();
  assert.deepEqual(out, [
    "\r[#.........] 10/100 10% | 10 it/s | eta 9s\x1b[K",
    "\r[#.........] 11/100 11% | 10 it/s | eta 9s\x1b[K",
    "\n",
  ]);
});

Deno.test("Progress (plain): a line every `every` iterations and at the last", () => {
  const { clock, out, progress } = harness({ total: 1000, start: 100, terminal: false });
  // Resumed at 100: only this process's iterations count, at 400 ms each (2.5 it/s).
  for (let i = 101; i <= 1000; i++) {
    clock.t = 400 * (i - 100);
    progress.update(i, { loss: 0.532, lr: 5.9e-5 });
  }
  progress.finish();
  assert.equal(out.length, 18);
  assert.ok(out.every((l) => l.endsWith("\n") && !l.includes("\r") && !l.includes("\x1b")));
  assert.deepEqual(
    out.map((l) => Number(l.match(/^iter (\d+)\//)![1])),
    Array.from({ length: 18 }, (_, k) => 150 + 50 * k),
  );
  // 850 left at 2.5 it/s: 340 s.
  assert.equal(out[0], "iter 150/1000 | 2.5 it/s | eta 5m40s | loss 0.532 | lr 5.9e-5\n");
  assert.equal(out[17], "iter 1000/1000 | 2.5 it/s | eta 0s | loss 0.532 | lr 5.9e-5\n");
});

Deno.test("Progress (plain): off-period totals, sparse updates and early stops", () => {
  {
    const { clock, out, progress } = harness({ total: 10, terminal: false, every: 4 });
    for (let i = 1; i <= 10; i++) {
      clock.t = 1000 * i;
      progress.update(i, {});
    }
    progress.finish();
    assert.deepEqual(out.map((l) => l.split(" | ")[0]), ["iter 4/10", "iter 8/10", "iter 10/10"]);
  }
  {
    // Updates every 10 iterations still print once per crossed multiple of 25.
    const { clock, out, progress } = harness({ total: 100, terminal: false, every: 25 });
    for (let i = 10; i <= 40; i += 10) {
      clock.t = 100 * i;
      progress.update(i, {});
    }
    progress.finish(); // stopped early at 40: the last state is still reported
    assert.deepEqual(out.map((l) => l.split(" | ")[0]), ["iter 30/100", "iter 40/100"]);
  }
});

Deno.test("Progress: the rate follows a slowdown within the 30 s window", () => {
  const { clock, out, progress } = harness({ total: 10000, terminal: false, every: 10 });
  let i = 0;
  while (i < 100) {
    clock.t = 100 * ++i; // 10 it/s
    progress.update(i, {});
  }
  assert.match(out[out.length - 1], /^iter 100\/10000 \| 10 it\/s \| eta 16m30s/);
  for (let k = 1; k <= 60; k++) {
    clock.t = 10_000 + 1000 * k; // then 1 it/s for a minute
    progress.update(++i, {});
  }
  assert.match(out[out.length - 1], /^iter 160\/10000 \| 1 it\/s \| eta 2h44m/);
});

Deno.test("Progress: no elapsed time gives an unknown rate, not a division by zero", () => {
  const { out, progress } = harness({ total: 10, terminal: false, every: 1 });
  progress.update(1, { loss: NaN });
  assert.deepEqual(out, ["iter 1/10 | -- it/s | eta -- | loss nan\n"]);
});
