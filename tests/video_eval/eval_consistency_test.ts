/**
 * Temporal consistency inside evaluation: a target validation set of SynthCity sequences loads
 * each frame's previous frame and exact flow, and `evaluate` counts, per class of the frame-t
 * prediction, the pixels whose frame-t−k prediction carried along the flow agrees. Checked
 * against a count written out here from the two frames' predictions, and on a constant model.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { extend, synthCitySequence } from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { evaluate, loadEvalSet } from "../../runtime/eval/evaluate.ts";
import type { Network } from "../../runtime/blocks/types.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import tiny from "../fixtures/tiny.ts";

const experiment = extend(tiny, {
  data: {
    targetVal: synthCitySequence({
      domain: "real",
      sequences: 1,
      frames: 4,
      seed: 1000,
      scale: [64, 32],
    }),
    sourceVal: synthCitySequence({ domain: "game", sequences: 1, frames: 3, scale: [64, 32] }),
  },
});

/** Logits at stride 4 from each pixel's colour by a fixed linear map: moves with the scene. */
function colourModel(weights: number[][]): Network {
  return {
    params: new ParamStore(),
    forward: (image) => ({
      logits: tf.tidy(() => {
        const pooled = tf.avgPool(image, 4, 4, "valid") as tf.Tensor4D;
        const [n, h, w] = pooled.shape;
        const flat = tf.matMul(tf.reshape(pooled, [-1, 3]), tf.tensor2d(weights));
        return tf.reshape(flat, [n, h, w, weights[0].length]) as tf.Tensor4D;
      }),
    }),
  };
}

Deno.test("evaluate: the target sequence's temporal consistency equals a count by hand", async () => {
  await useBackend("cpu");
  const program = compile(experiment);
  const plan = program.evaluation.sets.find((s) => s.role === "targetVal")!;
  const set = await loadEvalSet(plan);
  // 1 sequence × (4 − 1) frames with a frame t−1; each carries the frame and the exact flow.
  assert.equal(set.images.length, 3);
  for (const x of set.images) {
    assert.equal(x.previous?.length, x.inputWidth * x.inputHeight * 3);
    assert.equal(x.flow?.length, x.width * x.height * 2);
    assert.ok(x.flowValid!.some((v) => v === 1));
  }
  const source = await loadEvalSet(program.evaluation.sets.find((s) => s.role === "sourceVal")!);
  assert.equal(source.images[0].previous, undefined, "only the target set is paired");

  const weights = Array.from(
    { length: 3 },
    (_, c) => Array.from({ length: 19 }, (_, k) => Math.sin(7 * c + 3 * k)),
  );
  const model = colourModel(weights);
  const options = { batchSize: 2, protocol: "19" as const, pictures: 3, numClasses: 19 };
  const result = await evaluate(model, set, options);
  const earlier = await evaluate(
    model,
    { role: "targetVal", images: set.images.map((x) => ({ ...x, input: x.previous! })) },
    { ...options },
  );
  const counted = new Float64Array(19), agreeing = new Float64Array(19);
  set.images.forEach((x, k) => {
    const [now, before] = [result.predictions[k], earlier.predictions[k]];
    for (let y = 0; y < x.height; y++) {
      for (let u = 0; u < x.width; u++) {
        const i = y * x.width + u;
        if (x.flowValid![i] === 0) continue;
        const su = Math.round(u + x.flow![2 * i]), sy = Math.round(y + x.flow![2 * i + 1]);
        if (su < 0 || su >= x.width || sy < 0 || sy >= x.height) continue;
        counted[now[i]] += 1;
        if (before[sy * x.width + su] === now[i]) agreeing[now[i]] += 1;
      }
    }
  });
  assert.deepEqual([...result.consistency!.counted], [...counted]);
  assert.deepEqual([...result.consistency!.agreeing], [...agreeing]);
  const share = result.consistency!.result("19").share;
  assert.ok(share > 0.5 && share < 1, `a colour model mostly agrees across frames: ${share}`);

  // A model that predicts one class everywhere agrees with itself on every counted pixel.
  const constant: Network = {
    params: new ParamStore(),
    forward: (image) => ({
      logits: tf.tidy(() => {
        const [n, h, w] = image.shape;
        return tf.oneHot(tf.fill([n, h / 4, w / 4], 13, "int32"), 19).toFloat() as tf.Tensor4D;
      }),
    }),
  };
  const flat = await evaluate(constant, set, { ...options, pictures: 0 });
  assert.equal(flat.consistency!.result("19").share, 1);
});
