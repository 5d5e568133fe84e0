/**
 * Methods as patches that stack: how an experiment was assembled (one patch, two patches in a
 * row, a method stacked on another base) changes neither its canonical form nor its hash.
 */
import { strict as assert } from "node:assert";
import {
  adamw,
  classMix,
  crossEntropy,
  diffExperiments,
  emaTeacher,
  type Experiment,
  experimentFromPlain,
  experimentHash,
  type ExperimentPatch,
  extend,
  featureDistance,
  mit,
  rareClassSampling,
  segformerHead,
  showExperiment,
} from "../../dsl/mod.ts";
import sourceOnly from "../../experiments/source_only.ts";
import daformerExperiment, { daformer } from "../../experiments/daformer.ts";
import tiny from "../fixtures/tiny.ts";

function assertSame(a: Experiment, b: Experiment, what: string): void {
  assert.equal(showExperiment(a), showExperiment(b), what);
  assert.equal(experimentHash(a), experimentHash(b), what);
  assert.deepEqual(diffExperiments(a, b), [], what);
}

Deno.test("experiments/daformer.ts is its exported method applied to source_only", () => {
  assertSame(extend(sourceOnly, daformer), daformerExperiment, "extend(sourceOnly, daformer)");
  // The patch is plain data: extending does not consume or change it.
  assertSame(extend(sourceOnly, daformer), extend(sourceOnly, daformer), "twice");
});

Deno.test("extend(extend(a, p), q) equals extend(a, p and q merged by hand)", () => {
  const selfTraining: ExperimentPatch = {
    teacher: emaTeacher({ alpha: 0.99 }),
    mixing: classMix(),
    losses: { mix: crossEntropy({ on: "mixed" }) },
  };
  const extras: ExperimentPatch = {
    data: { sampling: rareClassSampling({ pixelScale: 1 / 16 }) },
    losses: { fd: featureDistance() },
  };
  const stepwise = extend(extend(sourceOnly, selfTraining), extras);
  assertSame(stepwise, daformerExperiment, "self-training, then RCS and FD");
  assertSame(extend(extend(sourceOnly, extras), selfTraining), stepwise, "the other order");
  // Field patches and same-kind blocks over two steps, against the one merged patch.
  const p: ExperimentPatch = {
    model: { encoder: { dropPathRate: 0.2 }, decoder: segformerHead({ channels: 32 }) },
    optimizer: { lr: 1e-3 },
    teacher: { threshold: 0.9 },
  };
  const q: ExperimentPatch = {
    model: { encoder: mit({ variant: "tiny" }), decoder: { dropout: 0 } },
    optimizer: adamw({ beta2: 0.99 }),
    teacher: emaTeacher({ confidence: "batch" }),
  };
  const merged: ExperimentPatch = {
    model: {
      encoder: mit({ variant: "tiny", dropPathRate: 0.2 }),
      decoder: segformerHead({ channels: 32, dropout: 0 }),
    },
    optimizer: adamw({ lr: 1e-3, beta2: 0.99 }),
    teacher: emaTeacher({ threshold: 0.9, confidence: "batch" }),
  };
  const twoSteps = extend(extend(daformerExperiment, p), q);
  assertSame(twoSteps, extend(daformerExperiment, merged), "p then q");
  assert.equal(twoSteps.model.encoder.pretrained, "experiments/pretrain.ts", "the base survives");
  assert.equal(twoSteps.teacher!.alpha, 0.99, "the base's teacher fields survive");
  // A stored form rebuilds to the same experiment, however it was assembled.
  assertSame(experimentFromPlain(JSON.parse(JSON.stringify(twoSteps))), twoSteps, "stored");
});

Deno.test("a method stacks on another base; the base's own checks still apply", () => {
  // tiny.ts starts from random weights, which leaves the feature distance no frozen encoder.
  assert.throws(() => extend(tiny, daformer), /losses\.fd\.encoder: the frozen encoder defaults/);
  const weighted = extend(tiny, { model: { encoder: { pretrained: "encoder.safetensors" } } });
  const onTiny = extend(weighted, daformer);
  assert.equal(onTiny.run.iterations, 12, "the base's settings are kept");
  assert.equal(onTiny.teacher!.alpha, 0.99);
  assert.deepEqual(Object.keys(onTiny.losses).sort(), ["ce", "fd", "mix"]);
  // Applying the method twice is applying it once: every block it sets is already there.
  assertSame(extend(onTiny, daformer), onTiny, "idempotent");
});
