import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import {
  assignGroup,
  DAFORMER_PARAM_RULES,
  listParamGroups,
  validateRules,
} from "../../runtime/optim/param_groups.ts";
import { learningRate, polySchedule } from "../../runtime/optim/schedule.ts";
import { deserialiseAdamWState, serialiseAdamWState } from "../../runtime/optim/state_io.ts";
import { parseSafetensors, serializeSafetensors } from "../../runtime/io/safetensors.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("mmcv custom_keys: first substring match by length then name wins, nothing else applies", () => {
  const g = (name: string) => {
    const a = assignGroup(name, DAFORMER_PARAM_RULES);
    return [a.rule, a.lrMult, a.decayMult];
  };
  // 'pos_block' (9 chars) is tried before 'head' and 'norm' (4 chars; 'head' < 'norm').
  assert.deepEqual(g("decode_head.linear_fuse.bn.weight"), ["head", 10, 1]);
  assert.deepEqual(g("backbone.block1.0.norm1.weight"), ["norm", 1, 0]);
  assert.deepEqual(g("backbone.block1.0.attn.q.bias"), [undefined, 1, 1]);
  assert.deepEqual(g("backbone.patch_embed1.norm.bias"), ["norm", 1, 0]);
  // A name containing both 'head' and 'norm' takes 'head' (alphabetical tie-break), keeping decay.
  assert.deepEqual(g("decode_head.norm.weight"), ["head", 10, 1]);
  // 'pos_block' outranks 'head' by length.
  assert.deepEqual(g("decode_head.pos_block.0.weight"), ["pos_block", 1, 0]);
});

Deno.test("listParamGroups gathers names in mmcv's rule order with each group's lr and decay", () => {
  const names = [
    "backbone.patch_embed1.proj.weight",
    "backbone.block1.0.norm1.weight",
    "decode_head.conv_seg.bias",
    "backbone.norm4.bias",
  ];
  const groups = listParamGroups(names);
  assert.deepEqual(
    groups.map((g) => [g.rule, g.lr, g.weightDecay, g.names]),
    [
      ["head", 6e-5 * 10, 0.01, ["decode_head.conv_seg.bias"]],
      ["norm", 6e-5, 0, ["backbone.block1.0.norm1.weight", "backbone.norm4.bias"]],
      [undefined, 6e-5, 0.01, ["backbone.patch_embed1.proj.weight"]],
    ],
  );
  // Rules are plain data: an experiment can swap them.
  const custom = listParamGroups(names, [{ key: "backbone", lrMult: 0.1 }], {
    lr: 1,
    weightDecay: 0.5,
  });
  assert.deepEqual(custom.map((g) => [g.rule, g.lr, g.names.length]), [
    ["backbone", 0.1, 3],
    [undefined, 1, 1],
  ]);
  assert.throws(() => validateRules([{ key: "norm" }, { key: "norm" }]), /appears twice/);
  assert.throws(() => validateRules([{ key: "" }]), /non-empty/);
  assert.throws(() => validateRules([{ key: "head", lrMult: -1 }]), /'lrMult' must be/);
});

Deno.test("poly schedule with warm-up matches mmcv's formula worked by hand", () => {
  const s = polySchedule(40000);
  const base = 6e-5;
  // 1 − (1 − 1e-6) loses ~1e-11 relative to cancellation in float64, in mmcv's Python as here.
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * b, `${a} vs ${b}`);
  // t = 0: regular = base; warm-up factor 1 − (1 − 0)(1 − 1e-6) = 1e-6 → 6e-11.
  close(learningRate(s, base, 0), 6e-11);
  // t = 750: regular = 6e-5·(1 − 750/40000) = 5.8875e-5; factor = 1 − 0.5·(1 − 1e-6) = 0.5000005.
  close(learningRate(s, base, 750), 5.8875e-5 * 0.5000005);
  // t = 1500: warm-up over; 6e-5·(1 − 0.0375) = 5.775e-5.
  close(learningRate(s, base, 1500), 5.775e-5);
  // t = 1499: 6e-5·(1 − 1499/40000)·(1 − (1/1500)(1 − 1e-6)).
  close(learningRate(s, base, 1499), 6e-5 * (38501 / 40000) * (1 - (1 - 1e-6) / 1500));
  // t = 39999: 6e-5/40000 = 1.5e-9.
  close(learningRate(s, base, 39999), 1.5e-9);
  assert.equal(learningRate(s, base, 40000), 0);
  // The head group is scheduled from its own base 6e-4 (ten times the values above).
  close(learningRate(s, 6e-4, 750), 10 * 5.8875e-5 * 0.5000005);
  // min_lr applies per group as an absolute floor: (b − min)(1 − t/T) + min.
  close(learningRate(polySchedule(100, { minLr: 1e-6, warmupIters: 0 }), 1e-4, 50), 5.05e-5);
  assert.throws(() => polySchedule(0), /maxIters must be a positive integer/);
  assert.throws(() => learningRate(s, base, -1), /integer ≥ 0/);
});

const f = Math.fround;

/**
 * torch 1.7 `AdamW.step` for one parameter, in plain JavaScript with float32 rounding after every
 * operation (as a float32 tensor computes): decay, then the Adam moments, then
 * p − (lr/(1−β1ᵗ))·m/(√v/√(1−β2ᵗ) + ε). `grads[s]` undefined = no gradient at step s.
 */
function referenceAdamW(
  p0: number[],
  grads: (number[] | undefined)[],
  lrs: number[],
  wd: number,
): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const p = p0.map(f);
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  let t = 0;
  grads.forEach((g, s) => {
    if (g === undefined) return;
    t += 1;
    const lr = lrs[s];
    const stepSize = lr / (1 - b1 ** t);
    const sqrtBc2 = Math.sqrt(1 - b2 ** t);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i]);
      if (wd !== 0) p[i] = f(p[i] * f(1 - lr * wd));
      m[i] = f(f(m[i] * f(b1)) + f(gi * f(1 - b1)));
      v[i] = f(f(v[i] * f(b2)) + f(f(gi * gi) * f(1 - b2)));
      const denom = f(f(f(Math.sqrt(v[i])) / f(sqrtBc2)) + f(eps));
      p[i] = f(p[i] - f(f(m[i] / denom) * f(stepSize)));
    }
  });
  return p;
}

const NAMES = [
  "decode_head.linear_fuse.bn.weight", // head: 10× lr, decay kept
  "backbone.block1.0.norm1.weight", // norm: base lr, no decay
  "backbone.block1.0.attn.q.bias", // default: base lr, decay
  "backbone.block1.0.attn.q.weight", // default, a matrix
];
const SHAPES = [[5], [5], [5], [3, 2]];
const LR_MULTS = [10, 1, 1, 1];
const DECAYS = [0.01, 0, 0.01, 0.01];

function makeStore(values: number[][]): ParamStore {
  const store = new ParamStore();
  NAMES.forEach((n, i) => store.add(n, tf.tensor(values[i], SHAPES[i]), "plain"));
  return store;
}

function assertClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  for (let k = 0; k < expected.length; k++) {
    const rel = Math.abs(actual[k] - expected[k]) / Math.max(Math.abs(expected[k]), 1e-6);
    assert.ok(rel <= 1e-6, `${what}[${k}]: ${actual[k]} vs ${expected[k]} (relative ${rel})`);
  }
}

Deno.test("AdamW matches torch's formulas step by step, per parameter group", async () => {
  await useBackend("cpu");
  const rng = new RandomStream(5);
  const sizes = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
  const initial = sizes.map((n) => Array.from(rng.normalArray(n)));
  const steps = 6;
  // The matrix gets tiny gradients (√v̂ ≈ 1e-6) so ε's place in the denominator shows.
  const scales = [0.1, 0.1, 0.1, 1e-6];
  const gradSeries = sizes.map((n, i) =>
    Array.from({ length: steps }, () => Array.from(rng.normalArray(n, 0, scales[i])))
  );
  // A large schedule so decay and moments both move the weights visibly.
  const schedule = polySchedule(10, { warmupIters: 3 });
  const store = makeStore(initial);
  const opt = new AdamW(store.trainable(), { lr: 1e-2 });
  for (let t = 0; t < steps; t++) {
    const grads = Object.fromEntries(
      NAMES.map((n, i) => [n, tf.tensor(gradSeries[i][t], SHAPES[i])]),
    );
    opt.apply(grads, (base) => learningRate(schedule, base, t));
    tf.dispose(Object.values(grads));
  }
  for (let i = 0; i < NAMES.length; i++) {
    const lrs = Array.from(
      { length: steps },
      (_, t) => learningRate(schedule, 1e-2 * LR_MULTS[i], t),
    );
    const expected = referenceAdamW(initial[i], gradSeries[i], lrs, DECAYS[i]);
    assertClose(await store.get(NAMES[i]).data(), expected, NAMES[i]);
    // The weights did move, by more than the tolerance.
    assert.ok(Math.abs(expected[0] - initial[i][0]) > 1e-3);
  }
  opt.dispose();
  store.dispose();
});

Deno.test("AdamW: a parameter without a gradient keeps its own step count, as torch does", async () => {
  await useBackend("cpu");
  const rng = new RandomStream(8);
  const initial = SHAPES.map((s) => Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1))));
  const store = makeStore(initial);
  const opt = new AdamW(store.trainable());
  const g = Array.from({ length: 4 }, () => Array.from(rng.normalArray(5)));
  const present = [true, false, true, true];
  for (let t = 0; t < 4; t++) {
    const grads: Record<string, tf.Tensor> = { [NAMES[0]]: tf.tensor1d(g[t]) };
    if (present[t]) grads[NAMES[2]] = tf.tensor1d(g[t]);
    opt.apply(grads, 6e-5);
    tf.dispose(Object.values(grads));
  }
  const lrs = [6e-5, 6e-5, 6e-5, 6e-5];
  assertClose(
    await store.get(NAMES[2]).data(),
    referenceAdamW(initial[2], g.map((x, t) => (present[t] ? x : undefined)), lrs, 0.01),
    NAMES[2],
  );
  assert.deepEqual(Array.from(await store.get(NAMES[1]).data()), initial[1].map(f));
  const state = opt.state();
  assert.deepEqual(
    NAMES.map((n) => state.moments.get(n)!.step),
    [4, 0, 3, 0],
  );
  assert.equal(state.step, 4);
  tf.dispose([...state.moments.values()].flatMap(({ m, v }) => [m, v]));
  assert.throws(
    () => opt.apply({ "decode_head.nope": tf.zeros([5]) }, 1),
    /does not own/,
  );
  assert.throws(() => opt.apply({ [NAMES[0]]: tf.zeros([4]) }, 1), /has shape \[4\]/);
  opt.dispose();
  store.dispose();
});

Deno.test("AdamW: the tensor count stays flat over many steps", async () => {
  await useBackend("cpu");
  const rng = new RandomStream(3);
  const store = makeStore(
    SHAPES.map((s) => Array.from(rng.normalArray(s.reduce((a, b) => a * b)))),
  );
  const opt = new AdamW(store.trainable());
  const grads = Object.fromEntries(NAMES.map((n, i) => [n, tf.ones(SHAPES[i])]));
  const before = tf.memory().numTensors;
  for (let t = 0; t < 60; t++) opt.apply(grads, 6e-5);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(Object.values(grads));
  opt.dispose();
  store.dispose();
});

Deno.test("AdamW state survives safetensors and resumes bit-exactly", async () => {
  await useBackend("cpu");
  const rng = new RandomStream(11);
  const initial = SHAPES.map((s) => Array.from(rng.normalArray(s.reduce((a, b) => a * b))));
  const grads = Array.from(
    { length: 5 },
    () => SHAPES.map((s) => Array.from(rng.normalArray(s.reduce((a, b) => a * b)))),
  );
  const run = (opt: AdamW, t: number) => {
    const byName = Object.fromEntries(NAMES.map((n, i) => [n, tf.tensor(grads[t][i], SHAPES[i])]));
    opt.apply(byName, 1e-3);
    tf.dispose(Object.values(byName));
  };
  // Straight through: 5 steps.
  const storeA = makeStore(initial);
  const a = new AdamW(storeA.trainable());
  for (let t = 0; t < 5; t++) run(a, t);
  // Interrupted after 3: weights and optimiser state saved, restored into fresh objects.
  const storeB = makeStore(initial);
  const b = new AdamW(storeB.trainable());
  for (let t = 0; t < 3; t++) run(b, t);
  const saved = serialiseAdamWState(b.state());
  const bytes = serializeSafetensors((await saved).tensors, (await saved).metadata);
  const weights = await Promise.all(NAMES.map(async (n) => Array.from(await storeB.get(n).data())));
  const restored = deserialiseAdamWState(parseSafetensors(bytes, "opt.safetensors"), "opt");
  assert.equal(restored.step, 3);
  const storeC = makeStore(weights);
  const c = new AdamW(storeC.trainable());
  c.loadState(restored);
  tf.dispose([...restored.moments.values()].flatMap(({ m, v }) => [m, v]));
  for (let t = 3; t < 5; t++) run(c, t);
  for (const n of NAMES) {
    assert.deepEqual(
      Array.from(await storeC.get(n).data()),
      Array.from(await storeA.get(n).data()),
    );
  }
  // A state for other parameters is refused, naming them.
  const other = new ParamStore();
  other.add("backbone.other.weight", tf.zeros([2]), "plain");
  const d = new AdamW(other.trainable());
  const wrong = a.state();
  assert.throws(
    () => d.loadState(wrong),
    /no moments for 'backbone\.other\.weight'.*unknown parameter/,
  );
  tf.dispose([...wrong.moments.values()].flatMap(({ m, v }) => [m, v]));
  assert.throws(
    () => deserialiseAdamWState(parseSafetensors(serializeSafetensors([]), "x"), "x.st"),
    /x\.st: not an AdamW state/,
  );
  for (const o of [a, b, c, d]) o.dispose();
  for (const s of [storeA, storeB, storeC, other]) s.dispose();
});
