import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { strongAugment } from "../../runtime/strategies/strong_augment.ts";
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

Deno.test("strong augmentation = the CPU jitter then blur, per image, with the same draws", async () => {
  await useBackend("cpu");
  const [h, w] = [H, W];
  const images = batch(1, 2, h, w);
  const input = tf.tensor4d(Float32Array.from(images.flatMap((x) => [...x])), [2, h, w, 3]);
  // Probabilities 1: both operations run; replay the stream by hand.
  const always = { ...DACS, jitterProbability: 1, blurProbability: 1 };
  const out = strongAugment(input, always, new RandomStream(9));
  const rng = new RandomStream(9);
  rng.next(); // the batch's jitter decision
  rng.next(); // the batch's blur decision
  const expected = images.map((x) => {
    const strength = { brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.2 };
    const unit = applyJitter(denormalizeToUnit(x), drawJitter(strength, rng));
    const renormalised = new Float32Array(unit.length);
    const mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
    unit.forEach((v, i) => (renormalised[i] = (v * 255 - mean[i % 3]) / std[i % 3]));
    return gaussianBlur(renormalised, w, h, 3, rng.uniform(0.15, 1.15));
  });
  const got = await out.data();
  const want = Float32Array.from(expected.flatMap((x) => [...x]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
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
  const input = tf.tensor4d(Float32Array.from(images.flatMap((x) => [...x])), [2, H, W, 3]);
  const never = { ...DACS, jitterProbability: 0, blurProbability: 0 };
  const same = strongAugment(input, never, new RandomStream(3));
  assert.deepEqual(await same.data(), await input.data());
  const a = strongAugment(input, DACS, new RandomStream(4));
  const b = strongAugment(input, DACS, new RandomStream(4));
  assert.deepEqual(await a.data(), await b.data());
  // Over many streams the batch decisions follow the probabilities (0.8 and 0.5).
  let jittered = 0, blurred = 0;
  for (let s = 0; s < 2000; s++) {
    const r = new RandomStream(s);
    if (r.next() < 0.8) jittered++;
    if (r.next() < 0.5) blurred++;
  }
  assert.ok(Math.abs(jittered / 2000 - 0.8) < 0.03 && Math.abs(blurred / 2000 - 0.5) < 0.03);
  tf.dispose([input, same, a, b]);
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
