import { strict as assert } from "node:assert";
import { join } from "node:path";
import { denoCommand } from "../../runtime/cli/deno_command.ts";
import { cli, commandArgs, Watched } from "../cli/helpers.ts";
import { readMetrics } from "../../runtime/report/metrics_log.ts";
import { fresh as freshDir, reproducible } from "./helpers.ts";
import { listCheckpoints } from "../../runtime/train/checkpoint.ts";
import { decodeEventFile } from "../../runtime/report/tfevents.ts";

const ROOT = ".cache/test-runs";
const EXPERIMENT = "tests/fixtures/tiny.ts";

const fresh = (name: string) => freshDir(ROOT, name);

async function tensorboardScalars(dir: string): Promise<unknown[]> {
  const name = [...Deno.readDirSync(dir)].find((e) => e.name.includes("tfevents"))!.name;
  return decodeEventFile(await Deno.readFile(join(dir, name))).slice(1).map((e) => ({
    step: e.step,
    scalars: Object.fromEntries(
      Object.entries(e.scalars).filter(([k]) =>
        !k.startsWith("speed/") && !k.startsWith("memory/")
      ),
    ),
  }));
}

/** Starts a run whose stdout is discarded and stderr watched. */
function watch(args: string[]): Watched {
  const child = new Deno.Command(denoCommand(), {
    args: commandArgs("run", args),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return new Watched(child);
}

/** The progress line of iteration `n` or later (non-terminal progress prints `iter k/12`). */
function progressAt(n: number): RegExp {
  return new RegExp(`iter (${Array.from({ length: 13 - n }, (_, k) => n + k).join("|")})/12`);
}

let uninterruptedRun: Promise<string> | undefined;

/** The uninterrupted reference run, trained once per test process (so --filter works). */
function uninterrupted(): Promise<string> {
  uninterruptedRun ??= (async () => {
    const dir = await fresh("whole");
    const result = await cli("run", [EXPERIMENT, "--out", dir]);
    assert.equal(result.code, 0, result.stderr);
    return dir;
  })();
  return uninterruptedRun;
}

Deno.test("an uninterrupted tiny run writes the whole run directory", async () => {
  const dir = await uninterrupted();
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  for (
    const f of [
      "checkpoints",
      "env.json",
      "experiment.yaml",
      "metrics.jsonl",
      "pictures",
      "plots",
      "report.md",
      "weights.safetensors",
    ]
  ) {
    assert.ok(files.includes(f), `missing ${f} in ${files}`);
  }
  assert.deepEqual(await listCheckpoints(dir), [9, 12], "retention keeps the newest 2");
  const records = await readMetrics(dir);
  const train = records.filter((r) => r.type === "train");
  assert.deepEqual(train.map((r) => r.iter), [2, 4, 6, 8, 10, 12]);
  assert.equal(new Set(train.map((r) => r.type === "train" && r.tensors)).size, 1, "tensor leak");
  const evals = records.filter((r) => r.type === "eval");
  assert.deepEqual(evals.map((r) => `${r.iter}:${r.type === "eval" && r.set}`), [
    "6:targetVal",
    "6:sourceVal",
    "12:targetVal",
    "12:sourceVal",
  ]);
  const report = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(report, /!\[loss\]\(plots\/loss\.svg\)/);
  assert.match(report, /\| class \| targetVal \| sourceVal \|/);
  assert.match(report, /\| road \| \d+\.\d \| \d+\.\d \|/);
  assert.equal((report.match(/pictures\/targetVal_\d\.png/g) ?? []).length, 2);
  const svg = await Deno.readTextFile(join(dir, "plots", "miou.svg"));
  assert.match(svg, /<polyline/);
  // One line per class the target evaluations define, drawn from the two evaluations (6, 12).
  assert.match(report, /!\[target IoU per class\]\(plots\/class_iou\.svg\)/);
  const classes = await Deno.readTextFile(join(dir, "plots", "class_iou.svg"));
  const lastTarget = evals.filter((r) => r.type === "eval" && r.set === "targetVal").at(-1);
  const defined = lastTarget?.type === "eval"
    ? Object.values(lastTarget.iou).filter((v) => v !== null).length
    : 0;
  assert.equal((classes.match(/<polyline/g) ?? []).length, defined);
  const events = await tensorboardScalars(dir);
  assert.equal(events.length, records.length, "one TensorBoard event per metrics line");
  const env = JSON.parse(await Deno.readTextFile(join(dir, "env.json")));
  assert.equal(env.sessions.length, 1);
  assert.equal(env.sessions[0].tensorflow.version, "4.22.0");
});

Deno.test("--stop-after 5 checkpoints iteration 5 and exits 130; the rerun equals an uninterrupted run", async () => {
  const dir = await fresh("stopped");
  const stopped = await cli("run", [EXPERIMENT, "--out", dir, "--stop-after", "5"]);
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /stopped after iteration 5; checkpoint written/);
  assert.deepEqual(await listCheckpoints(dir), [3, 5]);
  const resumed = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* from iteration 5/);
  const reference = await uninterrupted();
  assert.deepEqual(await reproducible(dir), await reproducible(reference));
  assert.deepEqual(await tensorboardScalars(dir), await tensorboardScalars(reference));
});

Deno.test("SIGKILL after an iteration, then resume: the same metrics as without interruption", async () => {
  // A fixed kill point by default, so the test is the same every time; UDA_KILL_SEED varies it.
  const seed = Number(Deno.env.get("UDA_KILL_SEED") ?? 0);
  // Between the first checkpoint (iteration 3) and the end, so the run resumes from a checkpoint.
  const killAfter = 4 + 2 * (seed % 4);
  const dir = await fresh("killed");
  const run = watch([EXPERIMENT, "--out", dir]);
  await run.until(progressAt(killAfter));
  run.child.kill("SIGKILL");
  const killed = await run.finish();
  assert.notEqual(killed.code, 0, `the run ended before iteration ${killAfter}: ${killed.stderr}`);
  const resumed = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* from iteration \d+/);
  assert.deepEqual(await listCheckpoints(dir), [9, 12]);
  const reference = await uninterrupted();
  assert.deepEqual(await reproducible(dir), await reproducible(reference));
  assert.deepEqual(await tensorboardScalars(dir), await tensorboardScalars(reference));
});

Deno.test("SIGTERM writes a checkpoint and exits 130; running again finishes identically", async () => {
  const dir = await fresh("terminated");
  const run = watch([EXPERIMENT, "--out", dir]);
  await run.until(progressAt(4));
  run.child.kill("SIGTERM");
  const stopped = await run.finish();
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /SIGTERM: stopped after iteration (\d+); checkpoint written/);
  const at = Number(/after iteration (\d+)/.exec(stopped.stderr)![1]);
  assert.ok((await listCheckpoints(dir)).includes(at));
  const resumed = await cli("run", [EXPERIMENT, "--out", dir, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming .* from iteration ${at}`));
  assert.deepEqual(await reproducible(dir), await reproducible(await uninterrupted()));
  const env = JSON.parse(await Deno.readTextFile(join(dir, "env.json")));
  assert.deepEqual(env.sessions.map((s: { fromIteration: number }) => s.fromIteration), [0, at]);
});

Deno.test("eval re-evaluates a run's checkpoint to the mIoU the run logged", async () => {
  const reference = await uninterrupted();
  const result = await cli("eval", [reference, "--json", join(ROOT, "eval.json")]);
  assert.equal(result.code, 0, result.stderr);
  const logged = (await readMetrics(reference)).filter((r) => r.type === "eval" && r.iter === 12);
  const evaluated = JSON.parse(await Deno.readTextFile(join(ROOT, "eval.json")));
  for (const r of logged) {
    if (r.type !== "eval") continue;
    assert.equal(evaluated.results[r.set].mIoU, r.mIoU, r.set);
  }
  assert.match(result.stdout, /\| \*\*mIoU\*\* \|/);
});

Deno.test("--resume without a checkpoint, and a run directory of another experiment, are refused", async () => {
  const dir = await fresh("refused");
  const none = await cli("run", [EXPERIMENT, "--out", dir, "--resume"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /has no checkpoint to resume from/);
  const other = await cli("run", [
    EXPERIMENT,
    "--out",
    await uninterrupted(),
    "--set",
    "losses.ce.weight=2",
  ]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /holds a run of a different experiment/);
});
