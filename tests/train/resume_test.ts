import { strict as assert } from "node:assert";
import { join } from "node:path";
import { cli, finish, spawn } from "../cli/helpers.ts";
import { readMetrics } from "../../runtime/train/run_dir.ts";
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

/** Waits until the run has logged a training record at or past `iteration`. */
async function waitForIteration(dir: string, iteration: number, child: Deno.ChildProcess) {
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    const records = await readMetrics(dir).catch(() => []);
    if (records.some((r) => r.type === "train" && r.iter >= iteration)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`the run did not reach iteration ${iteration} within a minute`);
}

let uninterrupted: string;

Deno.test("an uninterrupted tiny run writes the whole run directory", async () => {
  uninterrupted = await fresh("whole");
  const result = await cli("run", [EXPERIMENT, "--out", uninterrupted]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /targetVal mIoU \(19\): \d+\.\d/);
  const files = [...Deno.readDirSync(uninterrupted)].map((e) => e.name).sort();
  for (
    const f of [
      "checkpoints",
      "env.json",
      "experiment.yaml",
      "metrics.jsonl",
      "pictures",
      "plots",
      "report.md",
    ]
  ) {
    assert.ok(files.includes(f), `missing ${f} in ${files}`);
  }
  assert.deepEqual(await listCheckpoints(uninterrupted), [9, 12], "retention keeps the newest 2");
  const records = await readMetrics(uninterrupted);
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
  const report = await Deno.readTextFile(join(uninterrupted, "report.md"));
  assert.match(report, /!\[loss\]\(plots\/loss\.svg\)/);
  assert.match(report, /\| class \| targetVal \| sourceVal \|/);
  assert.match(report, /\| road \| \d+\.\d \| \d+\.\d \|/);
  assert.equal((report.match(/pictures\/targetVal_\d\.png/g) ?? []).length, 2);
  const svg = await Deno.readTextFile(join(uninterrupted, "plots", "miou.svg"));
  assert.match(svg, /<polyline/);
  const events = await tensorboardScalars(uninterrupted);
  assert.equal(events.length, records.length, "one TensorBoard event per metrics line");
  const env = JSON.parse(await Deno.readTextFile(join(uninterrupted, "env.json")));
  assert.equal(env.sessions.length, 1);
  assert.equal(env.sessions[0].tensorflow.version, "4.22.0");
});

Deno.test("SIGKILL at a random point, then resume: the same metrics as without interruption", async () => {
  // The kill point is random, as the issue asks; its seed is printed so a failure can be replayed.
  const seed = Number(Deno.env.get("UDA_KILL_SEED") ?? Date.now() % 100000);
  // Between the first checkpoint (iteration 3) and the end, so the run resumes from a checkpoint.
  const killAfter = 4 + (seed % 5);
  console.log(`kill after iteration ≥ ${killAfter} (UDA_KILL_SEED=${seed})`);
  const dir = await fresh("killed");
  const child = spawn("run", [EXPERIMENT, "--out", dir]);
  await waitForIteration(dir, killAfter, child);
  child.kill("SIGKILL");
  const killed = await finish(child);
  assert.notEqual(killed.code, 0);
  const resumed = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const checkpoints = await listCheckpoints(dir);
  assert.match(resumed.stderr, /resuming .* from iteration \d+/);
  assert.deepEqual(checkpoints, [9, 12]);
  assert.deepEqual(await reproducible(dir), await reproducible(uninterrupted));
  assert.deepEqual(await tensorboardScalars(dir), await tensorboardScalars(uninterrupted));
});

Deno.test("SIGTERM writes a checkpoint and exits 130; running again finishes identically", async () => {
  const dir = await fresh("terminated");
  const child = spawn("run", [EXPERIMENT, "--out", dir]);
  await waitForIteration(dir, 4, child);
  child.kill("SIGTERM");
  const stopped = await finish(child);
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /SIGTERM: stopped after iteration (\d+); checkpoint written/);
  const at = Number(/after iteration (\d+)/.exec(stopped.stderr)![1]);
  assert.ok((await listCheckpoints(dir)).includes(at));
  const resumed = await cli("run", [EXPERIMENT, "--out", dir, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming .* from iteration ${at}`));
  assert.deepEqual(await reproducible(dir), await reproducible(uninterrupted));
  const env = JSON.parse(await Deno.readTextFile(join(dir, "env.json")));
  assert.deepEqual(env.sessions.map((s: { fromIteration: number }) => s.fromIteration), [0, at]);
});

Deno.test("eval re-evaluates a run's checkpoint to the mIoU the run logged", async () => {
  const result = await cli("eval", [uninterrupted, "--json", join(ROOT, "eval.json")]);
  assert.equal(result.code, 0, result.stderr);
  const logged = (await readMetrics(uninterrupted)).filter((r) =>
    r.type === "eval" && r.iter === 12
  );
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
    uninterrupted,
    "--set",
    "losses.ce.weight=2",
  ]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /holds a run of a different experiment/);
});
