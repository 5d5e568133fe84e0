import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { compile, stepFlops } from "../../runtime/compile/program.ts";
import { checkKernels, mergeKernelUses, SEGMENTOR_KERNELS } from "../../runtime/compile/kernels.ts";
import { DivergedError, trainableParams, trainStep } from "../../runtime/train/step.ts";
import { buildNetworks, disposeNetworks } from "../../runtime/train/networks.ts";
import { segmentorArchitecture } from "../../runtime/blocks/model.ts";
import type { StepContext } from "../../runtime/blocks/types.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import { RandomStream } from "../../runtime/random.ts";
import { countFlops } from "../../runtime/nn/segmentor.ts";
import { cludaContrast, crossEntropy, extend, pixelContrast } from "../../dsl/mod.ts";
import tiny from "../fixtures/tiny.ts";
import tinyDaformer, { TINY_ENCODER } from "../fixtures/tiny_daformer.ts";
import tinyPipa from "../fixtures/tiny_pipa.ts";
import tinyHrda from "../fixtures/tiny_hrda.ts";
import tinyMic from "../fixtures/tiny_mic.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";

Deno.test("terms that read the same pass share it; data no term reads is not loaded", () => {
  const program = compile(extend(tiny, { losses: { again: crossEntropy({ weight: 0.5 }) } }));
  assert.deepEqual(program.passes.map((p) => [p.id, p.readBy]), [["student@source", [
    "ce",
    "again",
  ]]]);
  assert.deepEqual(program.data.train.map((d) => [d.role, d.labelled]), [["source", true]]);
  assert.deepEqual(program.evaluation.sets.map((s) => s.role), ["targetVal", "sourceVal"]);
  assert.deepEqual(program.optimizer.rules.map((r) => r.key).sort(), ["head", "norm", "pos_block"]);
  assert.equal(program.schedule.maxIters, 12);
  const net = segmentorArchitecture(tiny);
  assert.equal(
    stepFlops(program),
    3 * countFlops(net.spec, net.options, { batch: 1, height: 64, width: 64 }),
  );
});

Deno.test("the declared kernel lists cover every kernel a training step runs", async () => {
  await useBackend("wasm");
  const program = compile(tiny);
  const networks = await buildNetworks(program);
  const model = networks.get("student")!;
  const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
  const image = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
  const label = tf.randomUniformInt([1, 64, 64], 0, 19) as tf.Tensor3D;
  const inputs = new Map([["source" as const, { image, label }]]);
  // tf.profile returns one shared object that the next profile overwrites: copy the names.
  const forward = [
    ...(await tf.profile(() => {
      tf.tidy(() => {
        const out = model.forward!(image, { training: true, rng: new RandomStream(1) });
        program.terms[0].compute({
          pass: () => out,
          view: () => ({ image, label }),
        } as unknown as StepContext);
      });
    })).kernelNames,
  ];
  const step = await tf.profile(async () => {
    await trainStep(program, networks, optimizer, inputs, 0, new RandomStream(0));
  });
  const declared = mergeKernelUses([program.kernels]);
  const all = new Set([...declared.differentiated, ...declared.backward]);
  const undeclared = step.kernelNames.filter((k) => !all.has(k) && !k.endsWith("__op"));
  assert.deepEqual(undeclared, [], "kernels a step runs but the lists do not declare");
  const notDifferentiated = forward.filter((k) =>
    !declared.differentiated.includes(k) && !k.endsWith("__op") &&
    !["Equal", "Fill", "OneHot", "Select"].includes(k)
  );
  assert.deepEqual(notDifferentiated, [], "forward kernels missing from `differentiated`");
  tf.dispose([image, label]);
  disposeNetworks(networks);
  optimizer.dispose();
});

Deno.test("a backend without a kernel fails before running, naming it", () => {
  const use = mergeKernelUses([SEGMENTOR_KERNELS, {
    differentiated: ["NoSuchOp"],
    backward: ["AlsoMissing"],
  }]);
  assert.throws(
    () => checkKernels(use, "cpu"),
    /cannot train on 'cpu': the 'cpu' backend has no kernel for AlsoMissing, NoSuchOp; no gradient is registered for NoSuchOp\. Nothing was run\./,
  );
  checkKernels(SEGMENTOR_KERNELS, "wasm");
});

Deno.test("a NaN loss stops the step before the update, naming the term", async () => {
  await useBackend("wasm");
  const program = compile(tiny);
  const poisoned = {
    ...program,
    terms: program.terms.map((t) => ({
      ...t,
      name: "poisoned",
      compute: (context: StepContext) => tf.mul(t.compute(context), NaN) as tf.Scalar,
    })),
  };
  const networks = await buildNetworks(program);
  const model = networks.get("student")!;
  const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
  const before = await model.params.get("decode_head.conv_seg.weight").data();
  const image = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
  const label = tf.randomUniformInt([1, 64, 64], 0, 19) as tf.Tensor3D;
  const tensors = tf.memory().numTensors;
  await assert.rejects(
    () =>
      trainStep(
        poisoned,
        networks,
        optimizer,
        new Map([["source", { image, label }]]),
        4,
        new RandomStream(0),
      ),
    (error: Error) =>
      error instanceof DivergedError &&
      /iteration 5: loss term 'poisoned' \(crossEntropy\) is NaN/.test(error.message),
  );
  assert.equal(tf.memory().numTensors, tensors, "no tensor leaks from the failed step");
  assert.deepEqual(await model.params.get("decode_head.conv_seg.weight").data(), before);
  assert.equal(optimizer.step, 0);
  tf.dispose([image, label]);
  disposeNetworks(networks);
});

Deno.test("DAFormer's program: teacher and frozen passes, mixed batch, both roles loaded", () => {
  const program = compile(tinyDaformer);
  assert.deepEqual(program.networks.map((n) => n.name), ["student", "frozen", "teacher"]);
  assert.deepEqual(
    program.networks.map((n) => [n.trainable, n.checkpointed, n.exported]),
    [[true, true, true], [false, false, false], [false, true, false]],
  );
  assert.deepEqual(program.passes.map((p) => [p.id, p.readBy.sort()]).sort(), [
    ["frozen@source:eval", ["fd"]],
    ["student@mixed", ["mix"]],
    ["student@source", ["ce", "fd"]],
    ["teacher@target:eval+bn", ["target view"]],
  ]);
  assert.deepEqual(program.views.map((v) => [v.name, v.by]), [
    ["target", "teacher"],
    ["mixed", "mixing"],
  ]);
  assert.deepEqual(
    program.data.train.map((d) => [d.role, d.labelled, d.prepare.length, d.pipeline.order]),
    [["source", true, 1, "shuffle"], ["target", false, 0, "random"]],
  );
  assert.match(
    program.networks[1].describe(
      new (class {
        trainable() {
          return [];
        }
      })() as never,
    ),
    new RegExp(TINY_ENCODER.replaceAll(".", "\\.")),
  );
  assert.deepEqual(program.metrics, [{ key: "pseudo-confidence", logAs: "pseudoConfidence" }]);
  const net = segmentorArchitecture(tinyDaformer);
  const flops = countFlops(net.spec, net.options, { batch: 1, height: 64, width: 64 });
  assert.equal(stepFlops(program), (3 + 1 + 3 + 1) * flops);
});

for (
  const [name, fixture] of [
    ["DAFormer", tinyDaformer],
    ["HRDA", tinyHrda],
    ["MIC(HRDA)", tinyMic],
    [
      "PiPa pixel contrast on HRDA",
      extend(tinyHrda, { losses: { pixel: pixelContrast({ minPixels: 5, projectionDim: 8 }) } }),
    ],
    [
      "PiPa on DAFormer",
      extend(tinyPipa, { losses: { patch: { startIteration: 0, confidence: 0 } } }),
    ],
    ["CLUDA on HRDA", extend(tinyHrda, { losses: { cluda: cludaContrast({ grid: 5 }) } })],
    [
      "CLUDA on DAFormer",
      extend(tinyDaformer, { losses: { cluda: cludaContrast({ resolution: "single", grid: 5 }) } }),
    ],
  ] as const
) {
  Deno.test(`a ${name} step runs only declared kernels and leaks no tensors`, async () => {
    await useBackend("wasm");
    await ensureTinyEncoder();
    const program = compile(fixture);
    const networks = await buildNetworks(program, (r) => Promise.resolve(r));
    const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
    const image = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
    const label = tf.randomUniformInt([1, 64, 64], 0, 19) as tf.Tensor3D;
    const target = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
    const inputs = new Map([
      ["source" as const, { image, label }],
      ["target" as const, { image: target }],
    ]);
    await trainStep(program, networks, optimizer, inputs, 0, new RandomStream(0)); // t = 0 copies
    const tensors = tf.memory().numTensors;
    let values: Record<string, number> = {};
    const step = await tf.profile(async () => {
      values = await trainStep(program, networks, optimizer, inputs, 1, new RandomStream(0));
    });
    assert.equal(tf.memory().numTensors, tensors, `tensor leak in a ${name} step`);
    for (const key of ["ce", "mix", "fd", "loss", "pseudo-confidence"]) {
      assert.ok(Number.isFinite(values[key]), `${key} = ${values[key]}`);
    }
    const declared = program.kernels;
    const all = new Set([...declared.differentiated, ...declared.backward]);
    // `unnamed scope` and `forward` are scopes of tf.customGrad (the feature distance's norm,
    // PiPa's anchor selection and gather) and of the gradient of a custom gradient, not kernels.
    const undeclared = [...new Set(step.kernelNames)].filter((k) =>
      !all.has(k) && !k.endsWith("__op") && !["unnamed scope", "forward"].includes(k)
    );
    assert.deepEqual(undeclared, [], `kernels a ${name} step runs but the lists do not declare`);
    tf.dispose([image, label, target]);
    disposeNetworks(networks);
    optimizer.dispose();
  });
}
