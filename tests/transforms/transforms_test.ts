import assert from "node:assert/strict";
import {
  type Example,
  flipHorizontal,
  keepRatioSize,
  pad,
  passesCategoryRatio,
  randomCrop,
  resizeBilinear,
  resizeNearest,
} from "../../runtime/data/transforms/geometry.ts";
import {
  applyJitter,
  blurKernelSize,
  denormalizeToUnit,
  gaussianBlur,
  gaussianKernel,
  hsvToRgb,
  normalize,
  rgbToHsv,
} from "../../runtime/data/transforms/photometric.ts";
import {
  applyPipeline,
  epochPermutation,
  type PipelineSpec,
  sampleStream,
} from "../../runtime/data/transforms/pipeline.ts";
import { type LoadedSample, SampleLoader } from "../../runtime/data/prefetch/loader.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("keep-ratio resize sizes follow mmcv for the published scales", () => {
  assert.deepEqual(keepRatioSize(1914, 1052, 1280, 720), [1280, 704]); // GTA → 1280×704 (§1.4)
  assert.deepEqual(keepRatioSize(2048, 1024, 1024, 512), [1024, 512]); // Cityscapes
  assert.deepEqual(keepRatioSize(1280, 760, 1280, 760), [1280, 760]); // SYNTHIA native
  assert.deepEqual(keepRatioSize(1914, 1052, 2560, 1440), [2560, 1407]); // HRDA's GTA
});

Deno.test("bilinear resize with half-pixel centres and nearest label resize, worked by hand", () => {
  // A 2×1 grey image [0, 100] to 4×1: source x = (x + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25.
  assert.deepEqual(Array.from(resizeBilinear(new Uint8Array([0, 100]), 2, 1, 1, 4, 1)), [
    0,
    25,
    75,
    100,
  ]);
  assert.deepEqual(Array.from(resizeNearest(new Uint8Array([1, 2, 3, 4]), 4, 1, 2, 1)), [1, 3]);
});

Deno.test("crop retries until no class exceeds cat_max_ratio, keeping the tenth re-draw", () => {
  // 8×1 label: left half all road (0), right half alternating 1/2. A 4-wide crop passes the
  // 0.75 check only if it reaches into the right half.
  const example: Example = {
    image: new Uint8Array(8 * 3),
    label: new Uint8Array([0, 0, 0, 0, 1, 2, 1, 2]),
    width: 8,
    height: 1,
    channels: 3,
  };
  assert.equal(passesCategoryRatio(new Uint8Array([0, 0, 0, 0]), 0.75), false);
  assert.equal(
    passesCategoryRatio(new Uint8Array([0, 0, 1, 255]), 0.75),
    true,
    "ignored pixels do not count",
  );
  let retried = 0;
  for (let seed = 0; seed < 20; seed++) {
    const out = randomCrop(example, 4, 1, 0.75, new RandomStream(seed));
    // Replay the stream: each box draws its row offset (margin 0) then its column offset.
    const replay = new RandomStream(seed);
    const draw = () => (replay.int(1), replay.int(5));
    const window = (x: number) => example.label!.slice(x, x + 4);
    let x = draw();
    for (let k = 0; k < 10 && !passesCategoryRatio(window(x), 0.75); k++, retried++) x = draw();
    assert.deepEqual(Array.from(out.label!), Array.from(window(x)));
    assert.ok(
      passesCategoryRatio(out.label!, 0.75),
      `seed ${seed}: a passing crop exists and is found`,
    );
  }
  assert.ok(retried > 0, "some seeds needed re-draws");
  const padded = pad(
    {
      image: new Uint8Array([9, 9, 9]),
      label: new Uint8Array([3]),
      width: 1,
      height: 1,
      channels: 3,
    },
    2,
    2,
  );
  assert.deepEqual(Array.from(padded.label!), [3, 255, 255, 255]);
  assert.deepEqual(Array.from(padded.image), [9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("flip mirrors image and label; normalise uses the ImageNet statistics", () => {
  const flipped = flipHorizontal({
    image: new Uint8Array([1, 2, 3, 4, 5, 6]),
    label: new Uint8Array([7, 8]),
    width: 2,
    height: 1,
    channels: 3,
  });
  assert.deepEqual(Array.from(flipped.image), [4, 5, 6, 1, 2, 3]);
  assert.deepEqual(Array.from(flipped.label!), [8, 7]);
  const n = normalize(new Uint8Array([123.675 + 58.395, 116.28, 0].map(Math.round)));
  assert.ok(Math.abs(n[0] - (Math.round(123.675 + 58.395) - 123.675) / 58.395) < 1e-6);
  const back = denormalizeToUnit(n);
  assert.ok(Math.abs(back[0] - Math.round(123.675 + 58.395) / 255) < 1e-6);
});

Deno.test("kornia HSV round trip and a hand-worked pixel", () => {
  // Pure red: H 0, S 1, V 1. (0.2, 0.4, 0.8): V 0.8, S 0.75, blue max → H = ((r−g)/Δ + 4)/6 turns.
  assert.deepEqual(rgbToHsv(1, 0, 0), [0, 1, 1]);
  const [h, s, v] = rgbToHsv(0.2, 0.4, 0.8);
  assert.ok(
    Math.abs(h - 2 * Math.PI * ((0.2 - 0.4) / 0.6 + 4) / 6) < 1e-12 && Math.abs(s - 0.75) < 1e-12 &&
      v === 0.8,
  );
  const rng = new RandomStream(3);
  for (let i = 0; i < 200; i++) {
    const rgb = [rng.next(), rng.next(), rng.next()];
    const back = hsvToRgb(...rgbToHsv(rgb[0], rgb[1], rgb[2]));
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(back[c] - rgb[c]) < 1e-9);
  }
});

Deno.test("colour jitter: additive brightness, uncentred contrast, order matters, clamping after each op", () => {
  const px = () => new Float32Array([0.5, 0.9, 0.2]);
  const none = { brightness: 1, contrast: 1, saturation: 1, hue: 0 };
  // Brightness 1.2 adds 0.2, clamping 0.9 → 1; then contrast 0.5 halves.
  const bc = applyJitter(px(), { ...none, brightness: 1.2, contrast: 0.5, order: [0, 1, 2, 3] });
  assert.deepEqual(Array.from(bc).map((v) => +v.toFixed(6)), [0.35, 0.5, 0.2]);
  // Contrast first: 0.25, 0.45, 0.1, then +0.2 — a different result, no clamp reached.
  const cb = applyJitter(px(), { ...none, brightness: 1.2, contrast: 0.5, order: [1, 0, 2, 3] });
  assert.deepEqual(Array.from(cb).map((v) => +v.toFixed(6)), [0.45, 0.65, 0.3]);
  // Hue by a third of a turn cycles the channels of a pure colour; saturation 0 gives grey = V.
  const hue = applyJitter(new Float32Array([1, 0, 0]), {
    ...none,
    hue: 1 / 3,
    order: [3, 0, 1, 2],
  });
  assert.deepEqual(Array.from(hue).map((v) => +v.toFixed(6)), [0, 1, 0]);
  const grey = applyJitter(px(), { ...none, saturation: 0, order: [2, 0, 1, 3] });
  assert.deepEqual(Array.from(grey).map((v) => +v.toFixed(6)), [0.9, 0.9, 0.9]);
});

Deno.test("Gaussian blur equals a direct 2-D convolution with reflect borders", () => {
  assert.equal(blurKernelSize(512), 51);
  assert.equal(blurKernelSize(1024), 103);
  assert.equal(blurKernelSize(60), 5);
  const [w, h] = [30, 20]; // kernels 3 (⌈3⌉) and 1 (⌈2⌉ → 1)
  const rng = new RandomStream(1);
  const image = rng.uniformArray(w * h);
  const sigma = 0.8;
  const out = gaussianBlur(image, w, h, 1, sigma);
  const kx = gaussianKernel(3, sigma);
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = 0; k < 3; k++) acc += kx[k] * image[y * w + reflect(x + k - 1, w)];
      assert.ok(Math.abs(out[y * w + x] - acc) < 1e-5);
    }
  }
  const k5 = gaussianKernel(5, 1);
  assert.ok(
    Math.abs(k5.reduce((a, b) => a + b, 0) - 1) < 1e-12 &&
      Math.abs(k5[1] / k5[2] - Math.exp(-0.5)) < 1e-12,
  );
});

const SPEC: PipelineSpec = {
  resize: { kind: "exact", width: 256, height: 128 },
  crop: { width: 128, height: 128 },
  catMaxRatio: 0.75,
  flip: 0.5,
};
const SOURCE = {
  module: new URL("./test_source.ts", import.meta.url).href,
  exportName: "createSource",
  options: { width: 512, height: 256, count: 7 },
};

Deno.test("a pipeline is deterministic per (seed, index) and workers give the inline result", async () => {
  const inline = await SampleLoader.open({ source: SOURCE, pipeline: SPEC, seed: 5, workers: 0 });
  const pooled = await SampleLoader.open({ source: SOURCE, pipeline: SPEC, seed: 5, workers: 2 });
  try {
    const a = await Promise.all([0, 1, 2, 3, 9].map((i) => inline.get(i)));
    const b = await Promise.all([0, 1, 2, 3, 9].map((i) => pooled.get(i)));
    for (let k = 0; k < a.length; k++) {
      assert.deepEqual(a[k].image, b[k].image);
      assert.deepEqual(a[k].label, b[k].label);
      assert.equal(a[k].name, b[k].name);
    }
    // Sample 9 is position 2 of epoch 1: a new permutation of the 7 examples.
    assert.equal(a[4].name, `test-${epochPermutation(5, 1, 7)[2]}`, "epochs wrap around");
    assert.notDeepEqual(a[0].image, a[1].image);
    const batches = pooled.batches(0, 2);
    const first = (await batches.next()).value as LoadedSample[];
    const order = epochPermutation(5, 0, 7);
    assert.deepEqual(first.map((s) => s.name), [`test-${order[0]}`, `test-${order[1]}`]);
    assert.deepEqual(first[1].label, a[1].label);
    const again = applyPipeline(
      await (await import("./test_source.ts")).createSource(SOURCE.options).get(order[3]),
      SPEC,
      sampleStream(5, 3),
    );
    assert.deepEqual(again.image, a[3].image);
  } finally {
    inline.close();
    pooled.close();
  }
});

Deno.test("an error in a worker reaches the caller with the sample's name", async () => {
  const loader = await SampleLoader.open({
    source: { ...SOURCE, options: { ...SOURCE.options, failAt: 4 } },
    pipeline: SPEC,
    seed: 1,
    workers: 1,
  });
  try {
    // The sample that reads example 4 under the loader's first-epoch permutation.
    const order = [...epochPermutation(1, 0, 7)];
    const failing = order.indexOf(4);
    await assert.rejects(
      () => loader.get(failing),
      new RegExp(`sample ${failing}: cannot decode test-4\\.png`),
    );
    const next = (failing + 1) % 7;
    assert.equal((await loader.get(next)).name, `test-${order[next]}`, "the worker keeps serving");
  } finally {
    loader.close();
  }
  await assert.rejects(
    () =>
      SampleLoader.open({
        source: { ...SOURCE, exportName: "nope" },
        pipeline: SPEC,
        seed: 1,
        workers: 1,
      }),
    /no exported function 'nope'/,
  );
});
