/**
 * A run directory stays whole across kills: a finished run missing its final outputs completes
 * them; a damaged newest checkpoint is set aside and the run resumes from the one before; partial
 * `*.tmp` files are removed. Each ends with the metrics of an uninterrupted run.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { cli } from "../cli/helpers.ts";
import { fresh as freshDir, reproducible } from "./helpers.ts";
import { checkpointPath, listCheckpoints } from "../../runtime/train/checkpoint.ts";
import { exists } from "../../runtime/io/exists.ts";

const ROOT = ".cache/test-runs";
const EXPERIMENT = "tests/fixtures/tiny.ts";
const fresh = (name: string) => freshDir(ROOT, name);

/** The per-class table of a report (its numbers, not its timings). */
function iouTable(report: string): string {
  return report.split("\n").filter((l) => l.startsWith("| ")).join("\n");
}

Deno.test("a finished run whose weights, report, pictures and pruning are missing completes them", async () => {
  const dir = await fresh("completed");
  const first = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(first.code, 0, first.stderr);
  const report = await Deno.readTextFile(join(dir, "report.md"));
  const metrics = await reproducible(dir);
  // A kill after the last checkpoint: no export, no report, and the pruning not yet run.
  await Deno.copyFile(checkpointPath(dir, 12), checkpointPath(dir, 1));
  for (
    const f of ["weights.safetensors", "report.md", "plots/miou.svg", "pictures/targetVal_1.png"]
  ) {
    await Deno.remove(join(dir, f));
  }
  const again = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stderr,
    /already finished 12 iterations; completed weights\.safetensors, report\.md, pruning \(1 old checkpoints\)/,
  );
  for (
    const f of ["weights.safetensors", "report.md", "plots/miou.svg", "pictures/targetVal_1.png"]
  ) {
    assert.ok(await exists(join(dir, f)), `${f} was not restored`);
  }
  assert.deepEqual(await listCheckpoints(dir), [9, 12]);
  assert.equal(iouTable(await Deno.readTextFile(join(dir, "report.md"))), iouTable(report));
  assert.deepEqual(await reproducible(dir), metrics, "the logged metrics are untouched");
  const third = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.match(third.stderr, /already finished 12 iterations; nothing to do/);
});

Deno.test("a truncated newest checkpoint: set aside with a notice, resumed from the one before", async () => {
  const reference = await fresh("recovery-reference");
  assert.equal((await cli("run", [EXPERIMENT, "--out", reference])).code, 0);
  const dir = await fresh("truncated");
  const stopped = await cli("run", [EXPERIMENT, "--out", dir, "--stop-after", "7"]);
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.deepEqual(await listCheckpoints(dir), [6, 7]);
  const newest = checkpointPath(dir, 7);
  const bytes = await Deno.readFile(newest);
  await Deno.writeFile(newest, bytes.subarray(0, bytes.length >> 1));
  const partial = `${checkpointPath(dir, 9)}.0a1b2c3d.tmp`;
  await Deno.writeFile(partial, bytes.subarray(0, 100));
  const resumed = await cli("run", [EXPERIMENT, "--out", dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(
    resumed.stderr,
    /notice: \S*iter_000007\.safetensors is damaged \(not a valid safetensors file: .*\(truncated\)\); kept as \S*iter_000007\.safetensors\.damaged, resuming from iteration 6/,
  );
  assert.match(resumed.stderr, /removed \S*iter_000009\.safetensors\.0a1b2c3d\.tmp/);
  assert.match(resumed.stderr, /resuming .* from iteration 6/);
  assert.doesNotMatch(resumed.stderr, /safetensors\.torch/, "no advice about re-exporting weights");
  assert.equal(await exists(partial), false);
  assert.ok(await exists(`${newest}.damaged`), "the damaged file is kept, not deleted");
  assert.deepEqual(await reproducible(dir), await reproducible(reference));
});

Deno.test("a run that fails on missing data names the field, fails and leaves no run directory", async () => {
  const dir = await fresh("no-data");
  const missing = `${ROOT}/no-such-cityscapes`;
  const run = await cli("run", [
    EXPERIMENT,
    "--out",
    dir,
    "--set",
    `data.targetVal={"kind":"cityscapes","root":"${missing}","split":"val"}`,
  ]);
  assert.notEqual(run.code, 0, run.stderr);
  assert.match(run.stderr, /data\.targetVal\.root/);
  assert.doesNotMatch(run.stderr, /--root/);
  assert.equal(await exists(dir), false, "no run directory is left behind");
});
