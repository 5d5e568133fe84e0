/**
 * `--set` overrides as a new user writes them: `off` for every optional place, whole blocks
 * written as JSON (they get their kind's defaults), and a one-paragraph error with the path and
 * a fix for every mistake.
 */
import { strict as assert } from "node:assert";
import {
  applyOverrides,
  type Experiment,
  ExperimentError,
  extend,
  off,
  parseOverride,
  segformerHead,
  showExperiment,
} from "../../dsl/mod.ts";
import sourceOnly from "../../experiments/source_only.ts";
import daformer from "../../experiments/daformer.ts";
import noRcs from "../../experiments/ablations/daformer_no_rcs.ts";
import noMix from "../../experiments/ablations/daformer_no_mix.ts";

function set(base: Experiment, ...texts: string[]): Experiment {
  return applyOverrides(base, texts.map(parseOverride));
}

Deno.test("--set PLACE=off removes teacher, mixing, data.sampling, data.sourceVal, terms", () => {
  for (const place of ["teacher", "mixing", "data.sampling", "data.sourceVal", "losses.ce"]) {
    assert.equal(parseOverride(`${place}=off`).value, off, place);
  }
  // Inside a block `off` is just a string (and then a wrong value, reported with its path).
  assert.equal(parseOverride("losses.ce.on=off").value, "off");
  assert.equal(showExperiment(set(daformer, "data.sampling=off")), showExperiment(noRcs));
  assert.equal(
    showExperiment(set(daformer, "mixing=off", "losses.mix.on=target")),
    showExperiment(noMix),
  );
  const plain = set(daformer, "teacher=off", "mixing=off", "losses.mix=off");
  assert.equal(plain.teacher, undefined);
  assert.equal(plain.mixing, undefined);
  assert.deepEqual(Object.keys(plain.losses).sort(), ["ce", "fd"]);
  assert.equal(set(sourceOnly, "data.sourceVal=off").data.sourceVal, undefined);
});

Deno.test("--set a whole block as JSON builds it through its definition", () => {
  const swapped = set(sourceOnly, 'model.decoder={"kind":"segformerHead"}');
  assert.deepEqual({ ...swapped.model.decoder }, { ...segformerHead() });
  assert.equal(
    showExperiment(swapped),
    showExperiment(extend(sourceOnly, { model: { decoder: segformerHead() } })),
  );
  // A later, deeper override refines the block given earlier.
  const refined = set(
    sourceOnly,
    'model.decoder={"kind":"segformerHead"}',
    "model.decoder.channels=32",
  );
  assert.equal(refined.model.decoder.kind, "segformerHead");
  assert.equal(refined.model.decoder.channels, 32);
  // Nested blocks: a whole model, its parts built with their defaults.
  const model = set(
    sourceOnly,
    'model={"kind":"segmentor","encoder":{"kind":"mit","variant":"b0"},' +
      '"decoder":{"kind":"segformerHead","channels":256}}',
  ).model;
  assert.deepEqual([model.encoder.variant, model.encoder.pretrained], [
    "b0",
    "experiments/pretrain.ts",
  ]);
  assert.deepEqual([model.decoder.kind, model.decoder.channels], ["segformerHead", 256]);
  // A new term given whole gets its defaults too.
  const term = set(sourceOnly, 'losses.fd={"kind":"featureDistance"}').losses.fd;
  assert.equal(term.weight, 0.005);
});

/** Bad overrides, the path each error must name, and a word of the fix it must give. */
const BAD: [string[], string, RegExp][] = [
  [["teacher=off"], "losses.mix.on", /add teacher: emaTeacher\(\)/],
  [["mixing=off"], "losses.mix.on", /add mixing: classMix\(\), or train on "target"/],
  [["model=off"], "model", /give a model block \(segmentor\) or some of its fields/],
  [["losses=off"], "losses", /patched entry by entry \(e\.g\. losses\.ce=off\)/],
  [["data=off"], "data", /patched entry by entry/],
  [
    ['model.decoder={"kind":"segformerHeed"}'],
    "model.decoder",
    /needs a decoder block \(daformerHead, segformerHead\)/,
  ],
  [["model.decoder=segformerHead"], "model.decoder", /e\.g\. \{"kind":"daformerHead"\}/],
  [
    ['losses.x={"kind":"segmentor"}'],
    "losses.x.encoder",
    /segmentor needs an encoder block \(mit\) here/,
  ],
  [['losses.x={"kind":"crossEntropy","wieght":2}'], "losses.x.wieght", /did you mean 'weight'/],
  [['losses.x={"weight":1}'], "losses.x", /give a whole loss block/],
  [["losses.nope=off"], "losses.nope", /the terms are ce, mix, fd/],
  [["foo.bar=1"], "foo", /the sections are/],
  [["data.foo=1"], "data.foo", /data has source, target/],
  [["losses.ce.weight=abc"], "losses.ce.weight", /expected a number ≥ 0, got "abc"/],
  [["teacher.alpha=2"], "teacher.alpha", /≤ 1/],
  [["iterations"], "iterations", /write --set path\.to\.field=value/],
];

Deno.test("every bad --set is one paragraph naming the path and a fix", () => {
  for (const [texts, path, fix] of BAD) {
    assert.throws(
      () => set(daformer, ...texts),
      (error: unknown) => {
        assert.ok(error instanceof ExperimentError, `${texts}: ${error}`);
        assert.ok(error.issues.some((i) => i.path === path), `${texts}: ${error.message}`);
        assert.match(error.message, fix, texts.join(" "));
        assert.match(error.message, /^--set .* is invalid: .*\. Fix the value/, texts.join(" "));
        assert.doesNotMatch(error.message, /\n/, texts.join(" "));
        return true;
      },
    );
  }
});
