/**
 * The all-MLP head's fusion taken before the resize (`fuseLevels` in `runtime/nn/heads.ts`)
 * against the formulation it replaces — resize every level, concat, one 1×1 convolution — on
 * cpu: outputs and the gradients of every head parameter agree to float32 rounding.
 */
import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { RandomStream } from "../../runtime/random.ts";
import {
  convModule,
  embedLevels,
  type HeadConfig,
  initSegformerHead,
  segformerHead,
} from "../../runtime/nn/heads.ts";
import { relativeError } from "../backend/helpers.ts";

Deno.test("SegFormer head: fusing before the resize equals resize, concat, fuse (outputs and gradients)", async () => {
  await useBackend("cpu");
  const config: HeadConfig = {
    inChannels: [8, 12, 16, 20],
    channels: 6,
    numClasses: 5,
    dropout: 0,
  } as HeadConfig;
  const params = new ParamStore();
  initSegformerHead(params, new RandomStream(3), config);
  const rng = new RandomStream(4);
  // Non-square levels at strides 4, 8, 16, 32 of a 36×20 image; batch 2.
  const sizes = [[9, 5], [5, 3], [3, 2], [2, 1]];
  const features = sizes.map(([h, w], i) =>
    tf.tensor4d(rng.normalArray(2 * h * w * config.inChannels[i]), [2, h, w, config.inChannels[i]])
  );
  const mode = { training: true, batchStatistics: true, rng: new RandomStream(5) };
  const concatenated = () => {
    const levels = embedLevels(params, (i) => `decode_head.linear_c.${i}.proj`, features);
    const embedding = convModule(params, "decode_head.linear_fuse", tf.concat(levels, 3), mode);
    return tf.sum(tf.mul(embedding, tf.sin(tf.range(0, embedding.size).reshape(embedding.shape))));
  };
  const fused = () => {
    const { embedding } = segformerHead(params, config, features, mode);
    return tf.sum(tf.mul(embedding, tf.sin(tf.range(0, embedding.size).reshape(embedding.shape))));
  };
  const variables = params.trainable().map((p) => p.variable);
  const a = tf.variableGrads(fused as () => tf.Scalar, variables);
  const b = tf.variableGrads(concatenated as () => tf.Scalar, variables);
  assert.ok(relativeError(await a.value.data(), await b.value.data()) <= 1e-6);
  // The embeddings' biases only shift channels that BatchNorm's batch statistics remove, so
  // their gradients are rounding noise: compare every gradient on the scale of the largest.
  const named = variables.filter((v) => b.grads[v.name] !== undefined);
  const ours = await Promise.all(named.map((v) => a.grads[v.name].data()));
  const theirs = await Promise.all(named.map((v) => b.grads[v.name].data()));
  const scale = Math.max(...theirs.map((g) => Math.max(...Array.from(g, Math.abs))));
  named.forEach((v, k) => {
    const difference = Math.max(...Array.from(ours[k], (x, i) => Math.abs(x - theirs[k][i])));
    assert.ok(difference <= 1e-5 * scale, `${v.name}: ${difference} against ${scale}`);
  });
  tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), ...features]);
  params.dispose();
});
