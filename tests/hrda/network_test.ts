/**
 * The HRDA network as a program builds it (`tests/fixtures/tiny_hrda.ts`): the reference's
 * parameter names, the training forward's box and weighted parts, the teacher's sliding-window
 * prediction and the evaluation's, each recomposed here from the plain segmentor's passes; the
 * frozen encoder on the context crop; FLOP counts; a run that trains, checkpoints the scale
 * attention and resumes bit for bit.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { RandomStream } from "../../runtime/random.ts";
import { compile, stepFlops } from "../../runtime/compile/program.ts";
import { buildNetworks, disposeNetworks } from "../../runtime/train/networks.ts";
import type { SegmentorNetwork } from "../../runtime/blocks/model.ts";
import { architectureFlops, segmentorArchitecture } from "../../runtime/blocks/model.ts";
import type { MultiResolutionOutputs } from "../../runtime/nn/hrda.ts";
import { averageWindows, cutWindows, slidingWindows } from "../../runtime/nn/multi_resolution.ts";
import { formatPlan } from "../../runtime/cli/plan.ts";
import { checkpointPath, readCheckpoint } from "../../runtime/train/checkpoint.ts";
import { readSafetensors, writeSafetensors } from "../../runtime/io/safetensors.ts";
import { exportTorchWeights, transposeArray } from "../../runtime/io/torch_weights.ts";
import { main as forwardMain } from "../../runtime/cli/forward.ts";
import { reproducible, trainAndResume } from "../train/helpers.ts";
import { cli } from "../cli/helpers.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import tinyHrda from "../fixtures/tiny_hrda.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";

await useBackend("cpu");

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

async function studentOf(experiment = tinyHrda) {
  const program = compile(experiment);
  const networks = await buildNetworks(program, (r) => Promise.resolve(r), false);
  return { program, networks, student: networks.get("student") as SegmentorNetwork };
}

function images(n: number, height: number, width: number, seed = 1): tf.Tensor4D {
  const rng = new RandomStream(seed);
  return tf.tensor4d(rng.normalArray(n * height * width * 3), [n, height, width, 3]);
}

Deno.test("HRDA's parameters are named as the reference's: decode_head.head and scale_attention", async () => {
  const { networks, student } = await studentOf();
  try {
    const names = student.params.list().map((p) => p.name);
    assert.ok(names.includes("decode_head.head.conv_seg.weight"), names.join());
    assert.ok(names.includes("decode_head.head.fuse_layer.bottleneck.conv.weight"));
    assert.ok(names.includes("decode_head.scale_attention.embed_layers.0.proj.weight"));
    assert.ok(names.includes("decode_head.scale_attention.fuse_layer.conv.weight"));
    assert.ok(names.includes("decode_head.scale_attention.fuse_layer.bn.running_var"));
    assert.ok(names.includes("decode_head.scale_attention.conv_seg.bias"));
    assert.ok(!names.some((n) => /^decode_head\.(conv_seg|embed_layers)/.test(n)));
    // 19 class-wise attention outputs.
    assert.deepEqual(student.params.get("decode_head.scale_attention.conv_seg.bias").shape, [19]);
    // The teacher copies all of it, the scale attention included.
    const teacher = networks.get("teacher")!.params.list().map((p) => p.name);
    assert.deepEqual(teacher.sort(), [...names].sort());
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("training forward: fused and detail parts weighted 0.9 / 0.1, one box per call", async () => {
  const { networks, student } = await studentOf();
  try {
    const image = images(2, 64, 64);
    const boxes = new Set<string>();
    for (let seed = 0; seed < 6; seed++) {
      let out = {
        shapes: [] as number[][],
        parts: [] as { weight: number; box?: readonly number[]; shape: number[] }[],
        outsideMax: 0,
      };
      tf.tidy(() => {
        const o = student.forward!(image, {
          training: true,
          rng: new RandomStream(seed),
        }) as MultiResolutionOutputs;
        out = {
          shapes: [o.logits.shape, o.contextLogits.shape, o.detailLogits.shape, o.attention.shape],
          parts: o.supervision!.map((p) => ({
            weight: p.weight,
            box: p.box,
            shape: p.logits.shape,
          })),
          outsideMax: tf.max(tf.abs(tf.slice(o.attention, [0, 0, 0, 0], [-1, 1, -1, -1])))
            .dataSync()[0],
        };
      });
      assert.deepEqual(out.shapes, [[2, 16, 16, 19], [2, 8, 8, 19], [2, 8, 8, 19], [2, 8, 8, 19]]);
      assert.equal(out.parts.length, 2);
      assert.ok(Math.abs(out.parts[0].weight - 0.9) < 1e-12 && out.parts[1].weight === 0.1);
      assert.equal(out.parts[0].box, undefined);
      const [top, left, h, w] = out.parts[1].box!;
      assert.deepEqual([h, w], [32, 32]);
      assert.ok(top % 8 === 0 && left % 8 === 0 && top <= 32 && left <= 32);
      assert.deepEqual(out.parts[1].shape, [2, 8, 8, 19]);
      // The box starts at row ≥ 0; the attention's first row is masked unless the box touches it.
      if (top > 0) assert.equal(out.outsideMax, 0);
      boxes.add(`${top},${left}`);
    }
    assert.ok(boxes.size > 1, "every forward call draws its own box");
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("the teacher's prediction: context plus 3×3 averaged detail windows, fused", async () => {
  const { networks, student } = await studentOf();
  try {
    const image = images(2, 64, 64, 2);
    const mode = { training: false, batchStatistics: false };
    const difference = tf.tidy(() => {
      const out = student.forward!(image, mode) as MultiResolutionOutputs;
      // Recomposed from the plain segmentor: context at ×0.5, windows 32² at stride 16.
      const model = student.model;
      const context = model.forward(tf.image.resizeBilinear(image, [32, 32], false, true), mode);
      const windows = slidingWindows([64, 64], [32, 32], [16, 16]);
      assert.equal(windows.length, 9);
      const detail = averageWindows(
        model.forward(cutWindows(image, windows), mode).logits,
        windows.map(([t, l, h, w]) => [t / 4, l / 4, h / 4, w / 4] as const),
        [16, 16],
      );
      const a = out.attention;
      const fused = tf.add(
        tf.mul(tf.image.resizeBilinear(a, [16, 16], false, true), detail),
        tf.image.resizeBilinear(tf.mul(tf.sub(1, a), context.logits), [16, 16], false, true),
      );
      return [
        maxDifference(out.contextLogits, context.logits),
        maxDifference(out.detailLogits, detail),
        maxDifference(out.logits, fused),
      ];
    });
    assert.ok(difference.every((d) => d < 1e-4), `${difference}`);
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("evaluation slides test windows (the crop's size) and averages them at full resolution", async () => {
  const { networks, student } = await studentOf();
  try {
    const image = images(1, 64, 128, 3);
    const difference = tf.tidy(() => {
      const predicted = student.predict!(image);
      const windows = slidingWindows([64, 128], [64, 64], [32, 32]);
      assert.equal(windows.length, 3);
      const perWindow = windows.map(([t, l]) => {
        const crop = tf.slice(image, [0, t, l, 0], [-1, 64, 64, -1]) as tf.Tensor4D;
        const logits = student.forward!(crop, { training: false }).logits!;
        return tf.image.resizeBilinear(logits, [64, 64], false, true);
      });
      // Columns 0–31 from window 0, 32–63 from windows 0 and 1, and so on.
      const expected = tf.concat([
        tf.slice(perWindow[0], [0, 0, 0, 0], [-1, -1, 32, -1]),
        tf.div(
          tf.add(
            tf.slice(perWindow[0], [0, 0, 32, 0], [-1, -1, 32, -1]),
            tf.slice(perWindow[1], [0, 0, 0, 0], [-1, -1, 32, -1]),
          ),
          2,
        ),
        tf.div(
          tf.add(
            tf.slice(perWindow[1], [0, 0, 32, 0], [-1, -1, 32, -1]),
            tf.slice(perWindow[2], [0, 0, 0, 0], [-1, -1, 32, -1]),
          ),
          2,
        ),
        tf.slice(perWindow[2], [0, 0, 32, 0], [-1, -1, 32, -1]),
      ], 2);
      return maxDifference(predicted, expected);
    });
    assert.ok(difference < 1e-4, `${difference}`);
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("the feature distance's frozen encoder sees the context crop, as the student does", async () => {
  await ensureTinyEncoder();
  const program = compile(tinyHrda);
  const networks = await buildNetworks(program);
  try {
    const image = images(1, 64, 64, 4);
    const [frozen, student] = tf.tidy(() => {
      const f = networks.get("frozen")!.forward!(image, { training: false }).features!;
      const s = networks.get("student")!.forward!(image, {
        training: true,
        rng: new RandomStream(0),
      }).features!;
      return [f[3].shape, s[3].shape];
    });
    // 64² crop × 0.5 = 32², stride 32 → 1×1 at the last stage (the full crop would give 2×2).
    assert.deepEqual(frozen.slice(0, 3), [1, 1, 1]);
    assert.deepEqual(student, frozen);
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("FLOPs: the teacher runs 8 more detail windows than a training pass, plus the step's sum", () => {
  const program = compile(tinyHrda);
  const architecture = segmentorArchitecture(tinyHrda);
  const input = { batch: program.data.batchSize, height: 64, width: 64 };
  const train = architectureFlops(architecture, input, "train");
  const teacher = architectureFlops(architecture, input, "eval");
  const plain = architectureFlops(segmentorArchitecture(tinyDaformer), {
    ...input,
    height: 32,
    width: 32,
  }, "train");
  assert.ok(Math.abs(teacher - train - 8 * plain) < 1e-6 * teacher, `${teacher} ${train} ${plain}`);
  // A training pass: the plain network on the context and on the detail crop (each 32² here),
  // plus the attention head, which costs less than a whole network.
  const attention = train - 2 * plain;
  assert.ok(attention > 0 && attention < plain, `${attention} ${plain}`);
  // The step: 2 training passes (×3 for the backward), the teacher's and the frozen encoder's.
  const frozen = architectureFlops(architecture, input, "encode");
  assert.ok(Math.abs(stepFlops(program) - (6 * train + teacher + frozen)) < 1e-6 * teacher);
});

Deno.test("plan lists the multi-resolution section and the teacher's windows", async () => {
  const plan = await formatPlan(compile(tinyHrda), "tiny_hrda");
  assert.match(
    plan,
    /HRDA: context crop × 0\.5, detail crop 32×32 \(offsets multiples of 8\), classwise scale attention masked to the box; loss 0\.9 fused \+ 0\.1 detail/,
  );
  assert.match(
    plan,
    /context crop \+ 9 detail windows of 32×32 at stride 16×16 over the 64×64 target crop/,
  );
  assert.match(plan, /64×64 windows at stride 32×32/);
});

Deno.test("a tiny HRDA run trains the scale attention, checkpoints it and resumes bit for bit", async () => {
  await ensureTinyEncoder();
  const experiment = tinyHrda;
  const { dir: whole } = await trainAndResume(compile(experiment), ".cache/test-hrda", 5);
  const last = await readCheckpoint(checkpointPath(whole, 12));
  const moments = last.file.tensors.get(
    "optimizer.decode_head.scale_attention.conv_seg.weight.exp_avg",
  );
  assert.ok(moments !== undefined, "the scale attention is optimised");
  assert.ok((moments.data as Float32Array).some((v) => v !== 0), "and receives gradients");
  assert.ok(last.file.tensors.has("teacher.decode_head.scale_attention.conv_seg.weight"));
  const weights = await readSafetensors(join(whole, "weights.safetensors"));
  assert.ok(weights.tensors.has("decode_head.scale_attention.conv_seg.weight"));
  assert.ok(weights.tensors.has("decode_head.head.conv_seg.weight"));
});

Deno.test("predict's lr and hr outputs: the context alone and the detail windows alone", async () => {
  const { networks, student } = await studentOf();
  try {
    const image = images(1, 64, 64, 6);
    const [lr, hr] = tf.tidy(() => {
      const out = student.forward!(image, { training: false }) as MultiResolutionOutputs;
      const full = (x: tf.Tensor4D) => tf.image.resizeBilinear(x, [64, 64], false, true);
      // One test window (the crop): lr = the context logits ×2 then ×4; hr = the detail canvas ×4.
      const context = full(tf.image.resizeBilinear(out.contextLogits, [16, 16], false, true));
      return [
        maxDifference(student.predict!(image, "lr"), context),
        maxDifference(student.predict!(image, "hr"), full(out.detailLogits)),
      ];
    });
    assert.ok(lr < 1e-4 && hr < 1e-4, `${lr} ${hr}`);
    assert.deepEqual(student.outputs, ["fused", "lr", "hr"]);
    assert.throws(() => student.predict!(image, "context"), /predicts fused, lr, hr/);
  } finally {
    disposeNetworks(networks);
  }
});

Deno.test("eval --hrda-out evaluates one prediction; the report draws the scale attention", async () => {
  const dir = join(".cache/test-hrda", "whole");
  // Written by the run test above.
  const report = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(report, /## Predictions \(image \| label \| prediction \| scale attention\)/);
  const picture = await Deno.readFile(join(dir, "pictures", "targetVal_0.png"));
  // PNG width (IHDR, big-endian at byte 16): four panels at the labels' native 512-px width
  // (the 128×64 test scale is the network's input only) and three 4-px gaps.
  const width = new DataView(picture.buffer).getUint32(16);
  assert.equal(width, 4 * 512 + 3 * 4);
  const results: Record<string, number> = {};
  for (const output of ["lr", "hr", "fused"]) {
    const json = join(".cache/test-hrda", `eval-${output}.json`);
    const out = await cli("eval", [dir, "--hrda-out", output, "--json", json]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`prediction ${output}\\)`));
    const summary = JSON.parse(await Deno.readTextFile(json));
    assert.equal(summary.output, output);
    results[output] = summary.results.targetVal.mIoU;
  }
  // The fused prediction is the one the run itself reported at the end.
  const metrics = (await reproducible(dir)) as { type: string; set?: string; mIoU?: number }[];
  const last = metrics.filter((r) => r.type === "eval" && r.set === "targetVal").at(-1)!;
  assert.ok(Math.abs(results.fused - last.mIoU!) < 1e-9, `${results.fused} ${last.mIoU}`);
  const bad = await cli("eval", [dir, "--hrda-out", "context"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /this model predicts fused, lr, hr/);
});

Deno.test("forward --hrda: exported HRDA weights load by name and give the network's own pass", async () => {
  const { networks, student } = await studentOf();
  const dir = await Deno.makeTempDir({ dir: ".cache" });
  try {
    await writeSafetensors(join(dir, "w.safetensors"), await exportTorchWeights(student.params));
    const nhwc = images(1, 64, 64, 8);
    const nchw = transposeArray(nhwc.dataSync() as Float32Array, [1, 64, 64, 3], [0, 3, 1, 2]);
    await writeSafetensors(join(dir, "in.safetensors"), [["image", {
      dtype: "float32",
      shape: [1, 3, 64, 64],
      data: nchw,
    }]]);
    const code = await forwardMain([
      "mit_nano+daformer",
      "--hrda",
      "--weights",
      join(dir, "w.safetensors"),
      "--input",
      join(dir, "in.safetensors"),
      "--output",
      join(dir, "out.safetensors"),
      "--channels",
      "16",
      "--backend",
      "cpu",
    ]);
    assert.equal(code, 0);
    const out = await readSafetensors(join(dir, "out.safetensors"));
    assert.deepEqual([...out.tensors.keys()].slice(0, 4), [
      "logits",
      "context_logits",
      "detail_logits",
      "attention",
    ]);
    const expected = tf.tidy(() => {
      const o = student.forward!(nhwc, { training: false }) as MultiResolutionOutputs;
      return transposeArray(o.logits.dataSync() as Float32Array, o.logits.shape, [0, 3, 1, 2]);
    });
    const logits = out.tensors.get("logits")!;
    assert.deepEqual(logits.shape, [1, 19, 16, 16]);
    const data = logits.data as Float32Array;
    assert.ok(data.every((v, i) => Math.abs(v - expected[i]) < 1e-4), "fused logits differ");
  } finally {
    disposeNetworks(networks);
    await Deno.remove(dir, { recursive: true });
  }
});
