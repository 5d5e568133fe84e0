import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { createSegmentor } from "../../runtime/nn/segmentor.ts";
import { AdamW } from "../../runtime/optim/adamw.ts";
import { supervisedStep } from "../../runtime/train/supervised_step.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("wasm training steps keep the tensor count flat and the loss falls on a fixed batch", async () => {
  await useBackend("wasm");
  const model = createSegmentor("mit_nano+daformer", { seed: 0, numClasses: 4 });
  const optimizer = new AdamW(model.params.trainable(), { lr: 1e-3 });
  const rng = new RandomStream(2);
  const image = tf.tensor4d(rng.normalArray(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  // Label = which quadrant a pixel is in: learnable from position through the padding.
  const label = tf.tensor3d(
    Int32Array.from(
      { length: 2 * 32 * 32 },
      (_, i) => ((i % 32) >= 16 ? 1 : 0) + ((i >> 5) % 32 >= 16 ? 2 : 0),
    ),
    [2, 32, 32],
    "int32",
  );
  const losses: number[] = [];
  let tensors = 0;
  for (let step = 0; step < 30; step++) {
    const loss = supervisedStep(model, optimizer, image, label, 1e-3, rng);
    losses.push((await loss.data())[0]);
    loss.dispose();
    if (step === 1) tensors = tf.memory().numTensors;
    if (step > 1) {
      assert.equal(tf.memory().numTensors, tensors, `tensor count changed at step ${step}`);
    }
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[29] < 0.7 * losses[0], `loss ${losses[0]} → ${losses[29]}`);
  tf.dispose([image, label]);
  optimizer.dispose();
  model.params.dispose();
});
