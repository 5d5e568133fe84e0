import { strict as assert } from "node:assert";
import { experimentHash } from "../../dsl/mod.ts";
import { applyFlags, loadExperiment } from "../../runtime/cli/experiment_file.ts";
import { variants } from "../../runtime/sweep/expand.ts";
import { sweep } from "../../runtime/sweep/sweep.ts";
import { WORKER_PERMISSIONS } from "../../runtime/sweep/expansion.ts";
import { cli } from "../cli/helpers.ts";

Deno.test("variants: grid points crossed with patches, base first when asked", () => {
  const s = sweep({
    experiments: ["experiments/daformer.ts"],
    grid: { "run.iterations": [2, 4] },
    patches: [{ name: "a", set: { "losses.ce.weight": 0.5 } }],
    includeBase: true,
  });
  assert.deepEqual(variants(s).map((v) => [v.name, v.set]), [
    ["", []],
    ["a,run.iterations=2", ["losses.ce.weight=0.5", "run.iterations=2"]],
    ["a,run.iterations=4", ["losses.ce.weight=0.5", "run.iterations=4"]],
  ]);
  assert.throws(() => sweep({ experiments: [] }), /experiments lists/);
  assert.throws(() => sweep({ experiments: ["x.ts"], grid: { "a..b": [1] } }), /not a --set path/);
  // The worker that imports sweep and experiment files may only read.
  assert.deepEqual(WORKER_PERMISSIONS, ["--allow-read=."]);
});

Deno.test("sweep show: deterministic, hashes equal run's for the same --set", async () => {
  const a = await cli("sweep", ["show", "tests/fixtures/tiny_sweep.ts"]);
  assert.equal(a.code, 0, a.stderr);
  const b = await cli("sweep", ["show", "tests/fixtures/tiny_sweep.ts"]);
  assert.equal(a.stdout, b.stdout);
  const x = applyFlags(await loadExperiment("tests/fixtures/tiny.ts"), {
    set: ["run.iterations=2"],
  });
  const hash = experimentHash(x);
  assert.ok(a.stdout.includes(`tiny/run.iterations=2  hash ${hash}`), a.stdout);
  assert.ok(a.stdout.includes(`seed 1  runs/tiny/${hash.slice(0, 12)}-s1`), a.stdout);
  assert.match(a.stdout, /~ run\.iterations: 12 → 2/);
  // A patch with the `--set` paths of an ablation file has that file's hash.
  const ablations = await cli("sweep", ["show", "sweeps/daformer_ablations.ts"]);
  assert.equal(ablations.code, 0, ablations.stderr);
  for (const name of ["no_rcs", "no_fd", "no_mix"]) {
    const file = await loadExperiment(`experiments/ablations/daformer_${name}.ts`);
    assert.ok(
      ablations.stdout.includes(`daformer/${name}  hash ${experimentHash(file)}\n`),
      name,
    );
  }
});

Deno.test("sweep: bad inputs are one-paragraph errors with exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["run", "tests/fixtures/tiny_sweep.ts", "--executor", "cloud"], /--executor: expected local/],
    [["show", "sweeps/nope.ts"], /no such sweep file/],
    [["show", "tests/fixtures/bad_sweep.ts"], /iterationz/],
    [
      ["run", "tests/fixtures/tiny_sweep.ts", "--executor", "slurm", "--runs-root", ".cache/x"],
      /sbatch, which is not on/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli("sweep", args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    const errors = r.stderr.trim().split("\n").filter((l) => l.startsWith("error:"));
    assert.equal(errors.length, 1, r.stderr);
  }
});

Deno.test("sweep run --executor slurm --dry-run: one array script", async () => {
  const r = await cli("sweep", [
    "run",
    "tests/fixtures/tiny_sweep.ts",
    "--executor",
    "slurm",
    "--dry-run",
    "--cpus-per-task",
    "2",
    "--time",
    "01:00:00",
    "--mem",
    "4G",
    "--partition",
    "cpu",
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (
    const line of [
      "#SBATCH --array=0-1",
      "#SBATCH --cpus-per-task=2",
      "#SBATCH --time=01:00:00",
      "#SBATCH --mem=4G",
      "#SBATCH --partition=cpu",
      "#SBATCH --requeue",
    ]
  ) assert.ok(r.stdout.includes(line + "\n"), line);
  assert.match(
    r.stdout,
    / {2}1\) .*task --quiet run tests\/fixtures\/tiny.ts --set run.iterations=2 --seed 1 --out runs\/tiny\/[0-9a-f]{12}-s1 >>/,
  );
  const daformer = await cli("sweep", [
    "run",
    "sweeps/daformer_seeds.ts",
    "--executor",
    "slurm",
    "--dry-run",
  ]);
  assert.equal(daformer.code, 0, daformer.stderr);
  assert.match(daformer.stdout, /--dependency=afterok:\$WEIGHTS_JOB/);
  assert.match(daformer.stdout, /task --quiet run experiments\/pretrain.ts/);
});

Deno.test("sweep run --executor local, status and results", async () => {
  await Deno.mkdir(".cache", { recursive: true });
  const root = await Deno.makeTempDir({ dir: ".cache", prefix: "test-sweep-" });
  try {
    const runs = `${root}/runs`;
    const before = await cli("sweep", [
      "status",
      "tests/fixtures/tiny_sweep.ts",
      "--runs-root",
      runs,
    ]);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /not started/);
    const run = await cli("sweep", [
      "run",
      "tests/fixtures/tiny_sweep.ts",
      "--executor",
      "local",
      "--jobs",
      "2",
      "--runs-root",
      runs,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /\[2\/2 done, \d running, 0 failed\]/);
    const status = await cli("sweep", [
      "status",
      "tests/fixtures/tiny_sweep.ts",
      "--runs-root",
      runs,
    ]);
    assert.match(status.stdout, /2 of 2 runs finished/);
    const dirs = status.stdout.match(/\S+-s[01]/g)!;
    assert.ok((await Deno.readTextFile(`${dirs[0]}/stdout.log`)).length > 0);
    const results = await cli("sweep", [
      "results",
      "tests/fixtures/tiny_sweep.ts",
      "--runs-root",
      runs,
    ]);
    assert.equal(results.code, 0, results.stderr);
    assert.match(results.stdout, /\| tiny\/run.iterations=2 \| `[0-9a-f]{12}` \| 2 \| /);
    assert.match(results.stdout, /95% CI/);
    const written = await cli("sweep", [
      "results",
      "tests/fixtures/tiny_sweep.ts",
      "--runs-root",
      runs,
      "--out",
      `${root}/table.md`,
      "--chart",
    ]);
    assert.equal(written.code, 0, written.stderr);
    const markdown = await Deno.readTextFile(`${root}/table.md`);
    assert.match(
      markdown,
      /^<!-- Generated by `deno task sweep results tests\/fixtures\/tiny_sweep.ts /,
    );
    assert.ok(markdown.includes("](table.svg)"));
    assert.match(await Deno.readTextFile(`${root}/table.svg`), /^<svg /);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
