/**
 * A block kind defined outside `dsl/` (here, in the test) joins the language by creating it and
 * augmenting its family: types, validation, its own check and views, `extend`, `--set` and the
 * canonical form all take it without an edit to `dsl/`. The type assertions are checked by
 * `deno check` (an unused @ts-expect-error fails it).
 */
import { strict as assert } from "node:assert";
import {
  applyOverrides,
  type Block,
  type CheckContext,
  defineBlock,
  emaTeacher,
  ExperimentError,
  experimentFromPlain,
  extend,
  kindsOf,
  type LossBlock,
  parseOverride,
  showExperiment,
  viewsRead,
} from "../../dsl/mod.ts";
import { num, oneOf } from "../../dsl/schema.ts";
import sourceOnly from "../../experiments/source_only.ts";

/** Parameters of the toy term (an L2 on the student's decoder embedding of one view). */
interface ToyParams {
  /** Weight in the total loss. */
  weight: number;
  /** The view it reads. */
  view: "source" | "target";
}

/** A toy block. */
type ToyBlock = Block<"toyEmbedding", ToyParams>;

declare module "../../dsl/families.ts" {
  interface LossBlocks {
    /** The toy term of this test. */
    toyEmbedding: ToyBlock;
  }
}

const contexts: CheckContext[] = [];

const toyEmbedding = defineBlock<"toyEmbedding", ToyParams>({
  kind: "toyEmbedding",
  family: "loss",
  summary: "toy term of the plug-in test",
  schema: { weight: num(0.1, { min: 0 }), view: oneOf(["source", "target"] as const, "source") },
  views: (block) => [block.view],
  check: (block, context) => {
    contexts.push(context);
    return block.view === "target" && context.experiment.teacher === undefined
      ? [{ path: `${context.path}.view`, message: "the target view needs a teacher" }]
      : [];
  },
});

function issuesOf(f: () => unknown): string[] {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof ExperimentError, `expected an ExperimentError, got ${error}`);
    return error.issues.map((i) => i.path);
  }
  assert.fail("expected the call to throw");
}

Deno.test("a toy loss block joins its family: types, kinds, defaults, canonical form", () => {
  const term: LossBlock = toyEmbedding({ weight: 0.5 });
  const kinds: LossBlock["kind"][] = ["crossEntropy", "featureDistance", "toyEmbedding"];
  // @ts-expect-error misspelt field of the toy block
  const misspelt = () => toyEmbedding({ wieght: 1 });
  // @ts-expect-error not a view the toy block reads
  const badView = () => extend(sourceOnly, { losses: { toy: toyEmbedding({ view: "mixed" }) } });
  // @ts-expect-error a kind no file defines is not a loss block
  const unknown: LossBlock = { kind: "nope" };
  assert.deepEqual(kinds.filter((k) => kindsOf("loss").includes(k)), kinds);
  assert.deepEqual({ ...term }, { kind: "toyEmbedding", weight: 0.5, view: "source" });
  const x = extend(sourceOnly, { losses: { toy: term } });
  assert.match(showExperiment(x), /\n {2}toy:\n {4}kind: "toyEmbedding"\n {4}view: "source"\n/);
  assert.equal(
    showExperiment(experimentFromPlain(JSON.parse(JSON.stringify(x)))),
    showExperiment(x),
  );
  // At run time the same mistakes fail validation with their paths.
  assert.deepEqual(issuesOf(() => extend(sourceOnly, { losses: { toy: misspelt() } })), [
    "losses.toy.wieght",
  ]);
  assert.deepEqual(issuesOf(badView), ["losses.toy.view"]);
  assert.deepEqual(issuesOf(() => extend(sourceOnly, { losses: { ce: unknown } })), [
    "losses.ce",
  ]);
});

Deno.test("the toy's check runs with its path; its views satisfy the teacher's check", () => {
  contexts.length = 0;
  const x = extend(sourceOnly, { losses: { toy: toyEmbedding() } });
  assert.deepEqual(contexts.map((c) => c.path), ["losses.toy"]);
  assert.equal(contexts[0].experiment, x, "the check sees the whole experiment being built");
  assert.deepEqual(
    issuesOf(() => extend(sourceOnly, { losses: { toy: toyEmbedding({ view: "target" }) } })),
    ["losses.toy.view"],
  );
  // No cross-entropy reads pseudo-labels here: the teacher is satisfied by the toy's view alone.
  const selfTrained = extend(sourceOnly, {
    teacher: emaTeacher(),
    losses: { toy: toyEmbedding({ view: "target" }) },
  });
  assert.deepEqual([...viewsRead(selfTrained)].sort(), ["source", "target"]);
  assert.deepEqual(issuesOf(() => extend(selfTrained, { losses: { toy: { view: "source" } } })), [
    "teacher",
  ]);
});

Deno.test("--set builds a toy block through its definition and refines it", () => {
  const x = applyOverrides(sourceOnly, [
    parseOverride('losses.toy={"kind":"toyEmbedding"}'),
    parseOverride("losses.toy.view=target"),
    parseOverride("teacher=" + JSON.stringify(emaTeacher())),
  ]);
  assert.deepEqual({ ...x.losses.toy }, { kind: "toyEmbedding", weight: 0.1, view: "target" });
});
