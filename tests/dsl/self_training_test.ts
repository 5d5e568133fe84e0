import { strict as assert } from "node:assert";
import {
  classMix,
  crossEntropy,
  diffExperiments,
  emaTeacher,
  ExperimentError,
  experimentFromPlain,
  extend,
  featureDistance,
  formatChanges,
  off,
  rareClassSampling,
  showExperiment,
} from "../../dsl/mod.ts";
import sourceOnly from "../../experiments/source_only.ts";
import daformer from "../../experiments/daformer.ts";
import gta2cs from "../../experiments/gta2cs/daformer.ts";
import synthia2cs from "../../experiments/synthia2cs/daformer.ts";
import gta2csPaper from "../../experiments/gta2cs/daformer_paper.ts";
import synthia2csPaper from "../../experiments/synthia2cs/daformer_paper.ts";

function issuesOf(f: () => unknown): string[] {
  try {
    f();
  } catch (error) {
    if (error instanceof ExperimentError) return error.issues.map((i) => i.path);
    throw error;
  }
  return [];
}

Deno.test("published defaults of the self-training blocks", () => {
  const t = emaTeacher();
  assert.equal(t.alpha, 0.999);
  assert.equal(t.threshold, 0.968);
  assert.equal(t.confidence, "image", "the paper's per-image q is the default");
  assert.deepEqual(t.margins, [15 / 512, 120 / 512, 0, 0]);
  const m = classMix();
  assert.deepEqual([m.jitterProbability, m.jitterStrength, m.blurProbability], [0.8, 0.2, 0.5]);
  assert.deepEqual(m.blurSigma, [0.15, 1.15]);
  const r = rareClassSampling();
  assert.deepEqual([r.temperature, r.minPixels, r.minCropRatio, r.pixelScale], [
    0.01,
    3000,
    0.5,
    1,
  ]);
  const fd = featureDistance();
  assert.equal(fd.weight, 0.005);
  assert.equal(fd.majority, 0.75);
  assert.deepEqual(fd.classes, [6, 7, 11, 12, 13, 14, 15, 16, 17, 18]);
});

Deno.test("diff source_only → daformer is exactly DAFormer's additions", () => {
  const lines = formatChanges(diffExperiments(sourceOnly, daformer)).trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split(":")[0]), [
    "+ data.sampling",
    "+ losses.fd",
    "+ losses.mix",
    "+ mixing",
    "+ teacher",
  ]);
});

Deno.test("self-training cross-checks name the path and the fix", () => {
  assert.deepEqual(
    issuesOf(() => extend(sourceOnly, { losses: { mix: crossEntropy({ on: "mixed" }) } })),
    ["losses.mix.on", "losses.mix.on"],
  );
  assert.deepEqual(issuesOf(() => extend(sourceOnly, { teacher: emaTeacher() })), ["teacher"]);
  assert.deepEqual(
    issuesOf(() => extend(daformer, { losses: { mix: off } })),
    ["teacher", "mixing"],
  );
  assert.deepEqual(
    issuesOf(() => extend(daformer, { model: { encoder: { pretrained: "" } } })),
    ["losses.fd.encoder"],
  );
  assert.deepEqual(
    issuesOf(() => extend(daformer, { losses: { fd: { classes: [6, 19] } } })),
    ["losses.fd.classes"],
  );
  assert.deepEqual(
    issuesOf(() => extend(daformer, { teacher: { margins: [0.6, 0.5, 0, 0] } })),
    ["teacher.margins"],
  );
  assert.deepEqual(issuesOf(() => extend(daformer, { teacher: { margins: [0, 0] } })), [
    "teacher.margins",
  ]);
  assert.deepEqual(
    issuesOf(() => extend(daformer, { data: { target: { crop: [96, 128] } } })),
    ["data.target.crop"],
  );
  assert.deepEqual(
    issuesOf(() => extend(sourceOnly, { data: { target: { catMaxRatio: 0.75 } } })),
    ["data.target.catMaxRatio"],
  );
});

Deno.test("ablations are one visible line each, and off removes sections", () => {
  const noRcs = extend(daformer, { data: { sampling: off } });
  assert.equal(noRcs.data.sampling, undefined);
  assert.deepEqual(formatChanges(diffExperiments(daformer, noRcs)).trimEnd().split("\n").length, 1);
  const noFd = extend(daformer, { losses: { fd: off } });
  assert.equal(formatChanges(diffExperiments(daformer, noFd)).trimEnd().split("\n").length, 1);
  const noMix = extend(daformer, { mixing: off, losses: { mix: { on: "target" } } });
  assert.equal(noMix.mixing, undefined);
  const lines = formatChanges(diffExperiments(daformer, noMix)).trimEnd().split("\n");
  assert.equal(lines.length, 2, "mixing off + the term on the target batch");
  assert.equal(lines[0], '~ losses.mix.on: "mixed" → "target"');
  assert.match(lines[1], /^- mixing: classMix\(\{ blurProbability: 0\.5, /);
  const released = extend(daformer, {
    teacher: { confidence: "batch" },
    mixing: { classPool: "batch" },
  });
  assert.equal(formatChanges(diffExperiments(daformer, released)).trimEnd().split("\n").length, 2);
});

Deno.test("self-training experiments survive the canonical round trip", () => {
  for (const x of [daformer, gta2cs, synthia2cs, gta2csPaper, synthia2csPaper]) {
    const again = experimentFromPlain(JSON.parse(JSON.stringify(x)));
    assert.equal(showExperiment(again), showExperiment(x));
  }
  assert.equal(gta2cs.model.encoder.variant, "b5");
  assert.equal(gta2cs.run.iterations, 40000);
  assert.equal(gta2cs.teacher!.alpha, 0.999);
  assert.equal(gta2cs.data.sampling!.pixelScale, 1);
  assert.equal(synthia2cs.data.source.kind, "synthia");
  assert.equal(synthia2cs.evaluation.protocol, "16");
});

Deno.test("paper-scale replicas are the released-code variant; the paper's is a sibling", () => {
  for (const [released, paper] of [[gta2cs, gta2csPaper], [synthia2cs, synthia2csPaper]]) {
    // The published 68.3 / 60.9 came from the released code's batch-level choices.
    assert.equal(released.teacher!.confidence, "batch");
    assert.equal(released.mixing!.classPool, "batch");
    const lines = formatChanges(diffExperiments(released, paper)).trimEnd().split("\n");
    assert.deepEqual(lines, [
      '~ mixing.classPool: "batch" → "image"',
      '~ teacher.confidence: "batch" → "image"',
    ]);
  }
  // The CPU-scale experiment keeps the paper's per-image defaults.
  assert.equal(daformer.teacher!.confidence, "image");
  assert.equal(daformer.mixing!.classPool, "image");
});

Deno.test("types reject misspelt and mistyped self-training fields", () => {
  // Type-checked by `deno task check`: an unused @ts-expect-error would fail it.
  // @ts-expect-error misspelt field
  const a = () => emaTeacher({ treshold: 0.9 });
  // @ts-expect-error not a confidence scope
  const b = () => emaTeacher({ confidence: "pixel" });
  // @ts-expect-error a teacher where mixing belongs
  const c = () => extend(daformer, { mixing: emaTeacher() });
  // @ts-expect-error not a batch a term can read
  const d = () => crossEntropy({ on: "teacher" });
  // At run time the same mistakes fail validation with their paths.
  assert.deepEqual(issuesOf(() => extend(daformer, { teacher: a() })), ["teacher.treshold"]);
  assert.deepEqual(issuesOf(() => extend(daformer, { teacher: b() })), ["teacher.confidence"]);
  assert.deepEqual(issuesOf(c), ["mixing"]);
  assert.deepEqual(issuesOf(() => extend(daformer, { losses: { mix: d() } })), ["losses.mix.on"]);
});
