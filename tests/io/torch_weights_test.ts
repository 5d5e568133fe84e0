import assert from "node:assert/strict";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import {
  parseSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
  type StoredTensor,
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
import { RandomStream } from "../../runtime/random.ts";

const f32 = (shape: number[], data?: ArrayLike<number>): StoredTensor => ({
  dtype: "float32",
  shape,
  data: data ? Float32Array.from(data) : new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

function fileOf(entries: [string, StoredTensor][]): SafetensorsFile {
  return { tensors: new Map(entries), metadata: {} };
}

async function values(store: ParamStore, name: string): Promise<number[]> {
  return Array.from(await store.get(name).data());
}

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
  assert.deepEqual(
    Array.from(transposeArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0])),
    [1, 4, 2, 5, 3, 6],
  );
});

/** One parameter of every layout, plus BatchNorm buffers. */
function smallStore(seed: number): ParamStore {
  const rng = new RandomStream(seed);
  const store = new ParamStore();
  const add = (name: string, shape: number[], layout: "linear" | "conv" | "depthwise" | "plain") =>
    store.add(
      name,
      tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape),
      layout,
    );
  add("backbone.block1.0.attn.q.weight", [4, 3], "linear");
  add("backbone.block1.0.mlp.dwconv.dwconv.weight", [3, 3, 4, 1], "depthwise");
  add("decode_head.linear_fuse.conv.weight", [1, 1, 4, 2], "conv");
  add("decode_head.linear_fuse.bn.weight", [2], "plain");
  store.add(
    "decode_head.linear_fuse.bn.running_mean",
    tf.tensor1d(rng.normalArray(2)),
    "plain",
    false,
  );
  store.add("decode_head.linear_fuse.bn.running_var", tf.ones([2]), "plain", false);
  return store;
}

Deno.test("export → safetensors → load round-trips every layout, in PyTorch's shapes", async () => {
  await useBackend("cpu");
  const a = smallStore(1);
  const exported = await exportTorchWeights(a);
  assert.deepEqual(
    exported.map(([k, t]) => [k, t.shape]),
    [
      ["backbone.block1.0.attn.q.weight", [3, 4]],
      ["backbone.block1.0.mlp.dwconv.dwconv.weight", [4, 1, 3, 3]],
      ["decode_head.linear_fuse.conv.weight", [2, 4, 1, 1]],
      ["decode_head.linear_fuse.bn.weight", [2]],
      ["decode_head.linear_fuse.bn.running_mean", [2]],
      // Added so PyTorch's strict load_state_dict accepts the file.
      ["decode_head.linear_fuse.bn.num_batches_tracked", []],
      ["decode_head.linear_fuse.bn.running_var", [2]],
    ],
  );
  // torch Linear [out, in][o][i] = ours [in, out][i][o].
  const q = await values(a, "backbone.block1.0.attn.q.weight");
  assert.equal(exported[0][1].data[2 * 4 + 1], q[1 * 3 + 2]);
  const file = parseSafetensors(serializeSafetensors(exported), "w.safetensors");
  const b = smallStore(2);
  const report = loadTorchWeights(b, file, "w.safetensors");
  assert.equal(report.loaded.length, 6);
  assert.deepEqual(report.ignored, [
    "decode_head.linear_fuse.bn.num_batches_tracked (BatchNorm counter)",
  ]);
  for (const p of a.list()) assert.deepEqual(await values(b, p.name), await values(a, p.name));
  a.dispose();
  b.dispose();
});

Deno.test("loadTorchWeights reports missing, unexpected and mis-shaped keys by name", async () => {
  await useBackend("cpu");
  const store = new ParamStore();
  store.add("decode_head.linear_c.0.proj.weight", tf.zeros([4, 2]), "linear");
  store.add("decode_head.linear_c.0.proj.bias", tf.zeros([2]), "plain");
  store.add("backbone.norm1.weight", tf.zeros([3]), "plain");
  const file = fileOf([
    ["module.decode_head.linear_c.0.proj.weight", f32([2, 4], new Array(8).fill(1))],
    ["decode_head.linear_c.0.proj.bias", f32([5])],
    ["decode_head.extra.weight", f32([1])],
  ]);
  assert.throws(
    () => loadTorchWeights(store, file, "ckpt.safetensors"),
    (e: Error) =>
      e.message.startsWith("ckpt.safetensors: the weights (mmseg-0.16 naming)") &&
      /Missing \(1\): backbone\.norm1\.weight\./.test(e.message) &&
      /Unexpected \(1\): decode_head\.extra\.weight\./.test(e.message) &&
      /Mis-shaped \(1\): decode_head\.linear_c\.0\.proj\.bias \(file \[5\], network \[2\]\)/.test(
        e.message,
      ),
  );
  assert.deepEqual(await values(store, "decode_head.linear_c.0.proj.weight"), new Array(8).fill(0));
  const warnings: string[] = [];
  const report = loadTorchWeights(store, file, "ckpt.safetensors", {
    strict: false,
    onWarning: (m) => warnings.push(m),
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Missing \(1\).*strict=false: loaded the rest/);
  assert.deepEqual(report.loaded, ["decode_head.linear_c.0.proj.weight"]);
  assert.deepEqual(await values(store, "decode_head.linear_c.0.proj.weight"), new Array(8).fill(1));
  store.dispose();
});

Deno.test("UDA checkpoints: the student by default, the EMA teacher on request", async () => {
  await useBackend("cpu");
  const store = new ParamStore();
  store.add("backbone.norm1.weight", tf.zeros([2]), "plain");
  const file = fileOf([
    ["model.backbone.norm1.weight", f32([2], [1, 1])],
    ["ema_model.backbone.norm1.weight", f32([2], [2, 2])],
    ["imnet_model.backbone.norm1.weight", f32([2], [3, 3])],
  ]);
  const report = loadTorchWeights(store, file, "latest.safetensors");
  assert.deepEqual(await values(store, "backbone.norm1.weight"), [1, 1]);
  assert.equal(report.ignored.length, 2);
  loadTorchWeights(store, file, "latest.safetensors", { submodel: "ema_model" });
  assert.deepEqual(await values(store, "backbone.norm1.weight"), [2, 2]);
  // A caller's rename table, applied after the prefixes.
  loadTorchWeights(
    store,
    fileOf([["encoder.norm1.weight", f32([2], [5, 6])]]),
    "x",
    { rename: [["encoder.", "backbone."]] },
  );
  assert.deepEqual(await values(store, "backbone.norm1.weight"), [5, 6]);
  store.dispose();
});

Deno.test("NVlabs SegFormer heads: levels renamed and linear_fuse's input blocks reversed", async () => {
  await useBackend("cpu");
  const store = new ParamStore();
  for (let i = 0; i < 4; i++) {
    store.add(`decode_head.linear_c.${i}.proj.bias`, tf.zeros([1]), "plain");
  }
  store.add("decode_head.linear_fuse.conv.weight", tf.zeros([1, 1, 8, 2]), "conv");
  // NVlabs: torch [out=2, in=8] where input blocks of 2 are (c4, c3, c2, c1).
  const nv = [
    ...[41, 42, 31, 32, 21, 22, 11, 12], // out 0
    ...[-41, -42, -31, -32, -21, -22, -11, -12], // out 1
  ];
  const file = fileOf([
    ...[1, 2, 3, 4].map((l) =>
      [`decode_head.linear_c${l}.proj.bias`, f32([1], [l])] as [string, StoredTensor]
    ),
    ["decode_head.linear_fuse.conv.weight", f32([2, 8, 1, 1], nv)],
  ]);
  const report = loadTorchWeights(store, file, "segformer.b0.safetensors");
  assert.equal(report.format, "nvlabs-segformer");
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await values(store, `decode_head.linear_c.${i}.proj.bias`), [i + 1]);
  }
  // Ours [1, 1, in, out]: in channel j of level l (0-based) = NVlabs value (l+1)·10 + j + 1.
  const fuse = await values(store, "decode_head.linear_fuse.conv.weight");
  for (let level = 0; level < 4; level++) {
    for (let j = 0; j < 2; j++) {
      const expected = (level + 1) * 10 + j + 1;
      assert.equal(fuse[(level * 2 + j) * 2 + 0], expected);
      assert.equal(fuse[(level * 2 + j) * 2 + 1], -expected);
    }
  }
  store.dispose();
});

/**
 * mmseg's `tools/model_converters/mit2mmseg.py::convert_mit`, ported line by line: the forward
 * direction (SegFormer/DAFormer names → mmseg ≥ 0.20 names), independent of our inverse.
 */
function mit2mmseg(ckpt: Map<string, StoredTensor>): [string, StoredTensor][] {
  const out: [string, StoredTensor][] = [];
  for (const [k, v] of ckpt) {
    let newK = k;
    let newV = v;
    if (k.startsWith("head")) continue;
    if (k.startsWith("patch_embed")) {
      const s = Number(k.split(".")[0].replace("patch_embed", ""));
      newK = k.replace(`patch_embed${s}`, `layers.${s - 1}.0`);
      if (newK.includes("proj.")) newK = newK.replace("proj.", "projection.");
    } else if (k.startsWith("block")) {
      const s = Number(k.split(".")[0].replace("block", ""));
      newK = k.replace(`block${s}`, `layers.${s - 1}.1`);
      if (newK.includes("attn.q.")) {
        const kv = ckpt.get(k.replace("q.", "kv."))!;
        newK = newK.replace("q.", "attn.in_proj_");
        newV = {
          ...v,
          shape: [v.shape[0] + kv.shape[0], ...v.shape.slice(1)],
          data: Float32Array.from([...v.data, ...kv.data]),
        };
      } else if (newK.includes("attn.kv.")) continue;
      else if (newK.includes("attn.proj.")) newK = newK.replace("proj.", "attn.out_proj.");
      else if (newK.includes("mlp.")) {
        newK = newK.replace("mlp.", "ffn.layers.");
        if (newK.includes("fc1.weight") || newK.includes("fc2.weight")) {
          newV = { ...v, shape: [...v.shape, 1, 1] };
        }
        newK = newK.replace("fc1.", "0.").replace("dwconv.dwconv.", "1.").replace("fc2.", "4.");
      }
    } else if (k.startsWith("norm")) {
      const s = Number(k.split(".")[0].replace("norm", ""));
      newK = k.replace(`norm${s}`, `layers.${s - 1}.2`);
    }
    out.push([newK, newV]);
  }
  return out;
}

Deno.test("encoder-only loading from ImageNet MiT checkpoints, SegFormer and mmseg ≥ 0.20 naming", async () => {
  await useBackend("cpu");
  const source = createSegmentor("mit_nano+segformer", { seed: 1, numClasses: 3 });
  const exported = await exportTorchWeights(source.params);
  // An ImageNet checkpoint: encoder keys without 'backbone.', plus the classifier.
  const imagenet = new Map<string, StoredTensor>(
    exported.filter(([k]) => k.startsWith("backbone.")).map(([k, t]) => [k.slice(9), t]),
  );
  imagenet.set("head.weight", f32([1000, 128]));
  for (const file of [imagenet, new Map(mit2mmseg(imagenet))]) {
    const target = createSegmentor("mit_nano+segformer", { seed: 2, numClasses: 3 });
    const headBefore = await values(target.params, "decode_head.linear_pred.weight");
    const report = loadTorchWeights(
      target.params,
      { tensors: file, metadata: {} },
      "mit.safetensors",
      {
        backboneOnly: true,
      },
    );
    assert.equal(report.format, file === imagenet ? "mmseg-0.16" : "mmseg-0.20");
    assert.ok(report.ignored.some((k) => k.startsWith("head.weight")) || file !== imagenet);
    assert.equal(
      report.loaded.length,
      target.params.list().filter((p) => p.name.startsWith("backbone.")).length,
    );
    for (const p of target.params.list()) {
      if (p.name.startsWith("backbone.")) {
        assert.deepEqual(
          await values(target.params, p.name),
          await values(source.params, p.name),
          p.name,
        );
      }
    }
    assert.deepEqual(await values(target.params, "decode_head.linear_pred.weight"), headBefore);
    target.params.dispose();
  }
  // An mmseg ≥ 0.20 SegformerHead cannot be renamed into this head; the error says why.
  const mmsegHead = new Map(mit2mmseg(imagenet).map(([k, t]) => [`backbone.${k}`, t]));
  mmsegHead.set("decode_head.convs.0.conv.weight", f32([128, 16, 1, 1]));
  assert.throws(
    () =>
      loadTorchWeights(source.params, { tensors: mmsegHead, metadata: {} }, "mmseg.safetensors"),
    /mmseg-0\.20 naming.*Unexpected \(1\): decode_head\.convs\.0\.conv\.weight.*BatchNorm \+ ReLU/,
  );
  source.params.dispose();
});
