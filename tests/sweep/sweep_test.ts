import { strict as assert } from "node:assert";
import { experimentHash } from "../../dsl/mod.ts";
import { applyFlags, loadExperiment } from "../../runtime/cli/experiment_file.ts";
import { variants } from "../../runtime/sweep/expand.ts";
import { sweep } from "../../runtime/sweep/sweep.ts";
import { WORKER_PERMISSIONS } from "../../runtime/sweep/expansion.ts";
import { resolve } from "node:path";
import { cli } from "../cli/helpers.ts";
import { exists } from "../../runtime/io/exists.ts";
import { arraySpec } from "../../runtime/sweep/slurm.ts";
import { parseIndices, parseSacct, parseSqueue } from "../../runtime/sweep/queue.ts";

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

/**
 * A PATH on which Deno is found but no Slurm: npm's `node_modules/.bin`, or undefined when this
 * checkout has none (Deno installed elsewhere, whose folder may hold sbatch too).
 */
async function pathWithoutSlurm(): Promise<string | undefined> {
  const bin = resolve("node_modules/.bin");
  return await exists(`${bin}/deno`) ? bin : undefined;
}

Deno.test("sweep: bad inputs are one-paragraph errors with exit 2", async () => {
  const noSlurm = await pathWithoutSlurm();
  if (noSlurm === undefined) {
    console.log("the `sbatch` missing case needs npm's node_modules/.bin/deno; not checked");
  }
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [["run", "tests/fixtures/tiny_sweep.ts", "--executor", "cloud"], /--executor: expected local/],
    [["run", "tests/fixtures/tiny_sweep.ts"], /--executor: expected local or slurm, got ""/],
    [["show", "sweeps/nope.ts"], /sweeps\/nope.ts: no such sweep file/],
    [
      ["show", "tests/fixtures/bad_sweep.ts"],
      /variant run.iterationz=2 .* `--set` paths of the experiment/,
    ],
    ...(noSlurm === undefined ? [] : [[
      ["run", "tests/fixtures/tiny_sweep.ts", "--executor", "slurm", "--runs-root", ".cache/x"],
      /--executor slurm submits with sbatch, which is not on PATH here/,
      { PATH: noSlurm },
    ] as [string[], RegExp, Record<string, string>]]),
  ];
  for (const [args, message, env] of cases) {
    const r = await cli("sweep", args, undefined, env);
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
    / {2}1\) train (runs\/tiny\/[0-9a-f]{12}-s1) tests\/fixtures\/tiny.ts --set run.iterations=2 --seed 1 --out \1 ;;/,
  );
  // Deno comes from the node's PATH, or the submitting executable; never npm's location.
  assert.match(r.stdout, /^deno=\$\(command -v deno \|\| true\)$/m);
  assert.match(r.stdout, /"\$deno" task --quiet run "\$@"/);
  assert.doesNotMatch(r.stdout.replace(/^\[ -n "\$deno" \] \|\| deno=.*$/m, ""), /node_modules/);
  // A cancelled task's shell passes SIGTERM on and waits for the checkpoint.
  assert.match(r.stdout, /^trap '.*kill -TERM "\$child".*' TERM INT$/m);
  await Deno.mkdir(".cache", { recursive: true });
  const empty = await Deno.makeTempDir({ dir: ".cache", prefix: "test-sweep-empty-" });
  try {
    const daformer = await cli("sweep", [
      "run",
      "sweeps/daformer_seeds.ts",
      "--executor",
      "slurm",
      "--dry-run",
      "--runs-root",
      empty,
    ]);
    assert.equal(daformer.code, 0, daformer.stderr);
    assert.match(daformer.stdout, /--dependency=afterok:\$WEIGHTS_JOB/);
    assert.match(
      daformer.stdout,
      /train \S+\/pretrain\/[0-9a-f]{12}-s0 experiments\/pretrain.ts$/m,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("arraySpec and the queue parsers: the indices a resubmission asks for", () => {
  assert.equal(arraySpec([1]), "1");
  assert.equal(arraySpec([0, 2, 3, 4, 7]), "0,2-4,7");
  assert.deepEqual(parseIndices("[1,3-4%2]"), [1, 3, 4]);
  const tasks = new Map();
  parseSqueue("12|0-1|PENDING\n15|1|RUNNING\n", tasks);
  parseSacct("12_0|COMPLETED\n12_0.batch|COMPLETED\n12_1|CANCELLED by 0\n", tasks);
  assert.deepEqual(tasks.get(0), { job: "12", state: "PENDING", source: "squeue" });
  assert.deepEqual(tasks.get(1), { job: "15", state: "RUNNING", source: "squeue" });
  const ended = new Map();
  parseSacct("12_1|CANCELLED by 0\n", ended);
  assert.deepEqual(ended.get(1), { job: "12", state: "CANCELLED", source: "sacct" });
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
