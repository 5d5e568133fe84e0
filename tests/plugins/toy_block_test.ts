/**
 * The plug-in design, end to end, with a block that lives only in this folder: it is compiled,
 * planned, trained for a few steps, checkpointed, resumed bit-exactly, and its head is trained
 * in its own optimiser group — and no UDA-Lab file was edited to make that possible.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { extend } from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { formatPlan } from "../../runtime/cli/plan.ts";
import { train } from "../../runtime/train/loop.ts";
import { checkpointPath, readCheckpoint } from "../../runtime/train/checkpoint.ts";
import { readSafetensors } from "../../runtime/io/safetensors.ts";
import { fresh, reproducible } from "../train/helpers.ts";
import tiny from "../fixtures/tiny.ts";
import { TOY_KEY, toyProjection } from "./toy_projection.ts";

const ROOT = ".cache/test-runs";
const experiment = extend(tiny, {
  losses: { toy: toyProjection({ weight: 0.5 }) },
  run: { iterations: 6, checkpointEvery: 2, logEvery: 2 },
  evaluation: { every: 6 },
});

const quiet = { name: "toy", write: () => {}, terminal: false, command: [] };

Deno.test("a block defined in the test folder compiles, plans and shares the student's pass", async () => {
  const program = compile(experiment);
  assert.deepEqual(program.networks.map((n) => n.name), ["student", "toyProjection"]);
  assert.deepEqual(program.passes.map((p) => [p.id, p.readBy]), [["student@source", [
    "ce",
    "toy",
  ]]]);
  assert.ok(program.optimizer.rules.some((r) => r.key === TOY_KEY && r.lrMult === 10));
  const plan = await formatPlan(program, "toy");
  assert.match(plan, /toyProjection +1×1 projection of the decoder embedding, 136 parameters/);
  assert.match(plan, /toy +toyProjection × 0\.5; reads student@source\.embedding/);
  assert.match(
    plan,
    /toy_projection +lr 0\.02 \(×10\), decay 0 \(×0\): 2 tensors, 136 parameters/,
  );
});

Deno.test("the toy block trains, is checkpointed and exported, and resumes bit-exactly", async () => {
  const program = compile(experiment);
  const whole = await fresh(ROOT, "toy-whole");
  const finished = await train(program, { ...quiet, runDir: whole, resume: "auto" });
  assert.equal(finished.status, "finished", finished.message);

  const split = await fresh(ROOT, "toy-split");
  const stopped = await train(program, { ...quiet, runDir: split, resume: "auto", stopAfter: 3 });
  assert.equal(stopped.status, "interrupted");
  const checkpoint = await readCheckpoint(checkpointPath(split, 3));
  const keys = [...checkpoint.file.tensors.keys()];
  assert.ok(keys.includes(`toyProjection.decode_head.${TOY_KEY}.weight`), "head checkpointed");
  assert.ok(keys.includes(`optimizer.decode_head.${TOY_KEY}.weight.exp_avg`), "head optimised");
  const resumed = await train(program, { ...quiet, runDir: split, resume: "require" });
  assert.equal(resumed.status, "finished", resumed.message);
  assert.deepEqual(await reproducible(split), await reproducible(whole));

  const exported = await readSafetensors(join(whole, "weights.safetensors"));
  const weight = exported.tensors.get(`decode_head.${TOY_KEY}.weight`);
  assert.ok(weight !== undefined, "the head is part of the exported model");
  const last = await readCheckpoint(checkpointPath(whole, 6));
  const moments = last.file.tensors.get(`optimizer.decode_head.${TOY_KEY}.weight.exp_avg`)!;
  assert.ok((moments.data as Float32Array).some((v) => v !== 0), "the head received gradients");
  const records = (await reproducible(whole)) as { type: string; losses?: { toy: number } }[];
  const toy = records.filter((r) => r.type === "train").map((r) => r.losses!.toy);
  assert.equal(toy.length, 3);
  assert.ok(toy.every((v) => Number.isFinite(v) && v > 0), `${toy}`);
});
