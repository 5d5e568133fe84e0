/**
 * MIC (`runtime/strategies/block_mask.ts`, `runtime/blocks/masked_image_consistency.ts`): the
 * block mask's statistics and geometry, masked pixels at the normalisation mean, the teacher's
 * pseudo-label tensors reused (no second teacher pass), λ's two scopes, and a tiny MIC(HRDA) run
 * that trains and resumes bit for bit.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { blockMasks, maskImage, roundHalfEven } from "../../runtime/strategies/block_mask.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../../runtime/data/transforms/photometric.ts";
import { compile } from "../../runtime/compile/program.ts";
import type { StepContext, View } from "../../runtime/blocks/types.ts";
import { crossEntropy } from "../../runtime/losses/cross_entropy.ts";
import { extend } from "../../dsl/mod.ts";
import { trainAndResume } from "../train/helpers.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import tinyMic from "../fixtures/tiny_mic.ts";

await useBackend("cpu");

Deno.test("block masks remove a share r of the blocks, within binomial bounds", () => {
  const rng = new RandomStream(1);
  const n = 400;
  const masks = blockMasks(n, 64, 64, 4, 0.7, rng);
  // One value per 4×4 block: 400 images × 256 blocks, kept with probability 0.3.
  let kept = 0;
  for (let k = 0; k < n; k++) {
    for (let by = 0; by < 16; by++) {
      for (let bx = 0; bx < 16; bx++) kept += masks[(k * 64 + by * 4) * 64 + bx * 4];
    }
  }
  const blocks = n * 256;
  const sd = Math.sqrt(blocks * 0.3 * 0.7);
  assert.ok(Math.abs(kept - 0.3 * blocks) < 5 * sd, `${kept / blocks}`);
  // Each image draws its own mask.
  const a = masks.subarray(0, 64 * 64).join();
  const b = masks.subarray(64 * 64, 2 * 64 * 64).join();
  assert.notEqual(a, b);
});

Deno.test("block geometry: constant b×b blocks; a non-dividing size rounds as Python does", () => {
  const masks = blockMasks(3, 24, 40, 8, 0.5, new RandomStream(2));
  for (let k = 0; k < 3; k++) {
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < 40; x++) {
        const corner = masks[(k * 24 + Math.floor(y / 8) * 8) * 40 + Math.floor(x / 8) * 8];
        assert.equal(masks[(k * 24 + y) * 40 + x], corner, `image ${k} pixel ${y},${x}`);
      }
    }
  }
  assert.deepEqual([2.5, 3.5, 1.5, 2.4, 2.6, 4].map(roundHalfEven), [2, 4, 2, 2, 3, 4]);
  // H = 20, b = 8: round(2.5) = 2 rows of 10 px (nearest upsampling of a 2-row grid).
  const odd = blockMasks(200, 20, 8, 8, 0.5, new RandomStream(3));
  for (let k = 0; k < 200; k++) {
    const rows = Array.from({ length: 20 }, (_, y) => odd[(k * 20 + y) * 8]);
    for (let y = 0; y < 20; y++) assert.equal(rows[y], rows[y < 10 ? 0 : 10]);
  }
});

Deno.test("masked pixels are the normalisation mean in every channel; kept ones unchanged", () => {
  const rng = new RandomStream(4);
  const image = tf.tensor4d(rng.normalArray(2 * 16 * 24 * 3), [2, 16, 24, 3]);
  const { image: masked, mask } = maskImage(image, 4, 0.7, new RandomStream(5));
  const m = mask.dataSync();
  const x = image.dataSync();
  const y = masked.dataSync();
  let maskedPixels = 0;
  for (let p = 0; p < m.length; p++) {
    for (let c = 0; c < 3; c++) {
      assert.ok(y[3 * p + c] === (m[p] === 1 ? x[3 * p + c] : 0), `pixel ${p} channel ${c}`);
      // De-normalised, a masked pixel is ImageNet's mean colour.
      if (m[p] === 0) {
        assert.equal(y[3 * p + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c], IMAGENET_MEAN[c]);
      }
    }
    maskedPixels += 1 - m[p];
  }
  assert.ok(maskedPixels > 0 && maskedPixels < m.length);
});

function fakeContext(views: Record<string, View>): StepContext {
  const owned: tf.Tensor[] = [];
  return {
    iteration: 0,
    rng: (label: string) => new RandomStream(7).fork(label),
    network: () => {
      throw new Error("no network");
    },
    view: (name: string) => views[name],
    input: (role) => views[role],
    pass: () => {
      throw new Error("the masked view runs no pass");
    },
    own: (...t: tf.Tensor[]) => owned.push(...t),
    metric: () => {},
  };
}

Deno.test("the masked view reuses the teacher's pseudo-label and weight tensors: no second teacher pass", async () => {
  const program = compile(tinyMic);
  assert.deepEqual(
    program.passes.filter((p) => p.network === "teacher").map((p) => p.id),
    ["teacher@target:eval+bn"],
  );
  const masked = program.views.find((v) => v.name === "masked")!;
  assert.deepEqual(masked.reads, ["target"]);
  const target: View = {
    image: tf.randomNormal([2, 64, 64, 3]) as tf.Tensor4D,
    label: tf.zeros([2, 64, 64], "int32") as tf.Tensor3D,
    weight: tf.ones([2, 64, 64]) as tf.Tensor3D,
  };
  const view = await masked.build(fakeContext({ target }));
  assert.equal(view.label, target.label);
  assert.equal(view.weight, target.weight);
  assert.notEqual(view.image, target.image);
  assert.deepEqual(view.image.shape, target.image.shape);
});

Deno.test("λ scales the whole masked loss, or (the released quirk) only its fused part", () => {
  const rng = new RandomStream(9);
  const fused = tf.tensor4d(rng.normalArray(1 * 4 * 4 * 5), [1, 4, 4, 5]);
  const detail = tf.tensor4d(rng.normalArray(1 * 2 * 2 * 5), [1, 2, 2, 5]);
  const label = tf.tensor3d(
    Int32Array.from({ length: 256 }, () => rng.int(5)),
    [1, 16, 16],
    "int32",
  );
  const crop = tf.slice(label, [0, 8, 0], [-1, 8, 8]) as tf.Tensor3D;
  const outputs = {
    logits: fused,
    supervision: [{ logits: fused, weight: 0.9 }, {
      logits: detail,
      weight: 0.1,
      box: [8, 0, 8, 8] as const,
    }],
  };
  const ce = [crossEntropy(fused, label).dataSync()[0], crossEntropy(detail, crop).dataSync()[0]];
  const view: View = { image: tf.zeros([1, 16, 16, 3]) as tf.Tensor4D, label };
  for (
    const [scope, expected] of [
      ["all", 2 * (0.9 * ce[0] + 0.1 * ce[1])],
      ["fused", 2 * 0.9 * ce[0] + 0.1 * ce[1]],
    ] as const
  ) {
    const program = compile(
      extend(tinyMic, { losses: { masked: { weight: 2, lambdaScope: scope } } }),
    );
    const term = program.terms.find((t) => t.name === "masked")!;
    const context = { ...fakeContext({ masked: view }), pass: () => outputs } as StepContext;
    const total = term.weight * term.compute(context).dataSync()[0];
    assert.ok(Math.abs(total - expected) < 1e-5, `${scope}: ${total} vs ${expected}`);
  }
});

Deno.test("a tiny MIC(HRDA) run logs the masked loss and resumes bit for bit", async () => {
  await useBackend("wasm");
  await ensureTinyEncoder();
  // A threshold every prediction passes, so the pseudo-label weight q is 1 from the first step
  // (at 0.968 a random tiny model's q is 0, and so would be the masked loss).
  const experiment = extend(tinyMic, {
    teacher: { threshold: 0.01 },
    run: { iterations: 6 },
    evaluation: { every: 6 },
  });
  const { dir, records } = await trainAndResume(compile(experiment), ".cache/test-mic", 3);
  // The figure of the evaluation at iteration 6: in the report, and the same after a resume.
  const figure = "pictures/masked_000006.png";
  const report = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(report, /## masked \(the masked target image \| the teacher's prediction/);
  assert.ok(report.includes(`![masked](${figure})`), report);
  assert.deepEqual(
    await Deno.readFile(join(dir, figure)),
    await Deno.readFile(join(dir, "..", "split", figure)),
  );
  // Three panels of the 128×64 test-scale image and two 4-px gaps.
  assert.equal(new DataView((await Deno.readFile(join(dir, figure))).buffer).getUint32(16), 392);
  const losses = records.filter((r) => r.type === "train").map((r) => r.losses!.masked);
  assert.ok(losses.length > 0 && losses.every((v) => Number.isFinite(v) && v > 0), `${losses}`);
});
