import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  experimentNameOf,
  formatGap,
  formatResultsTable,
  readRunSummary,
  type ResultRow,
  type RunSummary,
  summarise,
} from "../../runtime/report/results.ts";
import { classHeatmap } from "../../runtime/report/heatmap.ts";
import { generatedHeader, parseGap, shellQuote } from "../../runtime/cli/results.ts";
import { CLASS_NAMES } from "../../runtime/data/labels.ts";
import { cli } from "../cli/helpers.ts";
import { archiveRuns } from "../../runtime/cli/archive_runs.ts";
import { experimentHash } from "../../dsl/mod.ts";

/** A fresh `.cache/test-results-*` folder, removed after `body`. */
async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  await Deno.mkdir(".cache", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".cache", prefix: "test-results-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface FakeRun {
  /** Final target mIoU (0–1); undefined for a run stopped at iteration 300 of 600. */
  mIoU?: number;
  /** Final target IoU of `car`. */
  car?: number;
  /** `run.seed` written into experiment.yaml (defaults to the directory's seed). */
  yamlSeed?: number;
  /** Trained to 600 but killed during the final evaluation (its train line logged, no eval). */
  killedInFinalEval?: boolean;
  /** The final target evaluation's temporal consistency (a video run). */
  temporalConsistency?: number;
}

/**
 * Writes `<root>/runs/<name>/<hash>-s<seed>/` as the training loop would: a canonical-looking
 * experiment.yaml (600 iterations; a decoy `iterations` in another section) and metrics.jsonl
 * with train lines (10 it/s to 300, 5 it/s to 600: 90 s), a targetVal evaluation at 300 that is
 * not the final one, and at 600 the final targetVal evaluation then a sourceVal one (decoy).
 */
async function fakeRun(
  root: string,
  name: string,
  hash: string,
  seed: number,
  run: FakeRun,
): Promise<string> {
  const dir = join(root, "runs", name, `${hash}-s${seed}`);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "experiment.yaml"),
    `data:\n  loader:\n    kind: "loader"\n    iterations: 5\n` +
      `model:\n  kind: "segmentor"\n  numClasses: 19\n` +
      `run:\n  kind: "run"\n  backend: "wasm"\n  iterations: 600\n  logEvery: 300\n` +
      `  seed: ${run.yamlSeed ?? seed}\n`,
  );
  const train = (iter: number, itPerSec: number) => ({
    type: "train",
    iter,
    loss: 1,
    losses: { ce: 1 },
    lr: { base: 1e-4 },
    itPerSec,
    tensors: 100,
    time: 1_700_000_000 + iter,
  });
  const evaluation = (iter: number, set: string, mIoU: number, car: number | null) => ({
    type: "eval",
    iter,
    set,
    mIoU,
    protocol: "19",
    aAcc: 0.9,
    iou: Object.fromEntries(
      CLASS_NAMES.map((c) => [c, c === "car" ? car : c === "train" ? null : 0.5]),
    ),
    seconds: 2,
    time: 1_700_000_000 + iter,
  });
  const lines: unknown[] = [train(300, 10), evaluation(300, "targetVal", 0.99, 0.99)];
  if (run.mIoU !== undefined) {
    lines.push(
      train(600, 5),
      {
        ...evaluation(600, "targetVal", run.mIoU, run.car ?? 0.5),
        ...(run.temporalConsistency === undefined
          ? {}
          : { temporalConsistency: run.temporalConsistency }),
      },
      evaluation(600, "sourceVal", 0.77, 0.77),
    );
  } else if (run.killedInFinalEval) lines.push(train(600, 5));
  await Deno.writeTextFile(
    join(dir, "metrics.jsonl"),
    lines.map((l) => JSON.stringify(l) + "\n").join(""),
  );
  return dir;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(
    typeof actual === "number" && Math.abs(actual - expected) < 1e-12,
    `${what}: ${actual} ≠ ${expected}`,
  );

Deno.test("readRunSummary: name under runs/, hash, seed, the final targetVal line, train time", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "gta2cs/daformer", "aaaaaaaaaaaa", 2, { mIoU: 0.25, car: 0.4 });
    const run = await readRunSummary(dir);
    assert.equal(run.dir, dir);
    assert.equal(run.name, "gta2cs/daformer");
    assert.equal(run.hash, "aaaaaaaaaaaa");
    assert.equal(run.seed, 2);
    assert.equal(run.iterations, 600, "run.iterations, not data.loader.iterations");
    assert.equal(run.done, 600);
    assert.equal(run.finished, true);
    assert.equal(run.mIoU, 0.25, "the targetVal line at iteration 600, not 300 nor sourceVal");
    assert.equal(run.iou?.car, 0.4);
    assert.equal(run.iou?.train, null);
    assert.equal(run.protocol, "19");
    close(run.trainSeconds, 300 / 10 + 300 / 5, "train seconds");
    // A trailing slash names the same run.
    assert.deepEqual(await readRunSummary(dir + "/"), run);

    const partial = await readRunSummary(await fakeRun(root, "x", "cccccccccccc", 0, {}));
    assert.equal(partial.finished, false);
    assert.equal(partial.done, 300);
    assert.equal(partial.mIoU, undefined, "an evaluation before the last iteration is not final");
    const killed = await readRunSummary(
      await fakeRun(root, "x", "cccccccccccc", 1, { killedInFinalEval: true }),
    );
    assert.equal(killed.done, 600);
    assert.equal(killed.finished, false, "all iterations but no evaluation at the last one");
    assert.equal(killed.mIoU, undefined);
  });
  assert.equal(experimentNameOf("runs/source_only/59dcf310459c-s0"), "source_only");
  assert.equal(experimentNameOf("/elsewhere/runs/a/b/59dcf310459c-s0"), "a/b");
  assert.equal(experimentNameOf("/elsewhere/a/59dcf310459c-s0"), "a");
});

Deno.test("readRunSummary: names the directory when it is not a run directory", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "daformer", "aaaaaaaaaaaa", 0, { mIoU: 0.1 });
    const parent = join(root, "runs", "daformer");
    await assert.rejects(
      readRunSummary(parent),
      (e: Error) =>
        e.message.startsWith(`${parent} is not a run directory`) &&
        e.message.includes("experiment folder holding the runs aaaaaaaaaaaa-s0"),
    );
    await assert.rejects(
      readRunSummary(join(root, "nope")),
      /nope is not a run directory: it does not exist/,
    );
    const bare = join(root, "runs", "daformer", "bbbbbbbbbbbb-s0");
    await Deno.mkdir(bare);
    await assert.rejects(
      readRunSummary(bare),
      /bbbbbbbbbbbb-s0 is not a run directory: .*no experiment\.yaml/,
    );
    await Deno.writeTextFile(join(bare, "experiment.yaml"), "run: [unclosed\n");
    await assert.rejects(readRunSummary(bare), /not valid YAML/);
    await Deno.writeTextFile(join(bare, "experiment.yaml"), "run:\n  seed: 0\n");
    await assert.rejects(readRunSummary(bare), /has no run\.iterations/);
    await assert.rejects(readRunSummary(join(dir, "metrics.jsonl")), /it is a file/);
    const renamed = await fakeRun(root, "daformer", "aaaaaaaaaaaa", 1, { mIoU: 0.1, yamlSeed: 0 });
    await assert.rejects(
      readRunSummary(renamed),
      /says seed 1 but its experiment\.yaml has run\.seed 0/,
    );
  });
});

Deno.test("summarise: mean ± sample std over seeds, rows by (name, hash) in given order", async () => {
  await withTempDir(async (root) => {
    const dirs = [
      await fakeRun(root, "daformer", "bbbbbbbbbbbb", 0, { mIoU: 0.30, car: 0.8 }),
      await fakeRun(root, "daformer", "aaaaaaaaaaaa", 2, { mIoU: 0.14, car: 0.6 }),
      await fakeRun(root, "daformer", "aaaaaaaaaaaa", 0, { mIoU: 0.10, car: 0.2 }),
      await fakeRun(root, "daformer", "aaaaaaaaaaaa", 1, { mIoU: 0.12, car: 0.4 }),
      await fakeRun(root, "daformer", "aaaaaaaaaaaa", 3, {}),
    ];
    const runs = await Promise.all(dirs.map((d) => readRunSummary(d)));
    const rows = summarise(runs);
    assert.deepEqual(rows.map((r) => [r.name, r.hash, r.seeds, r.n]), [
      ["daformer", "bbbbbbbbbbbb", [0], 1],
      ["daformer", "aaaaaaaaaaaa", [0, 1, 2, 3], 3],
    ]);
    close(rows[1].mean, 0.12, "mean of 10, 12, 14");
    close(rows[1].std, 0.02, "sample std of 10, 12, 14 (n − 1)");
    close(rows[1].iou.car, 0.4, "mean car IoU of 20, 40, 60 (the unfinished seed left out)");
    close(rows[1].iou.road, 0.5, "road");
    assert.equal(rows[1].iou.train, null);
    close(rows[1].trainSeconds, 90, "mean train time");
    close(rows[0].mean, 0.30, "one seed");
    assert.ok(Number.isNaN(rows[0].std), "no std for one seed");
    assert.throws(
      () => summarise([runs[1], runs[1]]),
      /seed 2 of daformer \(aaaaaaaaaaaa\) is given twice/,
    );
  });
});

Deno.test("video rows: the mean final temporal consistency gets its column and its note", async () => {
  await withTempDir(async (root) => {
    const dirs = [
      await fakeRun(root, "video_pipapp", "aaaaaaaaaaaa", 0, {
        mIoU: 0.3,
        temporalConsistency: 0.9,
      }),
      await fakeRun(root, "video_pipapp", "aaaaaaaaaaaa", 1, {
        mIoU: 0.2,
        temporalConsistency: 0.8,
      }),
      await fakeRun(root, "daformer", "bbbbbbbbbbbb", 0, { mIoU: 0.1 }),
    ];
    const rows = summarise(await Promise.all(dirs.map((d) => readRunSummary(d))));
    close(rows[0].temporalConsistency, 0.85, "mean of 0.9 and 0.8");
    assert.equal(rows[1].temporalConsistency, undefined);
    const table = formatResultsTable(rows);
    assert.match(table, /\| s0 \| s1 \| temporal consistency \| train time \|/);
    assert.match(
      table,
      /\| video_pipapp \| `aaaaaaaaaaaa` \| 2 \| 25\.0 ± 7\.1 \| 30\.0 \| 20\.0 \| 85\.0 \|/,
    );
    assert.match(table, /\| daformer \| `bbbbbbbbbbbb` \| 1 \| 10\.0 ± — \| 10\.0 \| {2}\| — \|/);
    assert.match(table, /Temporal consistency: the share of target pixels/);
    // An image-only table has no such column.
    assert.doesNotMatch(formatResultsTable(rows.slice(1)), /temporal consistency/i);
  });
});

Deno.test("formatResultsTable: one decimal, per-seed columns, footnotes, per-class table", () => {
  const iou = (car: number | null) =>
    Object.fromEntries(CLASS_NAMES.map((c) => [c, c === "car" ? car : c === "train" ? null : 0.5]));
  const run = (name: string, hash: string, seed: number, mIoU?: number): RunSummary => ({
    dir: `runs/${name}/${hash}-s${seed}`,
    name,
    hash,
    seed,
    iterations: 600,
    done: mIoU === undefined ? 300 : 600,
    finished: mIoU !== undefined,
    ...(mIoU === undefined ? {} : { mIoU, iou: iou(mIoU * 2), protocol: "19", trainSeconds: 90 }),
  });
  const rows = summarise([
    run("source_only", "cccccccccccc", 0, 0.05),
    run("daformer", "aaaaaaaaaaaa", 0, 0.10),
    run("daformer", "aaaaaaaaaaaa", 1, 0.12),
    run("daformer", "aaaaaaaaaaaa", 2, 0.14),
    run("daformer", "bbbbbbbbbbbb", 0, 0.30),
    run("daformer", "bbbbbbbbbbbb", 1),
  ]);
  const table = formatResultsTable(rows, { title: "Fake runs" });
  const lines = table.split("\n");
  assert.equal(lines[0], "# Fake runs");
  const header = "| experiment | hash | seeds | target mIoU | s0 | s1 | s2 | train time |";
  const at = lines.indexOf(header);
  assert.ok(at > 0, table);
  assert.deepEqual(lines.slice(at + 2, at + 5), [
    "| source_only | `cccccccccccc` | 1 | 5.0 ± — | 5.0 |  |  | 90 s |",
    "| daformer † | `aaaaaaaaaaaa` | 3 | 12.0 ± 2.0 | 10.0 | 12.0 | 14.0 | 90 s |",
    "| daformer † | `bbbbbbbbbbbb` | 1 (+1 unfinished) | 30.0 ± — | 30.0 | ‡ 300/600 it |  | 90 s |",
  ]);
  assert.match(
    table,
    /\n† `daformer` appears with 2 hashes \(`aaaaaaaaaaaa`, `bbbbbbbbbbbb`\): .*never averaged/,
  );
  assert.match(table, /\n‡ Unfinished run .*left out of the mean/);
  assert.ok(
    table.includes(
      "| class | source_only | daformer (`aaaaaaaaaaaa`) | daformer (`bbbbbbbbbbbb`) |\n",
    ),
    table,
  );
  assert.ok(table.includes("\n| car | 10.0 | 24.0 | 60.0 |\n"), "car: 2 × mIoU, averaged");
  assert.ok(table.includes("\n| train | — | — | — |\n"), "null IoU");
  assert.ok(table.includes("\n| road | 50.0 | 50.0 | 50.0 |\n"));
  assert.equal(lines.filter((l) => /^\| [a-z ]+ \| [\d.—]+ \|/.test(l)).length, 19, "19 classes");

  // Without a second hash, unfinished runs or title there are no footnotes nor heading.
  const plain = formatResultsTable(rows.slice(0, 2).map((r) => ({ ...r, runs: r.runs })));
  assert.ok(!plain.startsWith("#"));
  assert.ok(!plain.includes("‡ Unfinished"));
  assert.ok(plain.includes("| daformer | `aaaaaaaaaaaa` | 3 | 12.0 ± 2.0 |"), plain);
  const nan = formatResultsTable([{ ...rows[0], mean: NaN, iou: { ...rows[0].iou, road: NaN } }]);
  assert.ok(nan.includes("| — ± — |") && nan.includes("| road | — |"), nan);
});

Deno.test("the generated header quotes the exact command for a shell", () => {
  assert.equal(shellQuote("runs/a/b-s0"), "runs/a/b-s0");
  assert.equal(shellQuote("Main results"), "'Main results'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(
    generatedHeader(["runs/x/aaaaaaaaaaaa-s0", "--title", "A B", "--out", "docs/results.md"]),
    "<!-- Generated by `deno task results runs/x/aaaaaaaaaaaa-s0 --title 'A B' --out " +
      "docs/results.md` from the run directories; do not edit, re-run the command. -->\n",
  );
});

Deno.test("results command: refuses unfinished runs unless --allow-partial; stdout and --out", async () => {
  await withTempDir(async (root) => {
    const dirs = [
      await fakeRun(root, "fake_results/daformer", "aaaaaaaaaaaa", 0, { mIoU: 0.10 }),
      await fakeRun(root, "fake_results/daformer", "aaaaaaaaaaaa", 1, { mIoU: 0.12 }),
      await fakeRun(root, "fake_results/daformer", "aaaaaaaaaaaa", 2, { mIoU: 0.14 }),
    ];
    const partial = await fakeRun(root, "fake_results/daformer", "aaaaaaaaaaaa", 3, {});

    const refused = await cli("results", [...dirs, partial]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, "");
    assert.match(
      refused.stderr,
      new RegExp(
        `^error: 1 of 4 runs have not finished: ${escape(partial)} got to iteration 300 of 600 ` +
          "\\(resume it with `deno task run EXP\\.ts --seed 3`\\)\\..*--allow-partial",
      ),
    );
    assert.equal(refused.stderr.trim().split("\n").length, 1, "one paragraph");

    // The same directory twice (a glob and a name with a trailing slash) counts once.
    const printed = await cli("results", [...dirs, `${dirs[0]}/`]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.ok(
      printed.stdout.includes(
        "| fake_results/daformer | `aaaaaaaaaaaa` | 3 | 12.0 ± 2.0 | 10.0 | 12.0 | 14.0 | 90 s |\n",
      ),
      printed.stdout,
    );

    const out = join(root, "docs", "results.md");
    const args = [...dirs, partial, "--allow-partial", "--title", "Fake runs", "--out", out];
    const written = await cli("results", args);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, "");
    const text = await Deno.readTextFile(out);
    const [first, blank, ...rest] = text.split("\n");
    assert.equal(
      first,
      `<!-- Generated by \`deno task results ${dirs.join(" ")} ${partial} --allow-partial ` +
        `--title 'Fake runs' --out ${out}\` from the run directories; do not edit, re-run the ` +
        `command. -->`,
    );
    assert.equal(blank, "");
    assert.equal(rest[0], "# Fake runs");
    assert.ok(
      text.includes("| 3 (+1 unfinished) | 12.0 ± 2.0 | 10.0 | 12.0 | 14.0 | ‡ 300/600 it |"),
    );
    const leftovers = [...Deno.readDirSync(join(root, "docs"))].map((e) => e.name);
    assert.deepEqual(leftovers, ["results.md"], "no temporary file left beside it");
  });
});

Deno.test("results command: exit 2 with a message on bad input", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "source_only", "cccccccccccc", 0, { mIoU: 0.05 });
    const partial = await fakeRun(root, "source_only", "cccccccccccc", 1, {});
    const cases: [string[], RegExp][] = [
      [
        [dir, partial],
        /s1 got to iteration 300 of 600 \(resume it with `deno task run experiments\/source_only\.ts --seed 1`\)/,
      ],
      [
        ["experiments/source_only.ts", "--seeds", "97"],
        /runs\/source_only\/[0-9a-f]{12}-s97 has not started \(start it with `deno task run experiments\/source_only\.ts --seed 97`\)/,
      ],
      [
        [await fakeRun(root, "source_only", "cccccccccccc", 2, { killedInFinalEval: true })],
        /s2 has done all 600 iterations but logged no final targetVal evaluation/,
      ],
      [[], /no run directories given\. usage: deno task results/],
      [[dir, "--bogus"], /bogus.*usage: deno task results/],
      [[join(root, "runs", "source_only")], /is not a run directory: it is an experiment folder/],
      [[root], /is not a run directory: its name is not <hash12>-s<seed>/],
      [[dir, "--seeds", "0,1"], /--seeds applies to experiment files/],
      [
        [dir, "--out", "results-test-should-not-exist.md"],
        /may write only under docs\/ and \.cache\//,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli("results", args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
    }
    await assert.rejects(Deno.stat("results-test-should-not-exist.md"), Deno.errors.NotFound);
  });
});

Deno.test("formatGap: the floor's share of the ceiling and each row's share of the gap closed", () => {
  const row = (name: string, mean: number) =>
    ({ name, hash: name.padEnd(12, "0").slice(0, 12), mean }) as unknown as ResultRow;
  // Hand-worked: floor 12, ceiling 48 → 12/48 = 25%; 30 closes (30 − 12)/(48 − 12) = 50%.
  const lines = formatGap(
    [row("source_only", 0.12), row("daformer", 0.30), row("target_oracle", 0.48)],
    { floor: "source_only", ceiling: "target_oracle" },
  );
  assert.match(lines.join("\n"), /`source_only` reaches 25% of `target_oracle`'s mean/);
  assert.deepEqual(lines.slice(-3), [
    "| source_only | 12.0 | 0% |",
    "| daformer | 30.0 | 50% |",
    "| target_oracle | 48.0 | 100% |",
  ]);
  assert.throws(
    () => formatGap([row("daformer", 0.3)], { floor: "source_only", ceiling: "daformer" }),
    /--gap \(floor\) source_only: no such row/,
  );
  assert.equal(parseGap(undefined), undefined);
  assert.deepEqual(parseGap("a:b"), { floor: "a", ceiling: "b" });
  assert.throws(() => parseGap("a"), /FLOOR:CEILING/);
});

Deno.test("classHeatmap: a cell per (class, row) labelled with its IoU, shaded by it", () => {
  const iou = Object.fromEntries(CLASS_NAMES.map((c) => [c, c === "car" ? 0.9 : 0]));
  const rows = [
    { name: "a<b", mean: 0.25, iou },
    { name: "c", mean: NaN, iou: { ...iou, train: null } },
  ] as unknown as ResultRow[];
  const svg = classHeatmap(rows);
  assert.equal((svg.match(/<rect /g) ?? []).length, 2 * (CLASS_NAMES.length + 1));
  assert.ok(svg.includes(">a&lt;b</text>"), "names are escaped");
  // White (#ffffff) at 0 to #1f50a0 at 1, linearly: 0.9 → (53, 98, 170) = #3562aa.
  assert.equal((svg.match(/fill="#3562aa"/g) ?? []).length, 2, "car's cells");
  assert.ok(svg.includes('fill="#ffffff"/>'), "IoU 0 is white");
  assert.ok(svg.includes('fill="#dddddd"/>'), "undefined is grey");
  assert.equal((svg.match(/>90\.0</g) ?? []).length, 2, "car's 90.0 in both columns");
  assert.equal((svg.match(/>—</g) ?? []).length, 2, "train's null and c's NaN mIoU");
  assert.equal(svg, classHeatmap(rows), "deterministic");
});

Deno.test("archive-runs copies finished runs' records; results --runs tabulates from the archive", async () => {
  await withTempDir(async (root) => {
    const hash = experimentHash((await import("../../experiments/source_only.ts")).default)
      .slice(0, 12);
    await fakeRun(root, "source_only", hash, 0, { mIoU: 0.25, car: 0.4 });
    await fakeRun(root, "ablations/x", "dddddddddddd", 0, { mIoU: 0.3 });
    await fakeRun(root, "source_only", hash, 1, {}); // unfinished: left out
    await Deno.writeTextFile(join(root, "runs", "source_only", `${hash}-s0`, "ckpt.bin"), "x");
    const archive = join(root, "archive", "runs");
    const report = await archiveRuns(join(root, "runs"), archive);
    assert.deepEqual(report.archived, [`ablations/x/dddddddddddd-s0`, `source_only/${hash}-s0`]);
    assert.deepEqual(report.unfinished, [`source_only/${hash}-s1`]);
    const copied = [...Deno.readDirSync(join(archive, "source_only", `${hash}-s0`))]
      .map((e) => e.name).sort();
    assert.deepEqual(copied, ["experiment.yaml", "metrics.jsonl"], "no checkpoint, no env.json");
    const nested = await readRunSummary(join(archive, "ablations", "x", "dddddddddddd-s0"));
    assert.equal(nested.name, "ablations/x");
    close(nested.mIoU, 0.3, "archived mIoU");

    const table = await cli("results", ["experiments/source_only.ts", "--runs", archive]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`\\| source_only \\| \`${hash}\` \\| 1 \\| 25\\.0 ± — \\| 25\\.0 \\|`),
    );
    assert.match(table.stdout, /\| car \| 40\.0 \|/);
  });
});
