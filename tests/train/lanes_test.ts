import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { compile, type Program, viewCrop } from "../../runtime/compile/program.ts";
import { trainableParams, trainStep } from "../../runtime/train/step.ts";
import { buildNetworks, disposeNetworks } from "../../runtime/train/networks.ts";
import { passOrder, planLanes, termGroups } from "../../runtime/train/lanes.ts";
import { LaneWorker } from "../../runtime/train/lane_client.ts";
import { parseLanesFlag, takeLanesFlag } from "../../runtime/train/lanes_start.ts";
import type { Role, View } from "../../runtime/blocks/types.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import { RandomStream } from "../../runtime/random.ts";
import tiny from "../fixtures/tiny.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";
import tinyPipa from "../fixtures/tiny_pipa.ts";
import tinyHrda from "../fixtures/tiny_hrda.ts";
import { extend } from "../../dsl/mod.ts";
import { loadEvalSet } from "../../runtime/eval/evaluate.ts";
import { evaluateAll } from "../../runtime/train/outputs.ts";
import { splitPoint } from "../../runtime/train/split_eval.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";

Deno.test("terms sharing a trained pass form one group; the split keeps hook-fed terms here", () => {
  const daformer = compile(tinyDaformer);
  assert.deepEqual(termGroups(daformer).map((g) => g.terms.map((t) => t.name)), [
    ["ce", "fd"],
    ["mix"],
  ]);
  const lanes = planLanes(daformer)!;
  assert.deepEqual([lanes.main.groups, lanes.worker.groups], [[0], [1]]);
  // The worker builds the teacher's pseudo-labels and the mix; the main process needs no view.
  assert.deepEqual([...lanes.worker.views].sort(), ["mixed", "source", "target"]);
  assert.deepEqual([...lanes.main.views], ["source"]);
  assert.deepEqual(passOrder(daformer, termGroups(daformer)), [
    "teacher@target:eval+bn",
    "frozen@source:eval",
    "student@source",
    "student@mixed",
  ]);
  const pipa = compile(tinyPipa);
  const groups = termGroups(pipa);
  const patch = groups.find((g) => g.terms.some((t) => t.name === "patch"))!;
  assert.equal(patch.pinned, true);
  assert.equal(planLanes(pipa)!.worker.groups.includes(patch.index), false);
  // One group: nothing to split.
  assert.equal(planLanes(compile(tiny)), undefined);
});

Deno.test("--lanes takes 1, 2 or auto and names the fix otherwise", () => {
  assert.deepEqual(takeLanesFlag(["a.ts", "--lanes", "2", "--x"]), {
    rest: ["a.ts", "--x"],
    lanes: 2,
  });
  assert.deepEqual(takeLanesFlag(["--lanes=1"]), { rest: [], lanes: 1 });
  assert.equal(parseLanesFlag(undefined), "auto");
  assert.throws(() => parseLanesFlag("3"), /--lanes: expected 1, 2 or auto, got "3"/);
});

function randomInputs(program: Program, seed: number): Map<Role, View> {
  const rng = new RandomStream(seed);
  const inputs = new Map<Role, View>();
  for (const plan of program.data.train) {
    const [h, w] = viewCrop(program, plan.role);
    const n = program.data.batchSize;
    const hostLabel = Int32Array.from({ length: n * h * w }, () => rng.int(19));
    inputs.set(plan.role, {
      image: tf.tensor4d(rng.normalArray(n * h * w * 3), [n, h, w, 3]),
      ...(plan.labelled ? { label: tf.tensor3d(hostLabel, [n, h, w], "int32"), hostLabel } : {}),
    });
  }
  return inputs;
}

/** Losses of every step and every parameter and buffer afterwards, run one way. */
async function runSteps(
  program: Program,
  steps: number,
  lanes: boolean,
): Promise<{ values: Record<string, number>[]; params: Map<string, Float32Array> }> {
  const networks = await buildNetworks(program);
  const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
  const plan = planLanes(program)!;
  const worker = lanes ? await LaneWorker.start(program, plan, 1) : undefined;
  const values: Record<string, number>[] = [];
  try {
    for (let t = 0; t < steps; t++) {
      const inputs = randomInputs(program, 100 + t);
      try {
        values.push(
          await trainStep(program, networks, optimizer, inputs, t, new RandomStream(7), worker),
        );
      } finally {
        tf.dispose([...inputs.values()].flatMap((v) => [v.image, ...(v.label ? [v.label] : [])]));
      }
    }
    const params = new Map<string, Float32Array>();
    for (const [name, network] of networks) {
      for (const p of network.params.list()) {
        params.set(`${name}.${p.name}`, p.variable.dataSync() as Float32Array);
      }
    }
    // The split really ran in the worker: one request per step.
    if (worker !== undefined) assert.equal(worker.stepsRun, steps);
    return { values, params };
  } finally {
    worker?.close();
    optimizer.dispose();
    disposeNetworks(networks);
  }
}

async function assertSameBothWays(program: Program, steps: number): Promise<void> {
  const before = tf.memory().numTensors;
  const one = await runSteps(program, steps, false);
  const two = await runSteps(program, steps, true);
  assert.deepEqual(two.values, one.values);
  assert.deepEqual([...two.params.keys()], [...one.params.keys()]);
  for (const [name, value] of one.params) {
    assert.ok(
      value.every((v, i) => Object.is(v, two.params.get(name)![i])),
      `${name} differs between one process and two`,
    );
  }
  // BatchNorm buffers moved (the teacher's on the target batch, the student's twice).
  const buffer = [...one.params.keys()].find((k) =>
    k.startsWith("student.") && k.endsWith("running_var")
  );
  assert.ok(buffer !== undefined && one.params.get(buffer)!.some((v) => v !== 1));
  assert.equal(tf.memory().numTensors, before);
}

const SPLIT_CASES = [
  [
    "a DAFormer step split over two processes gives the same losses and weights bit for bit",
    tinyDaformer,
    4,
  ],
  [
    "a PiPa step (patch contrast kept with its bank hook) splits without changing a bit",
    tinyPipa,
    5,
  ],
] as const;

for (const [name, experiment, steps] of SPLIT_CASES) {
  Deno.test({
    name,
    sanitizeResources: false,
    async fn() {
      await useBackend("wasm");
      await ensureTinyEncoder();
      await assertSameBothWays(compile(experiment), steps);
    },
  });
}

Deno.test("a validation set is cut about half way on whole batches, after the kept pictures", () => {
  assert.equal(splitPoint(6, 2, 1), 4);
  assert.equal(splitPoint(7, 2, 0), 4);
  assert.equal(splitPoint(8, 4, 0), 4);
  assert.equal(splitPoint(8, 4, 6), 8);
  assert.equal(splitPoint(3, 4, 0), 3);
  assert.equal(splitPoint(10, 1, 0), 5);
});

Deno.test({
  name: "an evaluation shared with the lane worker counts what one process counts (HRDA)",
  sanitizeResources: false,
  async fn() {
    await useBackend("wasm");
    await ensureTinyEncoder();
    const program = compile(
      extend(tinyHrda, { data: { targetVal: { count: 6 } }, evaluation: { pictures: 1 } }),
    );
    const networks = await buildNetworks(program);
    const worker = await LaneWorker.start(program, planLanes(program)!, 1);
    const before = tf.memory().numTensors;
    try {
      // Values the worker's own initialisation cannot have: only the ones sent give equal counts.
      const student = networks.get("student")!;
      const rng = new RandomStream(3);
      for (const p of student.params.list()) {
        tf.tidy(() =>
          p.variable.assign(
            tf.add(
              p.variable,
              tf.mul(0.05, tf.tensor(rng.normalArray(p.variable.size), p.variable.shape)),
            ),
          )
        );
      }
      const sets = await Promise.all(program.evaluation.sets.map((plan) => loadEvalSet(plan)));
      const one = await evaluateAll(program, student, sets, 0, undefined, 1);
      const two = await evaluateAll(program, student, sets, 0, undefined, 1, worker);
      assert.equal(sets[0].images.length, 6);
      for (const role of Object.keys(one)) {
        assert.deepEqual([...two[role].confusion.counts], [...one[role].confusion.counts], role);
        assert.deepEqual(two[role].metrics, one[role].metrics);
        assert.deepEqual(two[role].predictions, one[role].predictions);
        assert.deepEqual(two[role].maps, one[role].maps);
      }
      assert.ok(one.targetVal.predictions.length === 1 && one.targetVal.maps.length === 1);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      worker.close();
      disposeNetworks(networks);
    }
  },
});
