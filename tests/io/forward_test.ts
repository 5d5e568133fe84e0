import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { readSafetensors, writeSafetensors } from "../../runtime/io/safetensors.ts";
import { exportTorchWeights, transposeArray } from "../../runtime/io/torch_weights.ts";
import { createSegmentor } from "../../runtime/nn/segmentor.ts";
import { main as forwardMain } from "../../runtime/cli/forward.ts";
import { RandomStream } from "../../runtime/random.ts";

/** Runs the command with console.error captured; returns the exit code and what it printed. */
async function run(args: string[]): Promise<{ code: number; errors: string }> {
  const errors: string[] = [];
  const [error, log] = [console.error, console.log];
  console.error = (...parts: unknown[]) => errors.push(parts.join(" "));
  console.log = () => {};
  try {
    return { code: await forwardMain(args), errors: errors.join("\n") };
  } finally {
    [console.error, console.log] = [error, log];
  }
}

Deno.test("forward: exported weights reproduce the segmentor's own outputs in PyTorch layout", async () => {
  await useBackend("cpu");
  await Deno.mkdir(".cache", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: ".cache" });
  try {
    const model = createSegmentor("mit_nano+daformer", { seed: 7, numClasses: 5 });
    await writeSafetensors(`${dir}/w.safetensors`, await exportTorchWeights(model.params));
    const image = new RandomStream(9).normalArray(2 * 3 * 32 * 64);
    await writeSafetensors(`${dir}/in.safetensors`, [["image", {
      dtype: "float32",
      shape: [2, 3, 32, 64],
      data: image,
    }]]);
    const io = ["--weights", `${dir}/w.safetensors`, "--input", `${dir}/in.safetensors`];
    const ok = await run([
      "mit_nano+daformer",
      ...io,
      "--output",
      `${dir}/out.safetensors`,
      "--classes",
      "5",
      "--backend",
      "cpu",
    ]);
    assert.equal(ok.code, 0, ok.errors);
    const out = await readSafetensors(`${dir}/out.safetensors`);
    const direct = tf.tidy(() => {
      const nhwc = tf.tensor4d(transposeArray(image, [2, 3, 32, 64], [0, 2, 3, 1]), [2, 32, 64, 3]);
      const { logits, features } = model.forward(nhwc, { training: false });
      return [logits, ...features];
    });
    const names = ["logits", "stage1", "stage2", "stage3", "stage4"];
    for (const [i, t] of direct.entries()) {
      const stored = out.tensors.get(names[i])!;
      assert.deepEqual(stored.shape, [t.shape[0], t.shape[3], t.shape[1], t.shape[2]], names[i]);
      const expected = transposeArray(new Float32Array(await t.data()), t.shape, [0, 3, 1, 2]);
      let maxDiff = 0;
      for (let k = 0; k < expected.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(expected[k] - stored.data[k]));
      }
      assert.ok(maxDiff < 1e-5, `${names[i]}: max difference ${maxDiff}`);
    }
    assert.deepEqual(out.tensors.get("logits")!.shape, [2, 5, 8, 16]);
    tf.dispose(direct);

    // Usage errors exit 2, bad data 1, each with one message naming the problem.
    const usage = await run(["mit_nano+nope", ...io, "--output", `${dir}/x.safetensors`]);
    assert.equal(usage.code, 2);
    assert.match(usage.errors, /unknown decoder 'nope'/);
    assert.equal((await run(["mit_nano+daformer", ...io])).code, 2, "--output missing");
    const backend = await run(["mit_nano+daformer", ...io, "--output", "o", "--backend", "gpu"]);
    assert.equal(backend.code, 2);
    assert.match(backend.errors, /--backend must be one of/);
    assert.equal(
      (await run(["mit_nano+daformer", ...io, "--output", "o", "--classes", "0"])).code,
      2,
    );
    const other = await run([
      "mit_nano+segformer",
      ...io,
      "--output",
      `${dir}/x.safetensors`,
      "--backend",
      "cpu",
    ]);
    assert.equal(other.code, 1, "weights of another model are rejected");
    assert.match(other.errors, /Missing \(\d+\): .*Unexpected \(\d+\): decode_head\.embed_layers/);
    const noImage = await run([
      "mit_nano+daformer",
      "--weights",
      `${dir}/w.safetensors`,
      "--input",
      `${dir}/w.safetensors`,
      "--output",
      `${dir}/x.safetensors`,
      "--backend",
      "cpu",
    ]);
    assert.equal(noImage.code, 1);
    assert.match(noImage.errors, /has no tensor named 'image'/);
    model.params.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
