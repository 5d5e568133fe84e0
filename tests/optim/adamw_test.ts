import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import { assignGroup, DAFORMER_PARAM_RULES } from "../../runtime/optim/param_groups.ts";
import { learningRate, polySchedule } from "../../runtime/optim/schedule.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("mmcv custom_keys: first substring match by length then name wins, nothing else applies", () => {
  const g = (name: string) => assignGroup(name, DAFORMER_PARAM_RULES);
  // 'pos_block' (9 chars) is tried before 'head' and 'norm' (4 chars; 'head' < 'norm').
  assert.deepEqual(
    [
      g("decode_head.linear_fuse.bn.weight").lrMult,
      g("decode_head.linear_fuse.bn.weight").decayMult,
    ],
    [10, 1],
  );
  assert.deepEqual([
    g("backbone.block1.0.norm1.weight").lrMult,
    g("backbone.block1.0.norm1.weight").decayMult,
  ], [1, 0]);
  assert.deepEqual([
    g("backbone.block1.0.attn.q.bias").lrMult,
    g("backbone.block1.0.attn.q.bias").decayMult,
  ], [1, 1]);
  assert.equal(g("backbone.patch_embed1.norm.bias").rule, "norm");
  // A name containing both 'head' and 'norm' takes 'head' (alphabetical tie-break), keeping decay.
  assert.deepEqual([g("decode_head.norm.weight").rule, g("decode_head.norm.weight").decayMult], [
    "head",
    1,
  ]);
});

Deno.test("poly schedule with warm-up matches mmcv's formula worked by hand", () => {
  const s = polySchedule(40000);
  const base = 6e-5;
  // t = 0: regular = base; warm-up factor 1 − (1 − 0)(1 − 1e-6) = 1e-6.
  assert.ok(Math.abs(learningRate(s, base, 0) - base * 1e-6) < 1e-18);
  // t = 750: regular = base·(1 − 750/40000); factor = 1 − 0.5·(1 − 1e-6) = 0.5 + 5e-7.
  const expected750 = base * (1 - 750 / 40000) * (0.5 + 5e-7);
  assert.ok(Math.abs(learningRate(s, base, 750) - expected750) < 1e-18);
  assert.ok(Math.abs(learningRate(s, base, 1500) - base * (1 - 1500 / 40000)) < 1e-18);
  assert.ok(Math.abs(learningRate(s, base, 39999) - base / 40000) < 1e-18);
  assert.equal(learningRate(s, base, 40000), 0);
});

/** PyTorch 1.7 AdamW in plain JavaScript (float64), for one parameter. */
function referenceAdamW(p: number[], grads: number[][], lr: number, wd: number): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out = [...p];
  grads.forEach((g, t) => {
    const step = t + 1;
    for (let i = 0; i < out.length; i++) {
      out[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** step) + eps;
      out[i] -= (lr / (1 - b1 ** step)) * m[i] / denom;
    }
  });
  return out;
}

Deno.test("AdamW matches PyTorch's update over several steps, per parameter group", async () => {
  await useBackend("cpu");
  const rng = new RandomStream(5);
  const names = [
    "decode_head.linear_fuse.bn.weight",
    "backbone.block1.0.norm1.weight",
    "backbone.block1.0.attn.q.bias",
  ];
  const store = new ParamStore();
  const initial = names.map(() => Array.from(rng.normalArray(6)));
  names.forEach((n, i) => store.add(n, tf.tensor1d(initial[i]), "plain"));
  const opt = new AdamW(store.trainable(), { lr: 1e-2 });
  const gradSeries = names.map(() => [0, 1, 2, 3].map(() => Array.from(rng.normalArray(6))));
  const before = tf.memory().numTensors;
  for (let t = 0; t < 4; t++) {
    const grads = Object.fromEntries(names.map((n, i) => [n, tf.tensor1d(gradSeries[i][t])]));
    opt.apply(grads, 1e-2);
    tf.dispose(Object.values(grads));
  }
  assert.equal(tf.memory().numTensors, before, "no tensors leak across steps");
  const lrMults = [10, 1, 1];
  const decays = [0.01, 0, 0.01];
  for (let i = 0; i < names.length; i++) {
    const expected = referenceAdamW(initial[i], gradSeries[i], 1e-2 * lrMults[i], decays[i]);
    const actual = await store.get(names[i]).data();
    for (let k = 0; k < 6; k++) {
      const rel = Math.abs(actual[k] - expected[k]) / Math.max(Math.abs(expected[k]), 1e-6);
      assert.ok(rel < 1e-5, `${names[i]}[${k}]: ${actual[k]} vs ${expected[k]}`);
    }
  }
  const state = opt.state();
  assert.equal(state.step, 4);
  const restored = new AdamW(store.trainable(), { lr: 1e-2 });
  restored.loadState(state);
  assert.equal(restored.step, 4);
  for (const { m, v } of state.moments.values()) tf.dispose([m, v]);
  opt.dispose();
  restored.dispose();
  store.dispose();
});
