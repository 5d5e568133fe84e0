/**
 * CLUDA (`runtime/losses/cluda_contrast.ts`, `runtime/blocks/cluda_contrast.ts`): the loss
 * against a float64 computation written out from `shared/reference/pipa_cluda.md` §5.4 on a
 * 5-pixel example with W and Γ, row chunks, the released row order, the crop indicator, the
 * entropy window, the gradient against float64 finite differences, and tiny runs on HRDA and
 * DAFormer that resume bit for bit.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { cludaContrastLoss, releasedRowOrder } from "../../runtime/losses/cluda_contrast.ts";
import { maxEntropyWindow, normalisedEntropy } from "../../runtime/nn/multi_resolution.ts";
import { cropIndicator } from "../../runtime/blocks/cluda_contrast.ts";
import { compile } from "../../runtime/compile/program.ts";
import { buildNetworks, disposeNetworks } from "../../runtime/train/networks.ts";
import { extend } from "../../dsl/mod.ts";
import { trainAndResume } from "../train/helpers.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import tinyHrda from "../fixtures/tiny_hrda.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";
import { cluda, cludaReleased } from "../../experiments/cluda.ts";
import { cludaSingle } from "../../experiments/cluda_daformer.ts";

await useBackend("cpu");

interface Example {
  lr: number[][];
  hr?: number[][];
  labels: number[];
  w?: number[];
  m?: number[];
  q?: number[];
}

/** The loss in float64, term by term as §5.4 writes it. */
function reference(x: Example): number {
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  const n = x.labels.length;
  const logP = (c: number[][], i: number, j: number) => {
    let negatives = 0;
    for (let k = 0; k < n; k++) {
      if (x.labels[k] !== x.labels[i]) negatives += Math.exp(dot(x.lr[i], c[k]));
    }
    const s = dot(x.lr[i], c[j]);
    return s - Math.log(Math.exp(s) + negatives);
  };
  let total = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0, positives = 0;
    for (let j = 0; j < n; j++) {
      if (j === i || x.labels[j] !== x.labels[i]) continue;
      positives += 1;
      const gamma = x.q ? x.q[i] * x.q[j] : 1;
      if (x.hr === undefined) {
        sum += gamma * logP(x.lr, i, j);
      } else {
        const W = x.w![i] * x.w![j] * x.m![i];
        sum += gamma * (W * logP(x.lr, i, j) + (1 - W) * logP(x.hr, i, j));
      }
    }
    total += -sum / Math.max(1, positives);
  }
  return (x.hr === undefined ? 1 : 0.5) * total / n;
}

function unitRows(rng: RandomStream, rows: number, d: number, zero: number[] = []): number[][] {
  return Array.from({ length: rows }, (_, r) => {
    if (zero.includes(r)) return Array(d).fill(0);
    const v = rng.normalArray(d);
    const norm = Math.hypot(...v);
    return Array.from(v, (x) => x / norm);
  });
}

/** Five pixels: two classes and a singleton (no positive), pixels 3–4 outside the crop. */
function fivePixels(): Example {
  const rng = new RandomStream(5);
  return {
    lr: unitRows(rng, 5, 3),
    hr: unitRows(rng, 5, 3, [3, 4]),
    labels: [0, 2, 0, 2, 7],
    w: [0.9, 0.2, 0.6, 0.5, 0.7],
    m: [1, 1, 1, 0, 0],
    q: [1, 0.8, 0.5, 1, 0.3],
  };
}

function tensors(x: Example, lr = tf.tensor2d(x.lr), w = x.w && tf.tensor1d(x.w)) {
  return {
    lr,
    ...(x.hr ? { hr: tf.tensor2d(x.hr) } : {}),
    labels: Int32Array.from(x.labels),
    ...(w ? { weight: w } : {}),
    ...(x.m ? { inside: Float32Array.from(x.m) } : {}),
    ...(x.q ? { confidence: tf.tensor1d(x.q) } : {}),
  };
}

const options = { rowChunk: 1024, stuffThingMask: false };

Deno.test("CLUDA loss: the 5-pixel example with W and Γ as §5.4; single form; chunks; stuff/thing no-op", async () => {
  const x = fivePixels();
  const expected = reference(x);
  // By hand: pixels (1,0), (1,0), (0,1) of classes 0, 0, 1. Rows 0 and 1 each have one
  // positive (similarity 1) and one negative (0): log p = 1 − ln(e + 1); row 2 has no positive.
  const byHand = (2 / 3) * (Math.log(Math.E + 1) - 1);
  const tiny = { lr: [[1, 0], [1, 0], [0, 1]], labels: [0, 0, 1] };
  const gotTiny = (await cludaContrastLoss(tensors(tiny), options).data())[0];
  assert.ok(Math.abs(gotTiny - byHand) <= 1e-6 && Math.abs(reference(tiny) - byHand) < 1e-12);
  for (const rowChunk of [1024, 2, 1]) {
    const got = (await cludaContrastLoss(tensors(x), { ...options, rowChunk }).data())[0];
    assert.ok(Math.abs(got - expected) <= 1e-6, `chunk ${rowChunk}: ${got} vs ${expected}`);
  }
  const masked =
    (await cludaContrastLoss(tensors(x), { ...options, stuffThingMask: true }).data())[0];
  assert.ok(Math.abs(masked - expected) <= 1e-7, "the stuff/thing mask changed the loss");
  const single: Example = { lr: x.lr, labels: x.labels, q: x.q };
  const gotSingle = (await cludaContrastLoss(tensors(single), options).data())[0];
  assert.ok(
    Math.abs(gotSingle - reference(single)) <= 1e-6,
    `${gotSingle} vs ${reference(single)}`,
  );
  // W = 1 everywhere reduces the multi-resolution loss to half the single one.
  const ones = { ...x, w: [1, 1, 1, 1, 1], m: [1, 1, 1, 1, 1] };
  const allLr = (await cludaContrastLoss(tensors(ones), options).data())[0];
  const withoutQ =
    (await cludaContrastLoss(tensors({ lr: x.lr, labels: x.labels, q: x.q }), options).data())[0];
  assert.ok(Math.abs(allLr - withoutQ / 2) <= 1e-6, `${allLr} vs ${withoutQ / 2}`);
});

Deno.test("CLUDA loss: row-chunked equals whole on 150 pixels to 1e-6", async () => {
  const rng = new RandomStream(9);
  const n = 150;
  const x: Example = {
    lr: unitRows(rng, n, 8),
    hr: unitRows(rng, n, 8, [...Array(60).keys()]),
    labels: Array.from({ length: n }, () => rng.int(6)),
    w: Array.from({ length: n }, () => rng.uniform()),
    m: Array.from({ length: n }, (_, i) => (i < 60 ? 0 : 1)),
    q: Array.from({ length: n }, () => rng.uniform()),
  };
  const whole = (await cludaContrastLoss(tensors(x), { ...options, rowChunk: n }).data())[0];
  const chunked = (await cludaContrastLoss(tensors(x), { ...options, rowChunk: 17 }).data())[0];
  assert.ok(Math.abs(whole - chunked) <= 1e-6, `${whole} vs ${chunked}`);
  assert.ok(Math.abs(whole - reference(x)) <= 1e-5, `${whole} vs ${reference(x)}`);
});

Deno.test("CLUDA loss: the written-out gradients (lr, hr, w; single form) against float64 finite differences", async () => {
  const h = 1e-6;
  const check = async (x: Example, rowChunk: number) => {
    const multi = x.hr !== undefined;
    const fields = (multi ? ["lr", "hr", "w"] : ["lr"]) as ("lr" | "hr" | "w")[];
    const grads = tf.grads((...inputs: tf.Tensor[]) =>
      cludaContrastLoss({
        ...tensors(x),
        lr: inputs[0] as tf.Tensor2D,
        ...(multi ? { hr: inputs[1] as tf.Tensor2D, weight: inputs[2] as tf.Tensor1D } : {}),
      }, { ...options, rowChunk })
    )(fields.map((f) => f === "w" ? tf.tensor1d(x.w!) : tf.tensor2d(x[f]!)));
    for (const [k, field] of fields.entries()) {
      const analytic = await grads[k].data();
      const flat = field === "w" ? x.w! : x[field]!.flat();
      const width = field === "w" ? 1 : x.lr[0].length;
      flat.forEach((_, e) => {
        const moved = (d: number): Example => {
          const values = flat.map((v, a) => (a === e ? v + d : v));
          if (field === "w") return { ...x, w: values };
          const rows = x[field]!.map((_, r) => values.slice(r * width, (r + 1) * width));
          return { ...x, [field]: rows };
        };
        const fd = (reference(moved(h)) - reference(moved(-h))) / (2 * h);
        assert.ok(
          Math.abs(analytic[e] - fd) <= 1e-4 + 1e-3 * Math.abs(fd),
          `${multi ? "multi" : "single"} ${field}[${e}]: ${analytic[e]} vs ${fd}`,
        );
      });
      assert.ok(analytic.some((g) => Math.abs(g) > 1e-4), `${field} receives no gradient`);
    }
  };
  const x = fivePixels();
  await check(x, 2);
  await check(x, 1024);
  await check({ lr: x.lr, labels: x.labels, q: x.q }, 2);
});

Deno.test("the released row order pairs pixel ⌊r/B⌋ of image r mod B with row r's label", () => {
  assert.deepEqual([...releasedRowOrder(2, 3)], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...releasedRowOrder(1, 4)], [0, 1, 2, 3]);
});

Deno.test("crop indicator: the context grid's box sampled nearest at the grid; labelNonZero drops road", () => {
  // Context grid 4×4, box rows 0–1, columns 2–3; grid 2×2 samples context cells (0,0), (0,2),
  // (2,0), (2,2): only (0,2) is inside.
  const labels = Int32Array.from([5, 0, 3, 3, 1, 1, 1, 1]);
  const crop = cropIndicator(2, 2, [4, 4], [0, 2, 2, 2], labels, "crop");
  assert.deepEqual([...crop], [0, 1, 0, 0, 0, 1, 0, 0]);
  const released = cropIndicator(2, 2, [4, 4], [0, 2, 2, 2], labels, "labelNonZero");
  assert.deepEqual([...released], [0, 0, 0, 0, 0, 1, 0, 0]);
});

Deno.test("entropy crop: the window of highest mean normalised entropy wins", async () => {
  // A 4×6 map: high entropy in columns 4–5 of the top rows.
  const size = [4, 6] as const;
  const entropy = new Float32Array(24).fill(0.1);
  for (const y of [0, 1]) for (const x of [4, 5]) entropy[y * 6 + x] = 0.9;
  const windows = [[0, 0, 2, 2], [0, 2, 2, 2], [0, 4, 2, 2], [2, 0, 2, 2], [2, 4, 2, 2]] as const;
  assert.equal(maxEntropyWindow(entropy, size, windows), 2);
  assert.equal(maxEntropyWindow(new Float32Array(24).fill(0.3), size, windows), 0);
  // Uniform logits: entropy ln K, divided by K ln K (the released normalisation) is 1/K.
  const k = 5;
  const uniform = await normalisedEntropy(tf.zeros([1, 1, 1, k]) as tf.Tensor4D).data();
  assert.ok(Math.abs(uniform[0] - 1 / k) < 1e-6);
  const sure = await normalisedEntropy(tf.tensor4d([[[[50, 0, 0, 0, 0]]]])).data();
  assert.ok(sure[0] < 1e-6);
});

const tinyCluda = extend(extend(tinyHrda, cluda), {
  losses: { cluda: { grid: 5, entropyCropFrom: 3 } },
});

Deno.test({
  name: "CLUDA on HRDA (and its released variant) trains, logs both terms and resumes bit for bit",
  sanitizeResources: false,
  async fn() {
    await ensureTinyEncoder();
    for (
      const [name, experiment] of [
        ["paper", tinyCluda],
        // The released decoder width, 2 × the tiny model's 16 channels as 512 is 2 × 256.
        [
          "released",
          extend(extend(tinyCluda, cludaReleased), {
            model: { decoder: { embedDims: 32 } },
          }),
        ],
      ] as const
    ) {
      const program = compile(
        extend(experiment, { run: { iterations: 6, logEvery: 2 }, evaluation: { every: 6 } }),
      );
      assert.ok(program.networks.some((n) => n.name === "cludaWeighter" && n.exported));
      const width = name === "released" ? 32 : 16;
      const decoder = program.experiment.model.decoder;
      assert.equal(decoder.kind === "daformerHead" && decoder.embedDims, width === 32 ? 32 : 0);
      const networks = await buildNetworks(program);
      try {
        // Each level's embedding, and the fusion's input of four of them, have that width.
        const params = networks.get("student")!.params;
        const shape = (name: string) => params.get(name).shape;
        assert.equal(shape("decode_head.head.embed_layers.0.proj.weight").at(-1), width);
        assert.equal(shape("decode_head.head.fuse_layer.aspp_modules.0.conv.weight")[2], 4 * width);
      } finally {
        disposeNetworks(networks);
      }
      const { records } = await trainAndResume(program, `.cache/test-cluda-${name}`, 3);
      const train = records.filter((r) => r.losses?.cludaSource !== undefined);
      assert.ok(train.length > 0);
      for (const r of train) {
        for (const key of ["cludaSource", "cludaMixed"]) {
          assert.ok(
            Number.isFinite(r.losses![key]) && r.losses![key] !== 0,
            `${name} ${key}: ${JSON.stringify(r)}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name: "CLUDA's single-resolution form on DAFormer trains and resumes bit for bit",
  sanitizeResources: false,
  async fn() {
    await ensureTinyEncoder();
    const experiment = extend(extend(tinyDaformer, cludaSingle), {
      losses: { cluda: { grid: 5 } },
      run: { iterations: 4, logEvery: 2 },
      evaluation: { every: 4 },
    });
    const program = compile(experiment);
    assert.ok(!program.networks.some((n) => n.name === "cludaWeighter"));
    const { records } = await trainAndResume(program, ".cache/test-cluda-single", 2);
    assert.ok(records.some((r) => (r.losses?.cludaMixed ?? 0) !== 0));
  },
});

Deno.test({
  name:
    "from entropyCropFrom on, the student's mixed pass takes the window of highest context entropy",
  sanitizeResources: false,
  async fn() {
    await ensureTinyEncoder();
    const program = compile(tinyCluda);
    assert.deepEqual(
      program.passSettings.map((s) => [s.network, s.view, s.fromIteration, s.mode.detailBox]),
      [["student", "mixed", 3, "maxEntropy"]],
    );
    const networks = await buildNetworks(program);
    try {
      const student = networks.get("student")!;
      const image = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 4) as tf.Tensor4D;
      for (const seed of [1, 2, 3]) {
        const out = student.forward!(image, {
          training: true,
          rng: new RandomStream(seed),
          detailBox: "maxEntropy",
        });
        const context = out.contextLogits as tf.Tensor4D;
        const entropy = tf.mean(normalisedEntropy(context), 0).dataSync() as Float32Array;
        // Teacher windows of the 32² detail crop at stride 16 over the 64² crop, in context cells
        // of 64 / 8 = 8 px.
        const windows = [0, 16, 32].flatMap((y) => [0, 16, 32].map((x) => [y, x, 32, 32] as const));
        const cells = windows.map((b) => b.map((v) => v / 8) as unknown as typeof b);
        const best = windows[maxEntropyWindow(entropy, [8, 8], cells)];
        assert.deepEqual(out.detail!.box, best);
      }
    } finally {
      disposeNetworks(networks);
    }
  },
});
