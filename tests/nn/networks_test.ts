import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { createSegmentor, parseModelSpec, type Segmentor } from "../../runtime/nn/segmentor.ts";
import { MIT_CONFIGS } from "../../runtime/nn/mit.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { batchNorm, gelu, layerNorm } from "../../runtime/nn/layers.ts";
import { RandomStream } from "../../runtime/random.ts";

/** MiT's encoder parameter count from the architecture (independent of the implementation). */
function mitParameterCount(name: string): number {
  const cfg = MIT_CONFIGS[name];
  const kernels = [7, 3, 3, 3];
  let total = 0;
  let inC = 3;
  cfg.dims.forEach((c, s) => {
    total += kernels[s] ** 2 * inC * c + c + 2 * c; // patch embedding conv + LayerNorm
    const hidden = 4 * c;
    const r = cfg.srRatios[s];
    const block = 2 * c + // norm1
      (c * c + c) + (c * 2 * c + 2 * c) + (c * c + c) + // q, kv, proj
      (r > 1 ? r * r * c * c + c + 2 * c : 0) + // sr conv + its norm
      2 * c + // norm2
      (c * hidden + hidden) + (9 * hidden + hidden) + (hidden * c + c); // fc1, dwconv, fc2
    total += cfg.depths[s] * block + 2 * c; // blocks + stage norm
    inC = c;
  });
  return total;
}

Deno.test("MiT-B0 parameters: mmseg names, tfjs layouts and the published 3.3M count", async () => {
  await useBackend("cpu");
  const model = createSegmentor("mit_b0+segformer", { seed: 0 });
  const shape = (name: string) => model.params.get(name).shape;
  assert.deepEqual(shape("backbone.patch_embed1.proj.weight"), [7, 7, 3, 32]);
  assert.deepEqual(shape("backbone.block1.0.attn.q.weight"), [32, 32]);
  assert.deepEqual(shape("backbone.block1.0.attn.kv.weight"), [32, 64]);
  assert.deepEqual(shape("backbone.block1.0.attn.sr.weight"), [8, 8, 32, 32]);
  assert.deepEqual(shape("backbone.block1.0.mlp.dwconv.dwconv.weight"), [3, 3, 128, 1]);
  assert.deepEqual(shape("backbone.block4.1.mlp.fc2.weight"), [1024, 256]);
  assert.ok(
    !model.params.has("backbone.block4.0.attn.sr.weight"),
    "stage 4 has no spatial reduction",
  );
  assert.deepEqual(shape("decode_head.linear_c.3.proj.weight"), [256, 256]);
  assert.deepEqual(shape("decode_head.linear_fuse.conv.weight"), [1, 1, 1024, 256]);
  assert.equal(model.params.entry("decode_head.linear_fuse.bn.running_mean")!.trainable, false);
  assert.deepEqual(shape("decode_head.linear_pred.weight"), [1, 1, 256, 19]);
  const encoder = model.params.list().filter((p) => p.name.startsWith("backbone."));
  const count = encoder.reduce((n, p) => n + p.variable.size, 0);
  assert.equal(count, mitParameterCount("mit_b0"));
  assert.equal(count, 3_319_392);
  model.params.dispose();
});

Deno.test("DAFormer head: sep-ASPP parameter names and shapes as mmcv's modules", async () => {
  await useBackend("cpu");
  const model = createSegmentor("mit_b0+daformer", { seed: 0 });
  const shape = (name: string) => model.params.get(name).shape;
  assert.deepEqual(shape("decode_head.embed_layers.0.proj.weight"), [32, 256]);
  assert.deepEqual(shape("decode_head.fuse_layer.aspp_modules.0.conv.weight"), [1, 1, 1024, 256]);
  assert.deepEqual(shape("decode_head.fuse_layer.aspp_modules.2.depthwise_conv.conv.weight"), [
    3,
    3,
    1024,
    1,
  ]);
  assert.deepEqual(shape("decode_head.fuse_layer.aspp_modules.2.pointwise_conv.conv.weight"), [
    1,
    1,
    1024,
    256,
  ]);
  assert.deepEqual(shape("decode_head.fuse_layer.bottleneck.conv.weight"), [3, 3, 1024, 256]);
  assert.deepEqual(shape("decode_head.conv_seg.weight"), [1, 1, 256, 19]);
  assert.ok(
    !model.params.has("decode_head.fuse_layer.bottleneck.conv.bias"),
    "conv before BN has no bias",
  );
  model.params.dispose();
  assert.throws(() => parseModelSpec("mit_b9+daformer"), /unknown encoder 'mit_b9'.*mit_b0/);
  assert.throws(() => parseModelSpec("mit_b0"), /ENCODER\+DECODER/);
});

Deno.test("LayerNorm, BatchNorm and GELU match their formulas on hand-made inputs", async () => {
  await useBackend("cpu");
  const p = new ParamStore();
  p.add("ln.weight", tf.tensor1d([2, 1, 1]), "plain");
  p.add("ln.bias", tf.tensor1d([0, 0, 1]), "plain");
  // [1, 2, 3]: mean 2, biased variance 2/3.
  const ln = await layerNorm(p, "ln", tf.tensor2d([[1, 2, 3]]), 1e-6).data();
  const s = 1 / Math.sqrt(2 / 3 + 1e-6);
  [-2 * s, 0, s + 1].forEach((v, i) => assert.ok(Math.abs(ln[i] - v) < 1e-5));

  p.add("bn.weight", tf.ones([1]), "plain");
  p.add("bn.bias", tf.zeros([1]), "plain");
  p.add("bn.running_mean", tf.zeros([1]), "plain", false);
  p.add("bn.running_var", tf.ones([1]), "plain", false);
  const x = tf.tensor4d([1, 2, 3, 6], [1, 2, 2, 1]); // mean 3, biased var 3.5, unbiased 14/3
  const train = await batchNorm(p, "bn", x, { training: true }).data();
  assert.ok(Math.abs(train[3] - 3 / Math.sqrt(3.5 + 1e-5)) < 1e-5);
  assert.ok(Math.abs((await p.get("bn.running_mean").data())[0] - 0.3) < 1e-6);
  assert.ok(Math.abs((await p.get("bn.running_var").data())[0] - (0.9 + 0.1 * 14 / 3)) < 1e-6);
  const evaluated = await batchNorm(p, "bn", x, { training: false }).data();
  assert.ok(Math.abs(evaluated[0] - (1 - 0.3) / Math.sqrt(0.9 + 0.1 * 14 / 3 + 1e-5)) < 1e-5);

  // GELU(x) = x·Φ(x): Φ(1) = 0.841344746, Φ(−0.5) = 0.308537539.
  const g = await gelu(tf.tensor1d([1, -0.5, 0])).data();
  assert.ok(
    Math.abs(g[0] - 0.841344746) < 1e-6 && Math.abs(g[1] + 0.5 * 0.308537539) < 1e-6 && g[2] === 0,
  );
  p.dispose();
});

Deno.test("same seed, same parameters and outputs; training mode differs from eval only by randomness and BN", async () => {
  await useBackend("cpu");
  const a = createSegmentor("mit_nano+daformer", { seed: 3 });
  const b = createSegmentor("mit_nano+daformer", { seed: 3 });
  const x = tf.tensor4d(new RandomStream(1).normalArray(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  const ya = await a.forward(x, { training: false }).logits.data();
  const yb = await b.forward(x, { training: false }).logits.data();
  assert.deepEqual(ya, yb);
  const t1 = await a.forward(x, { training: true, rng: new RandomStream(5) }).logits.data();
  const t2 = await b.forward(x, { training: true, rng: new RandomStream(5) }).logits.data();
  assert.deepEqual(t1, t2, "training mode is deterministic given the stream");
  assert.notDeepEqual(t1, ya);
  assert.throws(() => a.forward(x, { training: true }), /needs mode\.rng/);
  a.params.dispose();
  b.params.dispose();
});

/** Values of every parameter of `model`, to rebuild it identically on another backend. */
async function snapshot(model: Segmentor): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of model.params.list()) out.set(p.name, new Float32Array(await p.variable.data()));
  return out;
}

/**
 * max|a − b| / max(max|b|, floor). The floor matters for gradients that vanish in exact
 * arithmetic (e.g. a bias followed by training-mode BatchNorm): their float32 values are rounding
 * noise, so they are compared at 1e-3 of the largest gradient of the network instead.
 */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-30): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, floor);
}

function largest(values: Iterable<Float32Array>): number {
  let m = 0;
  for (const v of values) for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

/** Outputs and parameter gradients of a training-mode step on `backend`. */
async function run(
  spec: string,
  backend: "cpu" | "wasm" | "webgpu",
  values: Map<string, Float32Array>,
) {
  await useBackend(backend);
  const model = createSegmentor(spec, { seed: 0 });
  for (const p of model.params.list()) {
    p.variable.assign(tf.tensor(values.get(p.name)!, p.variable.shape));
  }
  const rng = new RandomStream(11);
  const image = tf.tensor4d(rng.normalArray(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  const weight = tf.tensor4d(rng.normalArray(2 * 8 * 8 * 19), [2, 8, 8, 19]);
  const evalOut = model.forward(image, { training: false });
  const outputs = await Promise.all(
    [evalOut.logits, ...evalOut.features].map(async (t) => await t.data()),
  );
  const { grads } = tf.variableGrads(
    () =>
      tf.sum(
        tf.mul(model.forward(image, { training: true, rng: new RandomStream(4) }).logits, weight),
      ) as tf.Scalar,
    model.params.trainable().map((p) => p.variable),
  );
  const gradients = new Map<string, Float32Array>();
  for (const p of model.params.trainable()) {
    gradients.set(p.name, new Float32Array(await grads[p.variable.name].data()));
  }
  tf.dispose([image, weight, evalOut.logits, ...evalOut.features, ...Object.values(grads)]);
  model.params.dispose();
  return { outputs, gradients };
}

type StepResult = Awaited<ReturnType<typeof run>>;
/** The cpu reference of each spec, computed once and shared by the wasm and webgpu tests. */
const references = new Map<
  string,
  Promise<{ values: Map<string, Float32Array>; reference: StepResult }>
>();

function cpuReference(spec: string) {
  if (!references.has(spec)) {
    references.set(
      spec,
      (async () => {
        await useBackend("cpu");
        const init = createSegmentor(spec, { seed: 21 });
        const values = await snapshot(init);
        init.params.dispose();
        return { values, reference: await run(spec, "cpu", values) };
      })(),
    );
  }
  return references.get(spec)!;
}

for (const spec of ["mit_b0+segformer", "mit_b0+daformer"]) {
  for (const [backend, tolerance] of [["wasm", 1e-4], ["webgpu", 1e-3]] as const) {
    const webgpu = backend === "webgpu" && await (async () => {
      try {
        return (await (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
          ?.requestAdapter()) != null;
      } catch {
        return false;
      }
    })();
    Deno.test({
      name: `${spec}: outputs and parameter gradients on ${backend} match cpu (≤ ${tolerance})`,
      ignore: backend === "webgpu" && !webgpu,
      fn: async () => {
        const { values, reference } = await cpuReference(spec);
        const actual = await run(spec, backend, values);
        reference.outputs.forEach((ref, i) => {
          const error = relativeError(actual.outputs[i], ref);
          assert.ok(error <= tolerance, `output ${i}: ${error}`);
        });
        const floor = 1e-3 * largest(reference.gradients.values());
        for (const [name, ref] of reference.gradients) {
          const error = relativeError(actual.gradients.get(name)!, ref, floor);
          assert.ok(error <= tolerance, `gradient of ${name}: ${error}`);
        }
      },
    });
  }
}
