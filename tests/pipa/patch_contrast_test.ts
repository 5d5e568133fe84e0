/**
 * PiPa's patch contrast (`runtime/strategies/overlapping_crops.ts`, `runtime/losses/
 * patch_contrast.ts`, `runtime/blocks/patch_contrast.ts`): the pair geometry (IoU bound, offsets
 * ×8, crops inside the rescale, overlaps at one image location), the overlap indices with flips
 * against crops of a coordinate image, the directional loss and its mask against a float64
 * computation written out here, its gradient against float64 finite differences, and a tiny
 * PiPa run whose memory bank survives a resume bit for bit.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  cropPairs,
  overlapIndices,
  type PairOptions,
  samplePairGeometry,
  squareIou,
} from "../../runtime/strategies/overlapping_crops.ts";
import { directionalContrast } from "../../runtime/losses/patch_contrast.ts";
import { compile } from "../../runtime/compile/program.ts";
import { extend } from "../../dsl/mod.ts";
import { trainAndResume } from "../train/helpers.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import tinyPipa from "../fixtures/tiny_pipa.ts";

await useBackend("cpu");

const PAIR: PairOptions = {
  scale: [0.8, 2],
  cropSize: 48,
  offsetMultiple: 8,
  iou: [0.1, 1],
  attempts: 50,
  flipProbability: 0.5,
};

Deno.test("pair geometry: crops inside the rescale, offsets ×8, IoU in bounds, overlaps at one place", () => {
  const rng = new RandomStream(7);
  let fallbacks = 0;
  for (let t = 0; t < 300; t++) {
    const g = samplePairGeometry(72, 100, PAIR, rng.fork(`${t}`));
    const [[y1, x1], [y2, x2]] = g.origins;
    for (const [y, x] of g.origins) {
      assert.ok(y >= 0 && x >= 0 && y + 48 <= g.size[0] && x + 48 <= g.size[1], `${t}`);
    }
    assert.equal(Math.abs((y2 - y1) % 8), 0);
    assert.equal(Math.abs((x2 - x1) % 8), 0);
    if (y1 === y2 && x1 === x2) fallbacks++;
    assert.ok(g.iou >= 0.1 && g.iou <= 1, `${g.iou}`);
    assert.equal(g.iou, squareIou(48, y2 - y1, x2 - x1));
    // Both boxes are the same rectangle of the rescaled image.
    const [a, b] = g.overlaps;
    assert.deepEqual([a[0] + y1, a[1] + x1, a[2] + y1, a[3] + x1], [
      b[0] + y2,
      b[1] + x2,
      b[2] + y2,
      b[3] + x2,
    ]);
  }
  // Same-corner pairs are allowed (IoU 1) but not the rule.
  assert.ok(fallbacks < 100, `${fallbacks}`);
  // The IoU of two 48-px squares 8 px apart in both axes: 40² / (2·48² − 40²).
  assert.equal(squareIou(48, 8, -8), 1600 / (2 * 2304 - 1600));
});

Deno.test("overlap indices: the same image location in both crops, flips undone", async () => {
  // A coordinate image: channel 0 is the row, 1 the column, of the full-resolution pixel.
  const [h, w] = [40, 56];
  const coords = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) coords.set([y, x, 0], (y * w + x) * 3);
  }
  const options = {
    ...PAIR,
    scale: [1, 1],
    cropSize: 32,
    flipProbability: 0.5,
    jitterProbability: 0,
    jitterStrength: [0, 0, 0, 0],
    blurProbability: 0,
    blurKernel: 5,
    blurSigma: [0.1, 2],
    grayscaleProbability: 0,
  };
  let flipped = 0;
  for (let t = 0; t < 12; t++) {
    const images = tf.tensor4d([...coords, ...coords], [2, h, w, 3]);
    const { crops, geometries } = await cropPairs(images, options, new RandomStream(t));
    flipped += geometries.flatMap((g) => g.flips).filter(Boolean).length;
    // Stride 1: every overlap pixel; the crops' values are normalised, so compare them as read.
    const [at1, at2] = overlapIndices(geometries, 32, 1);
    const values = await Promise.all(crops.map((c) => c.reshape([-1, 3]).data()));
    assert.ok(at1.length > 0);
    for (let i = 0; i < at1.length; i++) {
      assert.equal(values[0][at1[i] * 3], values[1][at2[i] * 3], `row, pair ${t}, position ${i}`);
      assert.equal(values[0][at1[i] * 3 + 1], values[1][at2[i] * 3 + 1], `column, pair ${t}`);
    }
    tf.dispose([images, ...crops]);
  }
  assert.ok(flipped > 0, "no crop was flipped in 48 draws");
});

/** The directional loss in float64, written out from the formula of pipa_cluda.md §2.4. */
function referenceLoss(
  anchor: number[][],
  partner: number[][],
  labels: number[],
  conf: number[],
  partnerConf: number[],
  bank: number[][],
  bankLabels: number[],
  tau: number,
  threshold: number,
): number {
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  let total = 0, count = 0;
  anchor.forEach((f, i) => {
    const pos = Math.exp(dot(f, partner[i]) / tau);
    let neg = 0;
    bank.forEach((n, j) => {
      if (bankLabels[j] >= 0 && bankLabels[j] !== labels[i]) neg += Math.exp(dot(f, n) / tau);
    });
    const loss = -Math.log(pos / (pos + neg) + 1e-8);
    const m = partnerConf[i] > threshold && conf[i] < partnerConf[i] ? 1 : 0;
    total += m * loss;
    count += m;
  });
  return total / (count + 1e-12);
}

function unitRows(rng: RandomStream, rows: number, d: number): number[][] {
  return Array.from({ length: rows }, () => {
    const v = rng.normalArray(d);
    const norm = Math.hypot(...v);
    return Array.from(v, (x) => x / norm);
  });
}

Deno.test("directional loss: value and mask as the formula, chunked or not; gradient against float64 FD", async () => {
  const rng = new RandomStream(11);
  const [n, d, m] = [5, 3, 7];
  const anchor = unitRows(rng, n, d), partner = unitRows(rng, n, d), bank = unitRows(rng, m, d);
  const labels = [0, 1, 2, 1, 0];
  // Position 0: partner not confident; 1: partner more confident (pulled); 2: own higher;
  // 3: pulled; 4: pulled.
  const conf = [0.5, 0.3, 0.97, 0.5, 0.1];
  const partnerConf = [0.8, 0.95, 0.93, 0.99, 0.91];
  const bankLabels = [0, 1, 2, -1, 1, 0, 2];
  const tau = 0.1, threshold = 0.9;
  const expected = referenceLoss(
    anchor,
    partner,
    labels,
    conf,
    partnerConf,
    bank,
    bankLabels,
    tau,
    threshold,
  );
  const negatives = { features: tf.tensor2d(bank), labels: tf.tensor1d(bankLabels, "int32") };
  const direction = (a: tf.Tensor2D) => ({
    anchor: a,
    partner: tf.tensor2d(partner),
    label: tf.tensor1d(labels, "int32"),
    confidence: tf.tensor1d(conf),
    partnerConfidence: tf.tensor1d(partnerConf),
  });
  for (const chunk of [8000, 3, 1]) {
    const value = directionalContrast(direction(tf.tensor2d(anchor)), negatives, {
      temperature: tau,
      threshold,
      chunk,
    });
    const got = (await value.data())[0];
    assert.ok(
      Math.abs(got - expected) <= 1e-5 * Math.abs(expected),
      `chunk ${chunk}: ${got} vs ${expected}`,
    );
  }
  // The gradient with respect to the anchors, against central differences of the float64 loss
  // (the loss reads the anchors raw; the partner and the bank are constants).
  const grad = tf.grad((a: tf.Tensor) =>
    directionalContrast(direction(a as tf.Tensor2D), negatives, {
      temperature: tau,
      threshold,
      chunk: 4,
    })
  )(tf.tensor2d(anchor));
  const analytic = await grad.data();
  const h = 1e-6;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const at = (delta: number) => {
        const moved = anchor.map((row, r) =>
          row.map((v, c) => (r === i && c === j ? v + delta : v))
        );
        return referenceLoss(
          moved,
          partner,
          labels,
          conf,
          partnerConf,
          bank,
          bankLabels,
          tau,
          threshold,
        );
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      const error = Math.abs(analytic[i * d + j] - numeric);
      assert.ok(
        error <= 1e-3 * Math.max(1, Math.abs(numeric)),
        `[${i},${j}] ${analytic[i * d + j]} vs ${numeric}`,
      );
    }
  }
  // Positions 0 and 2 are masked out: no gradient reaches them.
  for (const i of [0, 2]) for (let j = 0; j < d; j++) assert.equal(analytic[i * d + j], 0);
});

Deno.test("a tiny PiPa run contrasts from its start iteration and resumes with the same memory bank", async () => {
  await useBackend("wasm");
  await ensureTinyEncoder();
  // Thresholds every prediction passes: a random tiny teacher is never 0.9-confident, and the
  // pseudo-labels should weigh from the first step.
  const experiment = extend(tinyPipa, {
    teacher: { threshold: 0.01 },
    losses: { patch: { confidence: 0 } },
    run: { iterations: 7 },
    evaluation: { every: 7 },
  });
  // Stopped after 5: the bank holds iterations 3 and 4 when the run resumes.
  const { records, dir } = await trainAndResume(compile(experiment), ".cache/test-pipa", 5);
  // Training records average their window (logEvery 2): iteration 2 covers steps 0–1, before
  // the start; the later windows include contrast steps.
  const train = records.filter((r) => r.losses?.patch !== undefined);
  assert.ok(train.length > 0, JSON.stringify(records.slice(0, 3)));
  for (const r of train) {
    const patch = r.losses!.patch;
    assert.ok(Number.isFinite(patch) && patch >= 0, JSON.stringify(r));
    if (r.iter! <= 3) assert.equal(patch, 0, JSON.stringify(r));
  }
  assert.ok(train.some((r) => r.losses!.patch > 0), JSON.stringify(train));
  // The similarity curves: null for a window the term never ran in, cosines once it runs.
  for (const r of train) {
    const record = r as unknown as Record<string, unknown>;
    for (const key of ["patchPositiveSimilarity", "patchNegativeSimilarity"]) {
      const v = record[key];
      if (r.iter! <= 2) assert.equal(v, null, `${key} before the start: ${JSON.stringify(r)}`);
      else assert.ok(typeof v === "number" && v >= -1 && v <= 1, `${key}: ${JSON.stringify(r)}`);
    }
  }
  // The report draws them, and the pixel contrast's class-similarity heat map at each evaluation.
  const report = await Deno.readTextFile(`${dir}/report.md`);
  assert.ok(report.includes("](plots/patch_similarity.svg)"), report);
  const svg = await Deno.readTextFile(`${dir}/plots/patch_similarity.svg`);
  assert.ok(svg.includes("patchPositiveSimilarity") && svg.includes("patchNegativeSimilarity"));
  assert.match(
    report,
    /!\[pixel_class_similarity\]\(pictures\/pixel_class_similarity_000007\.svg\)/,
  );
  const heat = await Deno.readTextFile(`${dir}/pictures/pixel_class_similarity_000007.svg`);
  assert.ok(heat.startsWith("<svg") && (heat.match(/<rect /g) ?? []).length >= 1, heat);
});
