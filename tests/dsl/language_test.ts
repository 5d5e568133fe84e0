import { strict as assert } from "node:assert";
import {
  adamw,
  applyOverrides,
  canonicalJson,
  crossEntropy,
  daformerHead,
  diffExperiments,
  evaluation,
  type Experiment,
  experiment,
  ExperimentError,
  experimentFromPlain,
  experimentHash,
  extend,
  formatChanges,
  isExperiment,
  loader,
  mit,
  off,
  parseOverride,
  poly,
  runSettings,
  segformerHead,
  segmentor,
  showExperiment,
  synthCity,
} from "../../dsl/mod.ts";
import sourceOnly from "../../experiments/source_only.ts";

function base(): Experiment {
  return experiment({
    model: segmentor({
      encoder: mit({ variant: "nano" }),
      decoder: daformerHead({ channels: 32 }),
    }),
    data: {
      source: synthCity({ domain: "game", scale: [256, 128], crop: [128, 128] }),
      target: synthCity({ domain: "real", scale: [256, 128], crop: [128, 128], catMaxRatio: 1 }),
      targetVal: synthCity({ domain: "real", seed: 9, scale: [256, 128] }),
    },
    losses: { ce: crossEntropy() },
  });
}

function issuesOf(f: () => unknown): string[] {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof ExperimentError, `expected an ExperimentError, got ${error}`);
    return error.issues.map((i) => i.path);
  }
  assert.fail("expected the call to throw");
}

Deno.test("a block fills every published default, is frozen and plain JSON", () => {
  const b = crossEntropy({ weight: 0.5 });
  assert.deepEqual(JSON.parse(JSON.stringify(b)), {
    kind: "crossEntropy",
    weight: 0.5,
    on: "source",
    ignoreIndex: 255,
  });
  assert.ok(Object.isFrozen(b));
  const o = adamw();
  assert.equal(o.lr, 6e-5);
  assert.equal(o.weightDecay, 0.01);
  assert.deepEqual(o.paramGroups.head, { lrMult: 10, decayMult: 1 });
  assert.ok(Object.isFrozen(o.paramGroups.head));
  const p = poly();
  assert.deepEqual([p.power, p.warmupIters, p.warmupRatio], [1, 1500, 1e-6]);
  assert.equal(runSettings().iterations, 40000);
});

Deno.test("misspelt fields and wrong value types are type errors", () => {
  // These lines are checked by `deno check` (the `check` task type-checks tests/): if a
  // misspelling stopped being an error, the unused @ts-expect-error would fail the check.
  // @ts-expect-error misspelt field
  const a = () => crossEntropy({ wieght: 1 });
  // @ts-expect-error wrong value type
  const b = () => crossEntropy({ weight: "1" });
  // @ts-expect-error not one of the variants
  const c = () => mit({ variant: "b7" });
  // @ts-expect-error misspelt field in a nested patch
  const d = () => extend(base(), { model: { encoder: { variantt: "b5" } } });
  // @ts-expect-error an encoder where a decoder belongs
  const e = () => segmentor({ encoder: mit(), decoder: mit() });
  // At run time (JavaScript, --set) the same mistakes fail validation with their paths.
  assert.deepEqual(issuesOf(() => extend(base(), { losses: { ce: a() } })), ["losses.ce.wieght"]);
  assert.deepEqual(issuesOf(() => extend(base(), { losses: { ce: b() } })), ["losses.ce.weight"]);
  assert.deepEqual(issuesOf(() => extend(base(), { model: { encoder: c() } })), [
    "model.encoder.variant",
  ]);
  assert.deepEqual(issuesOf(d), ["model.encoder.variantt"]);
  assert.deepEqual(issuesOf(() => extend(base(), { model: e() })), ["model.decoder"]);
});

Deno.test("validation names the path of every out-of-range value", () => {
  const paths = issuesOf(() =>
    extend(base(), {
      data: { target: { crop: [100, 128] } },
      losses: { ce: { weight: -1 } },
      run: { iterations: 0 },
    })
  );
  assert.deepEqual(paths.sort(), ["data.target.crop", "losses.ce.weight", "run.iterations"]);
  // A crop larger than the resized image is caught by the cross-block check.
  assert.deepEqual(issuesOf(() => extend(base(), { data: { source: { crop: [160, 160] } } })), [
    "data.source.crop",
  ]);
  // The message names the path, what was expected, and the fix, in one paragraph.
  assert.throws(
    () => extend(base(), { losses: { ce: { weight: -1 } } }),
    (error: unknown) => {
      assert.ok(error instanceof ExperimentError, `expected an ExperimentError, got ${error}`);
      assert.match(error.message, /losses\.ce\.weight: expected a number ≥ 0, got -1/);
      assert.match(error.message, /Fix the value/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
});

Deno.test("extend: same kind merges given fields, another kind replaces, off removes", () => {
  const x = base();
  const y = extend(x, {
    model: { encoder: mit({ dropPathRate: 0.2 }), decoder: segformerHead() },
    losses: { ce: crossEntropy({ weight: 2 }), extra: crossEntropy({ weight: 0.5 }) },
    data: { loader: { batchSize: 4 } },
  });
  assert.equal(y.model.encoder.variant, "nano", "the base's variant survives a same-kind patch");
  assert.equal(y.model.encoder.dropPathRate, 0.2);
  assert.equal(y.model.decoder.kind, "segformerHead");
  assert.equal(y.model.decoder.channels, 768, "a replacing block brings its own defaults");
  assert.equal(y.losses.ce.weight, 2);
  assert.equal(y.data.loader.batchSize, 4);
  assert.equal(y.data.loader.workers, 1);
  const z = extend(y, { losses: { extra: off } });
  assert.deepEqual(Object.keys(z.losses), ["ce"]);
  assert.ok(isExperiment(z) && Object.isFrozen(z) && Object.isFrozen(z.losses));
  assert.deepEqual(issuesOf(() => extend(z, { losses: { missing: off } })), ["losses.missing"]);
  assert.deepEqual(issuesOf(() => extend(z, { losses: { fresh: { weight: 1 } } })), [
    "losses.fresh",
  ]);
  assert.equal(x.losses.ce.weight, 1, "the base is unchanged");
});

Deno.test("diff: identity is empty; a default, an added and a removed term are three lines", () => {
  const x = sourceOnly;
  assert.deepEqual(diffExperiments(x, extend(x, {})), []);
  const y = extend(x, {
    optimizer: { beta2: 0.99 },
    losses: { ce: off, ce2: crossEntropy({ weight: 0.5 }) },
  });
  const lines = formatChanges(diffExperiments(x, y)).trimEnd().split("\n");
  assert.deepEqual(lines, [
    `- losses.ce: crossEntropy({ ignoreIndex: 255, on: "source", weight: 1 })`,
    `+ losses.ce2: crossEntropy({ ignoreIndex: 255, on: "source", weight: 0.5 })`,
    `~ optimizer.beta2: 0.999 → 0.99`,
  ]);
  const swapped = extend(x, { model: { decoder: segformerHead({ channels: 64 }) } });
  assert.deepEqual(diffExperiments(x, swapped).map((c) => [c.op, c.path]), [[
    "changed",
    "model.decoder",
  ]]);
});

Deno.test("canonical YAML: kind first then sorted keys, defaults filled, hash ignores the seed", () => {
  const yaml = showExperiment(sourceOnly);
  const sections = yaml.split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.slice(0, -1));
  assert.deepEqual(sections, [...sections].sort());
  assert.match(yaml, /^ {2}ce:\n {4}kind: "crossEntropy"\n {4}ignoreIndex: 255\n/m);
  assert.match(yaml, /warmupRatio: 0.000001\n/);
  // Building the same experiment in a different key order gives the same bytes and hash.
  const reordered = experiment({
    losses: { ce: crossEntropy() },
    data: { ...base().data },
    model: base().model,
  });
  assert.equal(showExperiment(reordered), showExperiment(base()));
  const seeded = extend(base(), { run: { seed: 3 } });
  assert.equal(experimentHash(seeded), experimentHash(base()));
  assert.notEqual(canonicalJson(seeded), canonicalJson(base()));
  assert.notEqual(
    experimentHash(extend(base(), { run: { iterations: 5 } })),
    experimentHash(base()),
  );
  assert.match(experimentHash(base()), /^[0-9a-f]{64}$/);
});

Deno.test("a stored canonical experiment rebuilds to the same experiment", () => {
  const back = experimentFromPlain(JSON.parse(canonicalJson(sourceOnly)));
  assert.ok(isExperiment(back));
  assert.equal(showExperiment(back), showExperiment(sourceOnly));
  assert.deepEqual(diffExperiments(back, sourceOnly), []);
});

Deno.test("--set overrides parse JSON or bare words and are validated as one patch", () => {
  assert.deepEqual(parseOverride("data.source.crop=[64,64]").value, [64, 64]);
  assert.equal(parseOverride("model.encoder.variant=b5").value, "b5");
  assert.equal(parseOverride("run.iterations=20").value, 20);
  const x = applyOverrides(sourceOnly, [
    parseOverride("run.iterations=20"),
    parseOverride("schedule.warmupIters=5"),
    parseOverride("losses.ce=off"),
    parseOverride("losses.seg=" + JSON.stringify(crossEntropy({ weight: 3 }))),
  ]);
  assert.equal(x.run.iterations, 20);
  assert.deepEqual(Object.keys(x.losses), ["seg"]);
  assert.equal(x.losses.seg.weight, 3);
  assert.throws(
    () => applyOverrides(sourceOnly, [parseOverride("losses.ce.wieght=3")]),
    /losses\.ce\.wieght: crossEntropy has no field 'wieght' \(did you mean 'weight'\?\)/,
  );
  assert.throws(() => parseOverride("iterations"), /write --set path\.to\.field=value/);
});

Deno.test("defaults fill the sections an experiment leaves out", () => {
  const x = base();
  assert.deepEqual(x.optimizer, adamw());
  assert.deepEqual(x.evaluation, evaluation());
  assert.deepEqual(x.data.loader, loader());
  assert.equal(x.data.sourceVal, undefined);
});
