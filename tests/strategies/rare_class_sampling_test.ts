import { strict as assert } from "node:assert";
import { rareClassPlan, rareClassProbabilities } from "../../runtime/strategies/rare_class.ts";
import {
  chooseExample,
  loadSample,
  type PipelineSpec,
  sampleStream,
} from "../../runtime/data/transforms/pipeline.ts";
import type { ImageClassStats } from "../../runtime/data/class_stats.ts";
import { RandomStream } from "../../runtime/random.ts";

function stats(counts: Record<number, number>[]): ImageClassStats[] {
  return counts.map((c, i) => ({
    name: `img${i}`,
    counts: Array.from({ length: 19 }, (_, k) => c[k] ?? 0),
    ignored: 0,
  }));
}

Deno.test("RCS plan: P from the summed counts, candidates above minPixels·pixelScale", () => {
  const images = stats([{ 0: 9000, 13: 100 }, { 0: 5000, 13: 4000 }, { 0: 6000, 18: 3001 }]);
  const plan = rareClassPlan(images, {
    temperature: 0.01,
    minPixels: 3000,
    minCropRatio: 0.5,
    pixelScale: 1,
  });
  // Totals: road 20000, car 4100, bicycle 3001 → f = n / 27101.
  const expected = rareClassProbabilities(
    Array.from({ length: 19 }, (_, k) => ({ 0: 20000, 13: 4100, 18: 3001 } as never)[k] ?? 0),
  );
  assert.deepEqual(plan.classes, [0, 13, 18]);
  assert.deepEqual(plan.probabilities, expected.probabilities);
  const f = [20000, 4100, 3001].map((n) => n / 27101);
  const e = f.map((x) => Math.exp((1 - x) / 0.01));
  const z = e.reduce((a, b) => a + b, 0);
  plan.probabilities.forEach((p, i) => assert.ok(Math.abs(p - e[i] / z) < 1e-12));
  assert.deepEqual(plan.candidates, [[0, 1, 2], [1], [2]], "strictly more than 3000 pixels");
  assert.equal(plan.minCropPixels, 1500);
  const scaled = rareClassPlan(images, {
    temperature: 0.01,
    minPixels: 3000,
    minCropRatio: 0.5,
    pixelScale: 1 / 40,
  });
  assert.deepEqual(scaled.candidates, [[0, 1, 2], [0, 1], [2]], "100 > 3000/40 = 75 passes");
  assert.throws(
    () =>
      rareClassPlan(stats([{ 0: 10 }]), {
        temperature: 0.01,
        minPixels: 3000,
        minCropRatio: 0.5,
        pixelScale: 1,
      }),
    /no source image holds more than 3000 pixels/,
  );
});

Deno.test("RCS draws classes with P(c) and images uniformly among the class's candidates", () => {
  const spec: PipelineSpec = {
    resize: { kind: "none" },
    crop: { width: 4, height: 4 },
    catMaxRatio: 1,
    flip: 0,
    rareClass: {
      classes: [0, 5, 9],
      probabilities: [0.2, 0.5, 0.3],
      candidates: [[0, 1], [2], []],
      minCropPixels: 0,
    },
  };
  const drawn = new Map<string, number>();
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const c = chooseExample(spec, i, 10, sampleStream(3, i));
    const key = `${c.rareClass}:${c.index}`;
    drawn.set(key, (drawn.get(key) ?? 0) + 1);
  }
  // Class 9 has no candidate: P renormalises over 0 and 5 → 2/7 and 5/7.
  assert.deepEqual([...drawn.keys()].sort(), ["0:0", "0:1", "5:2"]);
  const share = (k: string) => drawn.get(k)! / n;
  assert.ok(Math.abs(share("5:2") - 5 / 7) < 0.015, `${share("5:2")}`);
  assert.ok(Math.abs(share("0:0") - 1 / 7) < 0.015, `${share("0:0")}`);
  assert.ok(Math.abs(share("0:1") - 1 / 7) < 0.015, `${share("0:1")}`);
});

Deno.test("uniform sampling reads a new permutation of the dataset each epoch, per loader seed", () => {
  const spec: PipelineSpec = {
    resize: { kind: "none" },
    crop: { width: 4, height: 4 },
    catMaxRatio: 1,
    flip: 0,
  };
  const size = 7;
  const epoch = (seed: number, e: number) =>
    Array.from(
      { length: size },
      (_, k) => chooseExample(spec, e * size + k, size, sampleStream(seed, k), seed).index,
    );
  const orders = [0, 1, 2].map((e) => epoch(11, e));
  for (const order of orders) {
    assert.deepEqual(
      [...order].sort(),
      [0, 1, 2, 3, 4, 5, 6],
      "each epoch reads every example once",
    );
  }
  assert.notDeepEqual(orders[0], orders[1], "epochs differ");
  assert.notDeepEqual(orders[0], [0, 1, 2, 3, 4, 5, 6], "not file order");
  assert.notDeepEqual(epoch(12, 0), orders[0], "the order depends on the loader seed");
  assert.deepEqual(epoch(11, 1), orders[1], "deterministic per seed");
  // Independent of the per-sample stream: the permutation comes from the loader seed only.
  assert.equal(
    chooseExample(spec, 3, size, new RandomStream(99), 11).index,
    orders[0][3],
  );
});

Deno.test("order random draws uniformly with replacement from the sample's stream", () => {
  const spec: PipelineSpec = {
    resize: { kind: "none" },
    crop: { width: 4, height: 4 },
    catMaxRatio: 1,
    flip: 0,
    order: "random",
  };
  const counts = new Array(5).fill(0);
  const n = 5000;
  for (let i = 0; i < n; i++) counts[chooseExample(spec, i, 5, sampleStream(4, i), 4).index]++;
  for (const c of counts) assert.ok(Math.abs(c / n - 0.2) < 0.03, `${counts}`);
  const first = Array.from(
    { length: 5 },
    (_, i) => chooseExample(spec, i, 5, sampleStream(4, i), 4).index,
  );
  assert.notDeepEqual([...first].sort(), [0, 1, 2, 3, 4], "with replacement: an epoch may repeat");
});

Deno.test("RCS re-crops until the crop holds more than minCropPixels of the drawn class", async () => {
  // A 32×8 image whose class 7 occupies only the rightmost 6 columns; 8×8 crops.
  const width = 32, height = 8;
  const label = new Uint8Array(width * height).map((_, i) => (i % width >= 26 ? 7 : 0));
  const source = {
    size: 1,
    get: () =>
      Promise.resolve({
        name: "strip",
        image: new Uint8Array(width * height * 3),
        label,
        width,
        height,
        channels: 3,
      }),
  };
  const spec: PipelineSpec = {
    resize: { kind: "none" },
    crop: { width: 8, height: 8 },
    catMaxRatio: 1,
    flip: 0,
    rareClass: { classes: [7], probabilities: [1], candidates: [[0]], minCropPixels: 16 },
  };
  let accepted = 0;
  const trials = 200;
  for (let i = 0; i < trials; i++) {
    const sample = await loadSample(source, spec, 5, i);
    const sevens = sample.label!.filter((v) => v === 7).length;
    if (sevens > 16) accepted++;
  }
  // A crop at offset x ∈ [0, 24] holds 8·(x − 18) pixels of class 7 (x ≥ 19): more than 16 for
  // x ∈ {21, …, 24}, 4 offsets of 25. With the first draw and 10 re-draws the chance of an
  // accepted crop is 1 − (21/25)^11 ≈ 0.85; a single draw would give 0.16.
  assert.ok(accepted / trials > 0.7, `accepted ${accepted}/${trials}`);
  const single = { ...spec, rareClass: { ...spec.rareClass!, minCropPixels: 1e9 } };
  const same1 = await loadSample(source, single, 5, 0);
  const same2 = await loadSample(source, single, 5, 0);
  assert.deepEqual(same1.label, same2.label, "deterministic per (seed, index)");
});
