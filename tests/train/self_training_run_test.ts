import { strict as assert } from "node:assert";
import { join } from "node:path";
import { cli, finish, spawn } from "../cli/helpers.ts";
import { readMetrics } from "../../runtime/report/metrics_log.ts";
import { fresh as freshDir, reproducible } from "./helpers.ts";
import { checkpointPath, listCheckpoints } from "../../runtime/train/checkpoint.ts";
import { readSafetensors } from "../../runtime/io/safetensors.ts";
import { weightsResolver } from "../../runtime/cli/run.ts";
import { FINAL_WEIGHTS } from "../../runtime/train/loop.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";

const ROOT = ".cache/test-self-training";
const EXPERIMENT = "tests/fixtures/tiny_daformer.ts";

const fresh = (name: string) => freshDir(ROOT, name);

let whole: string;

Deno.test("a tiny DAFormer run: teacher checkpointed, confidence logged, no leaks", async () => {
  await ensureTinyEncoder();
  whole = await fresh("whole");
  const result = await cli("run", [EXPERIMENT, "--out", whole]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /rare-class sampling: \d+ classes over 16 images/);
  const records = await readMetrics(whole);
  const train = records.filter((r) => r.type === "train");
  assert.equal(train.length, 6);
  for (const r of train) {
    if (r.type !== "train") continue;
    assert.deepEqual(Object.keys(r.losses).sort(), ["ce", "fd", "mix"]);
    assert.ok(r.pseudoConfidence! >= 0 && r.pseudoConfidence! <= 1, `${r.pseudoConfidence}`);
  }
  assert.equal(new Set(train.map((r) => r.type === "train" && r.tensors)).size, 1, "tensor leak");
  const last = await readSafetensors(checkpointPath(whole, 12));
  const names = [...last.tensors.keys()];
  const student = names.filter((n) => n.startsWith("student.")).map((n) => n.slice(8));
  const teacher = names.filter((n) => n.startsWith("teacher.")).map((n) => n.slice(8));
  assert.deepEqual(teacher.sort(), student.sort(), "the teacher is checkpointed in full");
  assert.ok(!names.some((n) => n.startsWith("frozen.")), "the frozen encoder is not saved");
  const weights = await readSafetensors(join(whole, FINAL_WEIGHTS));
  assert.ok(weights.tensors.has("backbone.patch_embed1.proj.weight"));
});

Deno.test("SIGTERM then resume: a DAFormer run logs exactly what an uninterrupted one does", async () => {
  await ensureTinyEncoder();
  const dir = await fresh("terminated");
  const child = spawn("run", [EXPERIMENT, "--out", dir]);
  const started = Date.now();
  while (Date.now() - started < 90_000) {
    const records = await readMetrics(dir).catch(() => []);
    if (records.some((r) => r.type === "train" && r.iter >= 4)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGTERM");
  const stopped = await finish(child);
  assert.equal(stopped.code, 130, stopped.stderr);
  const at = Number(/after iteration (\d+)/.exec(stopped.stderr)![1]);
  assert.ok(at < 12 && (await listCheckpoints(dir)).includes(at));
  const resumed = await cli("run", [EXPERIMENT, "--out", dir, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming .* from iteration ${at}`));
  assert.deepEqual(await reproducible(dir), await reproducible(whole));
});

Deno.test("an experiment named as weights is trained once, then its weights are reused", async () => {
  const runs = await fresh("deps");
  const written: string[] = [];
  const resolve = weightsResolver((t) => written.push(t), false, [], runs);
  assert.equal(await resolve("pretrained/mit_b5.safetensors"), "pretrained/mit_b5.safetensors");
  const path = await resolve("tests/fixtures/tiny.ts");
  assert.match(path, /deps\/.*tiny\/[0-9a-f]{12}-s0\/weights\.safetensors$/);
  assert.ok(written.some((t) => /has no finished run yet: training it first/.test(t)));
  const before = written.length;
  assert.equal(await resolve("tests/fixtures/tiny.ts"), path);
  assert.equal(written.length, before, "the second use trains nothing");
  const cyclic = weightsResolver(() => {}, false, ["tests/fixtures/tiny.ts"], runs);
  await assert.rejects(() => cyclic("tests/fixtures/tiny.ts"), /form a cycle/);
});
