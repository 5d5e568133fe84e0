/**
 * The `temporalContrast` block in a program: the grid flow on a constructed translation (exact
 * partners), the block's gradient path (pool → projection → unit rows → gather → loss) against
 * float64 finite differences of an independent loop-by-loop reference, a step that runs only
 * declared kernels and leaks nothing, and a tiny PiPa++ video run whose semantic memory survives
 * a resume bit for bit.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { extend, semanticPatchContrast, temporalContrast } from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { RandomStream } from "../../runtime/random.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { gridFlow, projectGrid } from "../../runtime/blocks/temporal_contrast.ts";
import { taskSmartNegatives } from "../../runtime/losses/patch_contrast.ts";
import {
  flowCorrespondence,
  TEMPORAL_CONTRAST_DEFAULTS,
  temporalContrastLoss,
} from "../../runtime/losses/temporal_contrast.ts";
import { buildNetworks, disposeNetworks } from "../../runtime/train/networks.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import { trainableParams, trainStep } from "../../runtime/train/step.ts";
import { checkpointPath, readCheckpoint } from "../../runtime/train/checkpoint.ts";
import tinyPipa from "../fixtures/tiny_pipa.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import { trainAndResume } from "../train/helpers.ts";
import { reference } from "./reference.ts";
import { relativeError } from "../backend/helpers.ts";
import { tinyVideoTarget } from "../fixtures/tiny_video.ts";

/**
 * PiPa-DAFormer on tiny SynthCity sequences with the temporal contrast from its first step: the
 * patch and temporal projections train side by side.
 */
const tinyVideo = extend(tinyPipa, {
  data: {
    target: tinyVideoTarget,
  },
  // Thresholds every prediction passes: a random tiny teacher is never confident.
  losses: {
    temporal: temporalContrast({ anchors: 24, memoryCapacity: 4, memoryThreshold: 0 }),
  },
});

Deno.test("grid flow: a constructed translation maps every cell to its exact partner", () => {
  // 2 images of 16×24 pixels, stride 8 → a 2×3 grid; flow (dx, dy) = (+8, −8) px everywhere, so
  // each cell's partner is one cell right and one up; the first image's cell (1, 0) has no flow.
  const [batch, height, width, stride] = [2, 16, 24, 8];
  const flow = new Float32Array(batch * height * width * 2);
  for (let i = 0; i < flow.length / 2; i++) [flow[2 * i], flow[2 * i + 1]] = [8, -8];
  const valid = new Uint8Array(batch * height * width).fill(1);
  valid[(0 * height + 8 + 4) * width + 0 + 4] = 0;
  const grid = gridFlow(flow, valid, [batch, height, width], [2, 3], stride);
  const { indices, valid: ok } = flowCorrespondence([batch, 2, 3], grid);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 3; x++) {
        const i = (b * 2 + y) * 3 + x;
        const inside = y - 1 >= 0 && x + 1 < 3 && !(b === 0 && y === 1 && x === 0);
        assert.equal(ok[i], inside ? 1 : 0, `cell ${b},${y},${x}`);
        if (inside) assert.equal(indices[i], (b * 2 + y - 1) * 3 + x + 1, `cell ${b},${y},${x}`);
      }
    }
  }
});

/** Float64 reference of the block's rows: 2×2 average pool, 1×1, ReLU, 1×1, unit length. */
function referenceRows(
  e: Float64Array,
  [h, w, c]: number[],
  w0: Float64Array,
  b0: Float64Array,
  w2: Float64Array,
  b2: Float64Array,
  d: number,
): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      const pooled = Array.from({ length: c }, (_, k) => {
        let s = 0;
        for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          s += e[((2 * y + dy) * w + 2 * x + dx) * c + k];
        }
        return s / 4;
      });
      const hidden = Array.from({ length: c }, (_, o) => {
        let s = b0[o];
        for (let k = 0; k < c; k++) s += pooled[k] * w0[k * c + o];
        return Math.max(0, s);
      });
      const z = Array.from({ length: d }, (_, o) => {
        let s = b2[o];
        for (let k = 0; k < c; k++) s += hidden[k] * w2[k * d + o];
        return s;
      });
      const norm = Math.sqrt(z.reduce((s, v) => s + v * v, 0));
      rows.push(z.map((v) => v / norm));
    }
  }
  return rows;
}

Deno.test("block gradient: pool, projection, unit rows, gather and loss against float64 FD", async () => {
  await useBackend("cpu");
  // A 6×8 stride-4 embedding (3×4 grid at stride 8) of 3 channels, projected to 2 dimensions.
  const [h, w, c, d] = [6, 8, 3, 2];
  const rng = new RandomStream(7);
  // Float32-representable values, so the float64 reference and the tensors see the same inputs.
  const draw = (n: number, s = 1) => Float64Array.from(rng.normalArray(n, 0, s), Math.fround);
  const f32 = (x: Float64Array) => Float32Array.from(x);
  const [et, ep] = [draw(h * w * c), draw(h * w * c)];
  const [w0, b0, w2, b2] = [draw(c * c), draw(c, 0.1), draw(c * d), draw(d, 0.1)];
  const params = new ParamStore();
  params.add("temporal_project.0.weight", tf.tensor4d(f32(w0), [1, 1, c, c]), "conv");
  params.add("temporal_project.0.bias", tf.tensor1d(f32(b0)), "plain");
  params.add("temporal_project.2.weight", tf.tensor4d(f32(w2), [1, 1, c, d]), "conv");
  params.add("temporal_project.2.bias", tf.tensor1d(f32(b2)), "plain");
  const anchorsAt = [0, 2, 3, 5, 6, 9, 11];
  const partnersAt = [1, 2, 4, 5, 7, 8, 11];
  const labels = [0, 1, 0, 2, 1, 0, 2];
  const partnerLabels = [0, 1, 1, 2, 1, 0, 2];
  const confidence = [0.9, 0.5, 0.7, 1, 0.8, 0.6, 0.95];
  const memory = [[0.6, 0.8], [-1, 0], [0, -1]];
  const memoryClasses = [1, 2, 0];
  const options = { ...TEMPORAL_CONTRAST_DEFAULTS, rowChunk: 3 };
  const referenceLoss = (t: Float64Array, p: Float64Array) => {
    const [rt, rp] = [t, p].map((e) => referenceRows(e, [h, w, c], w0, b0, w2, b2, d));
    return reference({
      anchors: anchorsAt.map((i) => rt[i]),
      partners: partnersAt.map((i) => rp[i]),
      valid: anchorsAt.map(() => 1),
      labels,
      partnerLabels,
      confidence,
      memory,
      memoryClasses,
    }, options);
  };
  // Made outside the function: its tensors are gone when the gradient runs.
  const memoryRows = tf.tensor2d(memory);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const rows = (x: tf.Tensor, at: number[]) =>
      tf.gather(projectGrid(params, x as tf.Tensor4D, 8), tf.tensor1d(at, "int32"));
    return temporalContrastLoss({
      anchors: rows(a, anchorsAt) as tf.Tensor2D,
      partners: rows(b, partnersAt) as tf.Tensor2D,
      valid: anchorsAt.map(() => 1),
      labels: Int32Array.from(labels),
      partnerLabels: Int32Array.from(partnerLabels),
      confidence,
      memory: { features: memoryRows, classes: Int32Array.from(memoryClasses) },
    }, options);
  })([tf.tensor4d(f32(et), [1, h, w, c]), tf.tensor4d(f32(ep), [1, h, w, c])]);
  const step = 1e-6;
  for (const [k, base] of [et, ep].entries()) {
    const fd = new Float64Array(base.length);
    for (let e = 0; e < base.length; e++) {
      const moved = (s: number) => base.map((v, i) => (i === e ? v + s : v));
      const at = (s: number) => k === 0 ? referenceLoss(moved(s), ep) : referenceLoss(et, moved(s));
      fd[e] = (at(step) - at(-step)) / (2 * step);
    }
    const error = relativeError(await grads[k].data(), fd);
    assert.ok(error < 1e-4, `frame ${k === 0 ? "t" : "t−k"}: relative error ${error}`);
    assert.ok(fd.some((g) => Math.abs(g) > 1e-3), `frame ${k}: no gradient`);
  }
  params.dispose();
});

Deno.test("a temporal-contrast step runs only declared kernels and leaks no tensors", async () => {
  await useBackend("wasm");
  await ensureTinyEncoder();
  const program = compile(tinyVideo);
  const networks = await buildNetworks(program, (r) => Promise.resolve(r));
  const optimizer = new AdamW(trainableParams(program, networks), program.optimizer);
  const image = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
  const label = tf.randomUniformInt([1, 64, 64], 0, 19) as tf.Tensor3D;
  const target = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
  const previous = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
  // A translation by one grid cell: every point but the last column has a partner.
  const flow = tf.tidy(() =>
    tf.concat([tf.fill([1, 64, 64, 1], 8), tf.zeros([1, 64, 64, 1])], 3)
  ) as tf.Tensor4D;
  const flowValid = tf.ones([1, 64, 64], "int32") as tf.Tensor3D;
  const inputs = new Map([
    ["source" as const, { image, label }],
    ["target" as const, { image: target, previous, flow, flowValid }],
  ]);
  await trainStep(program, networks, optimizer, inputs, 0, new RandomStream(0));
  const tensors = tf.memory().numTensors;
  let values: Record<string, number> = {};
  const step = await tf.profile(async () => {
    values = await trainStep(program, networks, optimizer, inputs, 1, new RandomStream(0));
  });
  assert.equal(tf.memory().numTensors, tensors, "tensor leak in a temporal-contrast step");
  assert.ok(Number.isFinite(values.temporal) && values.temporal > 0, `temporal ${values.temporal}`);
  const declared = program.kernels;
  const all = new Set([...declared.differentiated, ...declared.backward]);
  const undeclared = [...new Set(step.kernelNames)].filter((k) =>
    !all.has(k) && !k.endsWith("__op") && !["unnamed scope", "forward"].includes(k)
  );
  assert.deepEqual(undeclared, [], "kernels a temporal step runs but the lists do not declare");
  tf.dispose([image, label, target, previous, flow, flowValid]);
  disposeNetworks(networks);
  optimizer.dispose();
});

Deno.test({
  name: "a tiny PiPa++ video run fills its semantic memory and resumes with it bit for bit",
  sanitizeResources: false,
  async fn() {
    await useBackend("wasm");
    await ensureTinyEncoder();
    const program = compile(
      extend(tinyVideo, { run: { iterations: 6 }, evaluation: { every: 6 } }),
    );
    const { records, dir } = await trainAndResume(program, ".cache/test-temporal", 3);
    const train = records.filter((r) => r.losses?.temporal !== undefined);
    assert.ok(
      train.length > 0 && train.every((r) => r.losses!.temporal > 0),
      JSON.stringify(train),
    );
    const fills = train.map((r) => (r as unknown as Record<string, number>).temporalMemoryFill);
    assert.ok(fills.at(-1)! > 0 && fills.every((f) => f >= 0 && f <= 1), JSON.stringify(fills));
    const last = await readCheckpoint(checkpointPath(dir, 6));
    const count = last.file.tensors.get("semanticMemory.memory.count")!.data as Float32Array;
    assert.ok(count.some((v) => v > 0) && count.every((v) => v <= 4), `${count}`);
  },
});

/** The tiny video run with PiPa++'s patch term: both terms share one memory of 4 a class. */
const tinyShared = extend(tinyVideo, {
  losses: {
    patch: semanticPatchContrast({
      startIteration: 3,
      negativesPerCrop: 8,
      confidence: 0,
      memoryCapacity: 4,
      memoryThreshold: 0,
    }),
  },
});

Deno.test("task-smart negatives: per anchor the highest-similarity tenth of other-class rows", async () => {
  await useBackend("cpu");
  // Two anchors (classes 0 and 1) against 12 negatives, row 11 an empty slot (−1, never a
  // candidate): anchor 0 has the 9 rows of classes 1–2, anchor 1 the 6 of classes 0 and 2; at
  // 10 % both keep the minimum of one, the most similar.
  const angles = [0.1, 0.2, 0.9, 0.3, 1.5, 0.05, 2.0, 0.7, 0.15, 1.1, 0.4, 2.5];
  const labels = [0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, -1];
  const features = tf.tensor2d(angles.map((a) => [Math.cos(a), Math.sin(a)]));
  const anchor = tf.tensor2d([[1, 0], [0, 1]]);
  const mask = taskSmartNegatives(
    anchor,
    tf.tensor1d([0, 1], "int32"),
    { features, labels: tf.tensor1d(labels, "int32") },
    { fraction: 0.1, minimum: 1 },
  );
  const values = await mask.array();
  // Anchor (1, 0): cosine falls with the angle; among rows 2–10 (classes 1, 2) the smallest
  // angle is row 5 (0.05). Anchor (0, 1): sine rises to π/2; among rows 0, 1, 7–10 the angle
  // nearest π/2 is row 9 (1.1).
  assert.deepEqual(values[0].map((v, j) => (v ? j : -1)).filter((j) => j >= 0), [5]);
  assert.deepEqual(values[1].map((v, j) => (v ? j : -1)).filter((j) => j >= 0), [9]);
});

Deno.test("one semantic memory per program: terms that share it must agree on its shape", () => {
  const program = compile(tinyShared);
  assert.equal(program.networks.filter((n) => n.name === "semanticMemory").length, 1);
  assert.throws(
    () => compile(extend(tinyShared, { losses: { temporal: { memoryCapacity: 8 } } })),
    /losses\.temporal: the semantic memory is shared with losses\.patch, which declares it with capacity 4 \(here: capacity 8\)/,
  );
});

Deno.test({
  name: "PiPa++'s patch and temporal terms fill one memory and resume with it bit for bit",
  sanitizeResources: false,
  async fn() {
    await useBackend("wasm");
    await ensureTinyEncoder();
    const program = compile(
      extend(tinyShared, { run: { iterations: 6 }, evaluation: { every: 6 } }),
    );
    const { records, dir } = await trainAndResume(program, ".cache/test-temporal-shared", 4);
    const late = records.filter((r) => r.type === "train" && r.iter! >= 6);
    assert.ok(late.every((r) => r.losses!.patch > 0), JSON.stringify(late));
    const fill = late.map((r) => (r as unknown as Record<string, number>).patchMemoryFill);
    assert.ok(fill.every((f) => f > 0 && f <= 1), JSON.stringify(fill));
    const last = await readCheckpoint(checkpointPath(dir, 6));
    assert.ok(!last.file.tensors.has("patchBank.bank.features"), "no FIFO bank");
    const count = last.file.tensors.get("semanticMemory.memory.count")!.data as Float32Array;
    assert.ok(count.some((v) => v > 0) && count.every((v) => v <= 4), `${count}`);
  },
});
