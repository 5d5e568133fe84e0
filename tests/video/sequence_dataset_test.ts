import { strict as assert } from "node:assert";
import { extend, synthCitySequence } from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { SampleLoader } from "../../runtime/data/prefetch/loader.ts";
import { loadEvalSet } from "../../runtime/eval/evaluate.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";
import { ensureTinyEncoder } from "../fixtures/encoder.ts";
import { trainAndResume } from "../train/helpers.ts";
import { tinyVideoTarget } from "../fixtures/tiny_video.ts";

const videoDaformer = extend(tinyDaformer, {
  data: {
    target: tinyVideoTarget,
    targetVal: synthCitySequence({
      domain: "real",
      sequences: 1,
      frames: 3,
      seed: 1000,
      scale: [128, 64],
    }),
  },
});

Deno.test("synthCitySequence: frames as a dataset; its loader gives pairs when a module asks", async () => {
  await useBackend("cpu");
  const program = compile(videoDaformer);
  const target = program.data.train.find((d) => d.role === "target")!;
  const frames = await SampleLoader.open({
    source: target.source,
    pipeline: target.pipeline,
    seed: 1,
    workers: 0,
  });
  const pairs = await SampleLoader.open({
    source: target.source,
    pipeline: { ...target.pipeline, pairs: true },
    seed: 1,
    workers: 0,
  });
  try {
    // 2 sequences × (5 − 1) frames that have a frame t−1.
    assert.equal(frames.size, 8);
    const [a, b] = [await frames.get(3), await pairs.get(3)];
    assert.deepEqual(b.image, a.image, "frame t is the same sample either way");
    assert.equal(a.previous, undefined);
    assert.equal(b.previous!.length, 64 * 64 * 3);
    assert.equal(b.flow!.length, 64 * 64 * 2);
  } finally {
    frames.close();
    pairs.close();
  }
  const val = await loadEvalSet(program.evaluation.sets.find((s) => s.role === "targetVal")!);
  assert.equal(val.images.length, 2);
  assert.equal(val.images[0].inputWidth, 128);
});

Deno.test("synthCitySequence: bad offsets name the field", () => {
  assert.throws(
    () =>
      compile(extend(videoDaformer, {
        data: { target: { offset: 5 } },
      })),
    /data\.target\.offset: the offset k pairs frame t with frame t−k/,
  );
});

Deno.test({
  name: "a tiny DAFormer trains on SynthCity sequences and resumes bit for bit",
  sanitizeResources: false,
  async fn() {
    await useBackend("wasm");
    await ensureTinyEncoder();
    const program = compile(
      extend(videoDaformer, { run: { iterations: 4 }, evaluation: { every: 4 } }),
    );
    const { records } = await trainAndResume(program, ".cache/test-video-daformer", 2);
    const evals = records.filter((r) => r.type === "eval") as unknown as {
      set: string;
      mIoU: number;
    }[];
    const last = evals.filter((r) => r.set === "targetVal").at(-1);
    assert.ok(last !== undefined && Number.isFinite(last.mIoU), JSON.stringify(evals));
  },
});
