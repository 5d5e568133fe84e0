import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  strongAugment,
  type StrongAugmentOptions,
} from "../../runtime/strategies/strong_augment.ts";
import {
  applyJitter,
  denormalizeToUnit,
  drawJitter,
  gaussianBlur,
  normalize,
} from "../../runtime/data/transforms/photometric.ts";

const DACS = {
  jitterProbability: 0.8,
  jitterStrength: 0.2,
  blurProbability: 0.5,
  blurSigma: [0.15, 1.15] as const,
};

// 52×64 images: DACS's kernel is the largest odd size ≤ ⌈0.1·size⌉, so 5×7 here. Sides of 20 px
// or less get a 1-tap kernel, and the blur would be the identity, untested.
const [H, W] = [52, 64];

function batch(seed: number, n = 2, h = H, w = W): Float32Array[] {
  const rng = new RandomStream(seed);
  return Array.from(
    { length: n },
    () => normalize(Uint8Array.from({ length: h * w * 3 }, () => rng.int(256))),
  );
}

/** Back to ImageNet normalisation from [0, 1] (the constants written out, not imported). */
function renormalise(unit: Float32Array): Float32Array {
  const mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
  return unit.map((v, i) => (v * 255 - mean[i % 3]) / std[i % 3]);
}

/**
 * The expected output, from `photometric.ts` alone: the batch's jitter and blur decisions are
 * given, and each image's draws are replayed from the stream after the two decision draws.
 */
function replay(
  images: Float32Array[],
  [h, w]: readonly [number, number],
  options: StrongAugmentOptions,
  seed: number,
  decisions: { jitter: boolean; blur: boolean },
): Float32Array {
  const rng = new RandomStream(seed);
  rng.next(); // the batch's jitter decision
  rng.next(); // the batch's blur decision
  const s = options.jitterStrength;
  const strength = { brightness: s, contrast: s, saturation: s, hue: s };
  return Float32Array.from(images.flatMap((x) => {
    let y = x;
    if (decisions.jitter) {
      y = renormalise(applyJitter(denormalizeToUnit(x), drawJitter(strength, rng)));
    }
    if (decisions.blur) y = gaussianBlur(y, w, h, 3, rng.uniform(...options.blurSigma));
    return [...y];
  }));
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function tensorOf(images: Float32Array[], [h, w]: readonly [number, number]): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(images.flatMap((x) => [...x])), [images.length, h, w, 3]);
}

Deno.test("strong augmentation = the CPU jitter then blur, per image, with the same draws", async () => {
  await useBackend("cpu");
  const images = batch(1, 2, H, W);
  const input = tensorOf(images, [H, W]);
  // Probabilities 1: both operations run.
  const always = { ...DACS, jitterProbability: 1, blurProbability: 1 };
  const out = strongAugment(input, always, new RandomStream(9));
  const got = await out.data();
  const want = replay(images, [H, W], always, 9, { jitter: true, blur: true });
  const worst = maxDifference(got, want);
  assert.ok(worst < 1e-5, `max difference ${worst}`);
  let changed = 0;
  const before = await input.data();
  for (let i = 0; i < want.length; i++) if (Math.abs(got[i] - before[i]) > 1e-3) changed++;
  assert.ok(changed > want.length / 2, "the augmentation changes the image");
  tf.dispose([input, out]);
});

Deno.test("strong augmentation: probability 0 is the identity; the same stream repeats", async () => {
  await useBackend("cpu");
  const images = batch(2);
  const input = tensorOf(images, [H, W]);
  const never = { ...DACS, jitterProbability: 0, blurProbability: 0 };
  const same = strongAugment(input, never, new RandomStream(3));
  assert.deepEqual(await same.data(), await input.data());
  const a = strongAugment(input, DACS, new RandomStream(4));
  const b = strongAugment(input, DACS, new RandomStream(4));
  assert.deepEqual(await a.data(), await b.data());
  tf.dispose([input, same, a, b]);
});

Deno.test("strong augmentation: one jitter and one blur decision per batch, at 0.8 and 0.5", async () => {
  await useBackend("cpu");
  // Small images keep 400 calls quick; σ ≥ 0.5 keeps the 3-tap blur visible (at σ = 0.15 a
  // 3-tap Gaussian is the identity to 1e-9, and a wrong decision could not be seen).
  const size = [24, 32] as const;
  const options = { ...DACS, blurSigma: [0.5, 1.15] as const };
  const images = batch(7, 2, ...size);
  const input = tensorOf(images, size);
  const hypotheses = [false, true].flatMap((jitter) =>
    [false, true].map((blur) => ({ jitter, blur }))
  );
  const streams = 400;
  let jittered = 0, blurred = 0;
  for (let seed = 0; seed < streams; seed++) {
    const out = strongAugment(input, options, new RandomStream(seed));
    const got = out.dataSync();
    out.dispose();
    // Which of the four batch-level outcomes did the real function produce? Exactly one fits.
    const fits = hypotheses.filter((d) =>
      maxDifference(got, replay(images, size, options, seed, d)) < 1e-5
    );
    assert.equal(fits.length, 1, `stream ${seed}: ${fits.length} outcomes fit`);
    // The reference draws the two decisions first: U < p for each.
    const rng = new RandomStream(seed);
    const expected = { jitter: rng.next() < 0.8, blur: rng.next() < 0.5 };
    assert.deepEqual(fits[0], expected, `stream ${seed}`);
    if (fits[0].jitter) jittered++;
    if (fits[0].blur) blurred++;
  }
  assert.ok(Math.abs(jittered / streams - 0.8) < 0.07, `jitter in ${jittered}/${streams}`);
  assert.ok(Math.abs(blurred / streams - 0.5) < 0.09, `blur in ${blurred}/${streams}`);
  input.dispose();
});

/** Mean squared difference between horizontally and vertically adjacent pixels. */
function roughness(data: Float32Array, h: number, w: number): number {
  let sum = 0, count = 0;
  for (let y = 0; y < h - 1; y++) {
    for (let x = 0; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (y * w + x) * 3 + c;
        sum += (data[at + 3] - data[at]) ** 2 + (data[at + w * 3] - data[at]) ** 2;
        count += 2;
      }
    }
  }
  return sum / count;
}

Deno.test("strong augmentation: the blur alone smooths each image and keeps its mean colour", async () => {
  await useBackend("cpu");
  const images = batch(5);
  const input = tf.tensor4d(Float32Array.from(images.flatMap((x) => [...x])), [2, H, W, 3]);
  const blurOnly = {
    ...DACS,
    jitterProbability: 0,
    blurProbability: 1,
    blurSigma: [1, 1] as const,
  };
  const out = strongAugment(input, blurOnly, new RandomStream(6));
  const got = await out.data() as Float32Array;
  const size = H * W * 3;
  for (let k = 0; k < 2; k++) {
    const before = images[k];
    const after = got.subarray(k * size, (k + 1) * size);
    // Uniform noise has adjacent differences of variance 2σ²; a σ = 1 Gaussian (5×7 taps)
    // removes most of it, so the roughness must drop by far more than a rounding change would.
    const [smoothed, original] = [roughness(after, H, W), roughness(before, H, W)];
    assert.ok(smoothed < 0.5 * original, `image ${k}: roughness ${smoothed} vs ${original}`);
    // A normalised kernel with reflect borders keeps each channel's mean close to the input's.
    for (let c = 0; c < 3; c++) {
      let a = 0, b = 0;
      for (let i = c; i < size; i += 3) (a += before[i]), (b += after[i]);
      assert.ok(Math.abs(a - b) / (H * W) < 0.02, `image ${k} channel ${c}: mean moved`);
    }
  }
  tf.dispose([input, out]);
});
