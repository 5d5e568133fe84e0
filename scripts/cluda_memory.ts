/**
 * Peak tensor memory and time of CLUDA's loss with its gradient (`docs/cluda.md`, "Memory"):
 * `deno run --allow-read=. --allow-env scripts/cluda_memory.ts N ROW_CHUNK` prints one JSON line
 * (random unit-scale features, C = 256, 19 classes, half the pixels inside the crop, wasm).
 *
 * @module
 */
import { tf } from "../runtime/tf.ts";
import { useBackend } from "../runtime/backend/mod.ts";
import { cludaContrastLoss } from "../runtime/losses/cluda_contrast.ts";

const [n, rowChunk] = [Number(Deno.args[0] ?? 8450), Number(Deno.args[1] ?? 256)];
await useBackend("wasm");
const c = 256;
const labels = new Int32Array(n).map((_, i) => (i * 7919) % 19);
const inside = new Float32Array(n).map((_, i) => (i % 65 < 33 ? 1 : 0));
const lr = tf.variable(tf.randomNormal([n, c], 0, 0.0625, "float32", 1));
const hr = tf.variable(tf.randomNormal([n, c], 0, 0.0625, "float32", 2));
const w = tf.variable(tf.randomUniform([n], 0, 1, "float32", 3));
const q = tf.randomUniform([n], 0.5, 1, "float32", 4) as tf.Tensor1D;
const before = tf.memory().numBytes;
const started = performance.now();
let value = 0;
const info = await tf.profile(() => {
  const { value: v, grads } = tf.variableGrads(() =>
    cludaContrastLoss({
      lr: lr as unknown as tf.Tensor2D,
      hr: hr as unknown as tf.Tensor2D,
      labels,
      weight: w as unknown as tf.Tensor1D,
      inside,
      confidence: q,
    }, { rowChunk, stuffThingMask: false }), [lr, hr, w]);
  value = v.dataSync()[0];
  tf.dispose([v, ...Object.values(grads)]);
});
console.log(JSON.stringify({
  n,
  rowChunk,
  value,
  peakMiB: +((info.peakBytes - before) / 2 ** 20).toFixed(1),
  matrixMiB: +(n * n * 4 / 2 ** 20).toFixed(1),
  seconds: +((performance.now() - started) / 1000).toFixed(1),
}));
