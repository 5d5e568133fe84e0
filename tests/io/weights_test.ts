import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from "../../runtime/io/safetensors.ts";
import {
  exportTorchWeights,
  fromTorchLayout,
  loadTorchWeights,
  toTorchLayout,
  transposeArray,
} from "../../runtime/io/torch_weights.ts";
import { ParamStore } from "../../runtime/nn/params.ts";
import { createSegmentor } from "../../runtime/nn/segmentor.ts";
import { main as forwardMain } from "../../runtime/cli/forward.ts";
import { RandomStream } from "../../runtime/random.ts";

async function tempDir(): Promise<string> {
  await Deno.mkdir(".cache", { recursive: true });
  return await Deno.makeTempDir({ dir: ".cache" });
}

/** A safetensors file assembled byte by byte, independently of our writer. */
function handMade(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  out[0] = h.length; // little-endian u64, small header
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("safetensors: reads a hand-made file (F32, F16, I64) and round-trips our writer", () => {
  // 1.5 as F32 = 0x3FC00000; 1.0 as F16 = 0x3C00; -2 as I64.
  const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},' +
    '"c":{"dtype":"I64","shape":[1],"data_offsets":[6,14]},"__metadata__":{"k":"v"}}';
  const bytes = handMade(header, [
    0,
    0,
    0xc0,
    0x3f,
    0x00,
    0x3c,
    0xfe,
    255,
    255,
    255,
    255,
    255,
    255,
    255,
  ]);
  const file = parseSafetensors(bytes, "hand.safetensors");
  assert.equal(file.tensors.get("a")!.data[0], 1.5);
  assert.equal(file.tensors.get("b")!.data[0], 1);
  assert.equal(file.tensors.get("c")!.data[0], -2);
  assert.equal(file.tensors.get("c")!.dtype, "int32");
  assert.deepEqual(file.metadata, { k: "v" });

  const again = parseSafetensors(serializeSafetensors(file.tensors, file.metadata), "again");
  assert.deepEqual([...again.tensors.keys()], ["a", "b", "c"]);
  assert.deepEqual(Array.from(again.tensors.get("a")!.data), [1.5]);
  const raw = serializeSafetensors([["x", {
    dtype: "float32",
    shape: [2],
    data: new Float32Array([1, 2]),
  }]]);
  assert.equal(
    Number(new DataView(raw.buffer).getBigUint64(0, true)) % 8,
    0,
    "header padded to 8 bytes",
  );
});

Deno.test("safetensors: corrupt files fail with the file and the problem named", () => {
  const good = serializeSafetensors([
    ["w", { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
  ]);
  assert.throws(
    () => parseSafetensors(good.subarray(0, good.length - 3), "trunc.st"),
    /trunc\.st.*(truncated|bytes)/,
  );
  assert.throws(
    () => parseSafetensors(good.subarray(0, 5), "short.st"),
    /short\.st.*shorter than the 8-byte/,
  );
  const bad = good.slice();
  new DataView(bad.buffer).setBigUint64(0, 1000n, true);
  assert.throws(() => parseSafetensors(bad, "len.st"), /len\.st.*header claims 1000 bytes/);
  const overlap = handMade(
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    [0, 0, 0, 0],
  );
  assert.throws(
    () => parseSafetensors(overlap, "overlap.st"),
    /overlap\.st.*overlapping or gapped/,
  );
  const wrongSize = handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [
    0,
    0,
    0,
    0,
  ]);
  assert.throws(() => parseSafetensors(wrongSize, "size.st"), /size\.st.*needs 8/);
});

Deno.test("PyTorch layouts: each conversion agrees with index arithmetic and inverts", () => {
  const rng = new RandomStream(2);
  // conv: torch [out=2, in=3, kh=2, kw=2] → ours [kh, kw, in, out].
  const torchConv = rng.normalArray(24);
  const ours = fromTorchLayout(torchConv, [2, 2, 3, 2], "conv");
  for (let o = 0; o < 2; o++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          assert.equal(
            ours[((i * 2 + j) * 3 + c) * 2 + o],
            torchConv[((o * 3 + c) * 2 + i) * 2 + j],
          );
        }
      }
    }
  }
  assert.deepEqual(Array.from(toTorchLayout(ours, [2, 2, 3, 2], "conv")), Array.from(torchConv));
  // depthwise: torch [in·mult = 3·2, 1, kh = 2, kw = 1] → ours [2, 1, 3, 2]; torch channel c·2+m.
  const torchDw = rng.normalArray(12);
  const dw = fromTorchLayout(torchDw, [2, 1, 3, 2], "depthwise");
  for (let c = 0; c < 3; c++) {
    for (let m = 0; m < 2; m++) {
      for (let i = 0; i < 2; i++) {
        assert.equal(dw[(i * 3 + c) * 2 + m], torchDw[(c * 2 + m) * 2 + i]);
      }
    }
  }
  assert.deepEqual(Array.from(toTorchLayout(dw, [2, 1, 3, 2], "depthwise")), Array.from(torchDw));
  // linear: torch [out=3, in=2] → ours [in, out].
  const lin = new Float32Array([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(fromTorchLayout(lin, [2, 3], "linear")), [1, 3, 5, 2, 4, 6]);
  assert.deepEqual(Array.from(transposeArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0])), [
    1,
    4,
    2,
    5,
    3,
    6,
  ]);
});

Deno.test("loadTorchWeights reports missing, unexpected and mis-shaped keys by name", async () => {
  await useBackend("cpu");
  const store = new ParamStore();
  store.add("decode_head.linear_c.0.proj.weight", tf.zeros([4, 2]), "linear");
  store.add("decode_head.linear_c.0.proj.bias", tf.zeros([2]), "plain");
  store.add("backbone.norm1.weight", tf.zeros([3]), "plain");
  const file = {
    metadata: {},
    tensors: new Map([
      // NVlabs spelling, DDP prefix: both normalised.
      ["module.decode_head.linear_c1.proj.weight", {
        dtype: "float32" as const,
        shape: [2, 4],
        data: new Float32Array(8).fill(1),
      }],
      ["decode_head.linear_c.0.proj.bias", {
        dtype: "float32" as const,
        shape: [5],
        data: new Float32Array(5),
      }],
      ["decode_head.extra.weight", {
        dtype: "float32" as const,
        shape: [1],
        data: new Float32Array(1),
      }],
      ["backbone.bn.num_batches_tracked", {
        dtype: "int32" as const,
        shape: [],
        data: new Int32Array(1),
      }],
    ]),
  };
  assert.throws(
    () => loadTorchWeights(store, file, "ckpt.safetensors"),
    (e: Error) =>
      /ckpt\.safetensors/.test(e.message) &&
      /Missing \(1\): backbone\.norm1\.weight/.test(e.message) &&
      /Unexpected \(1\): decode_head\.extra\.weight/.test(e.message) &&
      /Mis-shaped \(1\): decode_head\.linear_c\.0\.proj\.bias \(file \[5\], network \[2\]\)/.test(
        e.message,
      ),
  );
  const report = loadTorchWeights(store, file, "ckpt.safetensors", { strict: false });
  assert.deepEqual(report.loaded, ["decode_head.linear_c.0.proj.weight"]);
  assert.deepEqual(
    Array.from(await store.get("decode_head.linear_c.0.proj.weight").data()),
    new Array(8).fill(1),
  );
  store.dispose();
});

Deno.test("export then forward CLI reproduces the segmentor's own outputs in PyTorch layout", async () => {
  await useBackend("cpu");
  const dir = await tempDir();
  try {
    const model = createSegmentor("mit_nano+segformer", { seed: 7, numClasses: 5 });
    await writeSafetensors(`${dir}/w.safetensors`, await exportTorchWeights(model.params));
    const rng = new RandomStream(9);
    const image = rng.normalArray(2 * 3 * 32 * 32);
    await writeSafetensors(`${dir}/in.safetensors`, [["image", {
      dtype: "float32",
      shape: [2, 3, 32, 32],
      data: image,
    }]]);
    const code = await forwardMain([
      "mit_nano+segformer",
      "--weights",
      `${dir}/w.safetensors`,
      "--input",
      `${dir}/in.safetensors`,
      "--output",
      `${dir}/out.safetensors`,
      "--classes",
      "5",
      "--backend",
      "cpu",
    ]);
    assert.equal(code, 0);
    const out = await readSafetensors(`${dir}/out.safetensors`);
    assert.deepEqual(out.tensors.get("logits")!.shape, [2, 5, 8, 8]);
    assert.deepEqual(out.tensors.get("stage4")!.shape, [2, 128, 1, 1]);
    const nhwc = tf.tensor4d(transposeArray(image, [2, 3, 32, 32], [0, 2, 3, 1]), [2, 32, 32, 3]);
    const direct = model.forward(nhwc, { training: false });
    const expected = transposeArray(
      new Float32Array(await direct.logits.data()),
      direct.logits.shape,
      [0, 3, 1, 2],
    );
    const got = out.tensors.get("logits")!.data;
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(expected[i] - got[i]));
    }
    assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
    assert.equal(
      await forwardMain(["mit_nano+nope", "--weights", "a", "--input", "b", "--output", "c"]),
      2,
    );
    assert.equal(
      await forwardMain([
        "mit_b0+segformer",
        "--weights",
        `${dir}/w.safetensors`,
        "--input",
        `${dir}/in.safetensors`,
        "--output",
        `${dir}/x.safetensors`,
        "--backend",
        "cpu",
      ]),
      1,
      "weights of another model are rejected",
    );
    model.params.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
