/**
 * The fused optimiser kernels `UdaAdamW` and `UdaEmaUpdate` against the tfjs op chains they
 * replaced, which stay here, and only here, as the independent references: bit for bit on cpu
 * and wasm, within a stated tolerance on webgpu.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { type BackendName, useBackend } from "../../runtime/backend/mod.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { AdamW, type LearningRate } from "../../runtime/optim/adamw.ts";
import {
  FUSED_OPTIMIZER_KERNELS,
  fusedAdamW,
  UDA_ADAMW,
} from "../../runtime/backend/kernels/adamw.ts";
import { fusedEmaUpdate } from "../../runtime/backend/kernels/ema.ts";
import { updateEmaTeacher } from "../../runtime/strategies/ema_teacher.ts";
import { RandomStream } from "../../runtime/random.ts";
import { WEBGPU } from "../backend/helpers.ts";

/**
 * Largest difference allowed on webgpu, in units of 2⁻²³·max(|a|, |b|, |terms|): the WGSL
 * compiler may contract a product and a sum into one fused multiply-add, and WGSL lets `/` err by
 * 2.5 ulp and `sqrt` by more than half an ulp (its accuracy table), where tfjs's separate ops
 * round each result. Observed on Mesa lavapipe: 0 (bit-identical).
 */
const WEBGPU_ULPS = 8;

/** `AdamW.apply`'s former body for one parameter: the chain of tfjs ops `UdaAdamW` replaces. */
function composedAdamW(
  p: tf.Tensor,
  g: tf.Tensor,
  m0: tf.Tensor,
  v0: tf.Tensor,
  o: { beta1: number; beta2: number; eps: number; lr: number; decay: number; t: number },
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const stepSize = o.lr / (1 - o.beta1 ** o.t);
  const sqrtCorrection2 = Math.sqrt(1 - o.beta2 ** o.t);
  const m = tf.add(tf.mul(m0, o.beta1), tf.mul(g, 1 - o.beta1));
  const v = tf.add(tf.mul(v0, o.beta2), tf.mul(tf.mul(g, g), 1 - o.beta2));
  const denom = tf.add(tf.div(tf.sqrt(v), sqrtCorrection2), o.eps);
  const decayed = o.decay === 0 ? p : tf.mul(p, 1 - o.lr * o.decay);
  return [tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)), m, v];
}

/** `updateEmaTeacher`'s former update: the chain `UdaEmaUpdate` replaces. */
function composedEma(teacher: tf.Tensor, student: tf.Tensor, a: number): tf.Tensor {
  return tf.add(tf.mul(teacher, a), tf.mul(student, 1 - a));
}

/** Parameters in three DAFormer groups (head: 10× lr; norm: no decay; default), non-square. */
const PARAMS: [string, number[]][] = [
  ["decode_head.linear_fuse.conv.weight", [1, 1, 3, 5]],
  ["backbone.block1.0.norm1.weight", [7]],
  ["backbone.block1.0.attn.q.weight", [67, 5]],
  ["backbone.block1.0.attn.q.bias", [2, 3, 4]],
];

/** Gradient scales: ordinary, tiny (ε matters in the denominator), large. */
const SCALES = [0.1, 1, 1e-6, 300];

function gradient(rng: RandomStream, shape: number[], i: number, t: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = rng.normalArray(n, 0, SCALES[(i + t) % SCALES.length]);
  // Exact zeros and a signed zero: v and m decay, p only decays.
  values[0] = 0;
  if (n > 2) values[2] = -0;
  return tf.tensor(values, shape);
}

function makeStore(rng: RandomStream): ParamStore {
  const store = new ParamStore();
  for (const [name, shape] of PARAMS) {
    store.add(name, tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape), "plain");
  }
  return store;
}

/** Float32 bits as integers ordered like the floats, so a difference counts ulps. */
function ordered(x: Float32Array): Int32Array {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  return bits.map((b) => (b < 0 ? -2147483648 - b : b));
}

async function assertBitIdentical(actual: tf.Tensor, expected: tf.Tensor, what: string) {
  const [a, e] = [await actual.data() as Float32Array, await expected.data() as Float32Array];
  const [ka, ke] = [ordered(a), ordered(e)];
  const bad = ka.findIndex((k, i) => k !== ke[i]);
  assert.equal(bad, -1, `${what}[${bad}]: ${a[bad]} vs ${e[bad]}`);
}

/**
 * The largest difference of `actual` from `expected` in units of 2⁻²³·scale, where scale is each
 * element's largest magnitude among the two results and `terms` (the operands, whose rounding
 * errors a fused multiply-add keeps or drops); also the largest plain ulp difference.
 */
async function scaledDifference(
  actual: tf.Tensor,
  expected: tf.Tensor,
  terms: tf.Tensor[],
): Promise<{ scaled: number; ulps: number }> {
  const a = await actual.data() as Float32Array;
  const e = await expected.data() as Float32Array;
  const ts = await Promise.all(terms.map((t) => t.data()));
  const [ka, ke] = [ordered(a), ordered(e)];
  let scaled = 0;
  let ulps = 0;
  for (let i = 0; i < a.length; i++) {
    const scale = Math.max(Math.abs(a[i]), Math.abs(e[i]), ...ts.map((t) => Math.abs(t[i])));
    if (scale > 0) scaled = Math.max(scaled, Math.abs(a[i] - e[i]) / (scale * 2 ** -23));
    ulps = Math.max(ulps, Math.abs(ka[i] - ke[i]));
  }
  return { scaled, ulps };
}

/** A schedule that gives each group its own rate, as mmcv schedules groups from their base. */
const SCHEDULE: LearningRate = (base) => base * 0.7;

for (const backend of ["cpu", "wasm"] as BackendName[]) {
  Deno.test(`${backend}: AdamW over six steps is bit-identical to the composed tfjs formula`, async () => {
    await useBackend(backend);
    for (const weightDecay of [0.01, 0]) {
      const rng = new RandomStream(21);
      const fused = makeStore(rng);
      const opt = new AdamW(fused.trainable(), { lr: 3e-3, weightDecay });
      const initial = Float32Array.from(await fused.get(PARAMS[2][0]).data());
      // The reference: the same start, its own moments and step counts.
      const ref = PARAMS.map(([name]): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor; t: number } => ({
        p: tf.clone(fused.get(name)),
        m: tf.zerosLike(fused.get(name)),
        v: tf.zerosLike(fused.get(name)),
        t: 0,
      }));
      for (let step = 0; step < 6; step++) {
        const lr: LearningRate = step % 2 === 0 ? 3e-3 * (1 - step / 10) : SCHEDULE;
        const rates = opt.learningRates(lr);
        // Parameter 3 skips steps 1 and 4, so the step counts differ between parameters.
        const grads: Record<string, tf.Tensor> = {};
        PARAMS.forEach(([name, shape], i) => {
          if (!(i === 3 && (step === 1 || step === 4))) grads[name] = gradient(rng, shape, i, step);
        });
        const before = tf.memory().numTensors;
        opt.apply(grads, lr);
        assert.equal(tf.memory().numTensors, before, "apply leaves no tensor behind");
        PARAMS.forEach(([name], i) => {
          if (grads[name] === undefined) return;
          const r = ref[i];
          r.t += 1;
          const decay = weightDecay * opt.groups[i].decayMult;
          const next = composedAdamW(r.p, grads[name], r.m, r.v, {
            ...opt.options,
            lr: rates[i],
            decay,
            t: r.t,
          });
          tf.dispose([r.p, r.m, r.v]);
          [r.p, r.m, r.v] = next;
        });
        tf.dispose(Object.values(grads));
        const state = opt.state();
        for (const [i, [name]] of PARAMS.entries()) {
          const what = `wd ${weightDecay}, step ${step}, ${name}`;
          await assertBitIdentical(fused.get(name), ref[i].p, `${what} param`);
          await assertBitIdentical(state.moments.get(name)!.m, ref[i].m, `${what} m`);
          await assertBitIdentical(state.moments.get(name)!.v, ref[i].v, `${what} v`);
          assert.equal(state.moments.get(name)!.step, ref[i].t);
        }
        tf.dispose([...state.moments.values()].flatMap(({ m, v }) => [m, v]));
      }
      // The weights moved: the comparison is not of untouched copies.
      const final = await fused.get(PARAMS[2][0]).data();
      assert.ok(final.some((x, k) => Math.abs(x - initial[k]) > 1e-4));
      tf.dispose(ref.flatMap((r) => [r.p, r.m, r.v]));
      opt.dispose();
      fused.dispose();
    }
  });

  Deno.test(`${backend}: the EMA update is bit-identical to the composed tfjs formula`, async () => {
    await useBackend(backend);
    const rng = new RandomStream(4);
    const student = makeStore(rng);
    const teacher = makeStore(rng);
    const reference: tf.Tensor[] = PARAMS.map(([name]) => tf.clone(teacher.get(name)));
    for (const iteration of [1, 2, 9, 998, 999, 5000]) {
      for (const p of student.trainable()) p.variable.assign(tf.randomNormal(p.variable.shape));
      const alpha = Math.min(1 - 1 / (iteration + 1), 0.999);
      const before = tf.memory().numTensors;
      updateEmaTeacher(teacher, student, iteration);
      assert.equal(tf.memory().numTensors, before, "the update leaves no tensor behind");
      for (const [i, [name]] of PARAMS.entries()) {
        const next = composedEma(reference[i], student.get(name), alpha);
        reference[i].dispose();
        reference[i] = next;
        await assertBitIdentical(teacher.get(name), next, `iteration ${iteration}, ${name}`);
      }
    }
    tf.dispose(reference);
    student.dispose();
    teacher.dispose();
  });
}

Deno.test({
  name: "webgpu: UdaAdamW and UdaEmaUpdate agree with the composed formulas within 8 scaled ulp",
  ignore: !WEBGPU,
  fn: async () => {
    await useBackend("webgpu");
    const rng = new RandomStream(9);
    const [, shape] = PARAMS[2];
    let p = tf.tensor(rng.normalArray(335), shape);
    let m = tf.zeros(shape);
    let v = tf.zeros(shape);
    const worst = { p: 0, m: 0, v: 0, ema: 0, ulps: 0 };
    // Each step compares one kernel call with one chain from the same state, so the bound is
    // per call and does not compound; the state then follows the reference chain.
    for (let t = 1; t <= 5; t++) {
      const g = gradient(rng, shape, 0, t);
      const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, lr: 3e-3, decay: t % 2 === 0 ? 0 : 0.01, t };
      const got = fusedAdamW(p, g, m, v, {
        ...o,
        stepSize: o.lr / (1 - o.beta1 ** t),
        sqrtCorrection2: Math.sqrt(1 - o.beta2 ** t),
        decayFactor: o.decay === 0 ? 1 : 1 - o.lr * o.decay,
      });
      const want = composedAdamW(p, g, m, v, o);
      const g2 = tf.mul(g, g);
      const d = await Promise.all([
        scaledDifference(got[0], want[0], [p]),
        scaledDifference(got[1], want[1], [m, g]),
        scaledDifference(got[2], want[2], [v, g2]),
      ]);
      [worst.p, worst.m, worst.v] = d.map((x, i) =>
        Math.max([worst.p, worst.m, worst.v][i], x.scaled)
      );
      worst.ulps = Math.max(worst.ulps, ...d.map((x) => x.ulps));
      const student = tf.randomNormal(shape);
      const emas = [fusedEmaUpdate(p, student, 0.99), composedEma(p, student, 0.99)];
      const ema = await scaledDifference(emas[0], emas[1], [p, student]);
      worst.ema = Math.max(worst.ema, ema.scaled);
      worst.ulps = Math.max(worst.ulps, ema.ulps);
      tf.dispose([p, m, v, g, g2, ...got, student, ...emas]);
      [p, m, v] = want;
    }
    console.log(`webgpu vs composed (scaled ulp): ${JSON.stringify(worst)}`);
    for (const key of ["p", "m", "v", "ema"] as const) {
      assert.ok(worst[key] <= WEBGPU_ULPS, `${key}: ${worst[key]} scaled ulp`);
    }
    tf.dispose([p, m, v]);
  },
});

Deno.test({
  name: "webgpu: AdamW.apply and the EMA update leave no tensor behind",
  ignore: !WEBGPU,
  fn: async () => {
    await useBackend("webgpu");
    const rng = new RandomStream(2);
    const store = makeStore(rng);
    const other = makeStore(rng);
    const opt = new AdamW(store.trainable());
    const grads = Object.fromEntries(
      PARAMS.map(([name, shape], i) => [name, gradient(rng, shape, i, 0)]),
    );
    const before = tf.memory().numTensors;
    for (let t = 0; t < 3; t++) {
      opt.apply(grads, 6e-5);
      updateEmaTeacher(other, store, t + 1);
    }
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Number.isFinite((await store.get(PARAMS[0][0]).data())[0]));
    tf.dispose(Object.values(grads));
    opt.dispose();
    store.dispose();
    other.dispose();
  },
});

Deno.test("the fused kernels are registered on every backend and have no gradient", async () => {
  await useBackend("cpu");
  for (const name of FUSED_OPTIMIZER_KERNELS) {
    for (const backend of ["cpu", "tensorflow", "wasm", "webgpu"]) {
      assert.ok(tf.getKernel(name, backend), `${name} on ${backend}`);
    }
    assert.equal(tf.getGradient(name), undefined, name);
  }
  // Differentiating through one fails loudly instead of giving a wrong gradient.
  const student = tf.tensor2d([[1, 2, 3]]);
  assert.throws(
    () => tf.grad((x: tf.Tensor) => tf.sum(fusedEmaUpdate(x, student, 0.5)))(tf.ones([1, 3])),
    /gradient function not found for UdaEmaUpdate/,
  );
  const [a, b] = [tf.zeros([2, 3]), tf.zeros([3, 2])];
  const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1, sqrtCorrection2: 1 };
  assert.throws(
    () => fusedAdamW(a, b, a, a, { ...attrs, decayFactor: 1 }),
    new RegExp(`${UDA_ADAMW}: every input must be float32 of one shape; grad is float32 \\[3,2\\]`),
  );
  assert.throws(
    () => fusedAdamW(a, a, a, a, { ...attrs, decayFactor: NaN }),
    /'decayFactor' must be a finite number/,
  );
  tf.dispose([student, a, b]);
});
