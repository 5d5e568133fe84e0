import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { loadSample, type PipelineSpec } from "../../runtime/data/transforms/pipeline.ts";
import { SampleLoader } from "../../runtime/data/prefetch/loader.ts";
import { openSynthCitySequence } from "../../runtime/data/video/synthcity.ts";
import { warpBilinear } from "../../runtime/data/video/warp.ts";
import { disposeViews, toTensors } from "../../runtime/train/data.ts";
import { viewFromHost, viewToHost } from "../../runtime/train/lane_protocol.ts";

await useBackend("cpu");

const options = {
  domain: "real" as const,
  sequences: 2,
  frames: 6,
  seed: 4,
  width: 128,
  height: 64,
};
const spec = (pairs: boolean): PipelineSpec => ({
  resize: { kind: "none" },
  crop: { width: 96, height: 48 },
  catMaxRatio: 1,
  flip: 0.5,
  order: "random",
  pairs,
});

Deno.test("frame pairs load as frame t of the single-frame sample plus frame t−k and the flow", async () => {
  const source = openSynthCitySequence(options);
  for (const index of [0, 3, 7]) {
    const single = await loadSample(source, spec(false), 11, index);
    const pair = await loadSample(source, spec(true), 11, index);
    assert.deepEqual(pair.image, single.image, `sample ${index}`);
    assert.equal(pair.name, single.name);
    assert.equal(pair.previous!.length, pair.image.length);
    assert.equal(pair.flow!.length, 2 * 96 * 48);
    // The flow still maps frame t onto frame t−k after the crop and flip (exactly so in
    // pair_pipeline_test.ts): on valid pixels the warped previous frame is closer to frame t than
    // the previous frame itself (SynthCity's per-frame sensor noise keeps them apart).
    const warped = warpBilinear(pair.previous!, pair.flow!, 96, 48, 3);
    let [with_, without, n] = [0, 0, 0];
    for (let i = 0; i < 96 * 48; i++) {
      if (!pair.flowValid![i] || !warped.valid[i]) continue;
      for (let c = 0; c < 3; c++) {
        with_ += Math.abs(warped.values[3 * i + c] - pair.image[3 * i + c]);
        without += Math.abs(pair.previous![3 * i + c] - pair.image[3 * i + c]);
      }
      n++;
    }
    assert.ok(n > 1000 && with_ < 0.9 * without, `sample ${index}: ${with_ / n} vs ${without / n}`);
  }
  await assert.rejects(
    loadSample({ size: 1, get: source.get.bind(source) }, spec(true), 0, 0),
    /has no frame pairs/,
  );
});

Deno.test("a worker loader transfers the pair planes; views batch them and cross to a lane worker", async () => {
  const loader = await SampleLoader.open({
    source: {
      module: new URL("../../runtime/data/video/synthcity.ts", import.meta.url).href,
      exportName: "openSynthCitySequence",
      options,
    },
    pipeline: spec(true),
    seed: 5,
    workers: 1,
  });
  try {
    const samples = [await loader.get(0), await loader.get(1)];
    const inline = await loadSample(openSynthCitySequence(options), spec(true), 5, 1);
    assert.deepEqual(samples[1].previous, inline.previous);
    assert.deepEqual(samples[1].flow, inline.flow);
    const before = tf.memory().numTensors;
    const view = toTensors(samples, false);
    assert.deepEqual(view.previous!.shape, [2, 48, 96, 3]);
    assert.deepEqual(view.flow!.shape, [2, 48, 96, 2]);
    assert.deepEqual(view.flowValid!.shape, [2, 48, 96]);
    const copy = viewFromHost(viewToHost("target", view));
    assert.deepEqual(await copy.flow!.data(), await view.flow!.data());
    assert.deepEqual(await copy.previous!.data(), await view.previous!.data());
    assert.deepEqual(await copy.flowValid!.data(), await view.flowValid!.data());
    disposeViews(new Map([["target", view], ["source", copy]]));
    assert.equal(tf.memory().numTensors, before, "every plane disposed");
  } finally {
    loader.close();
  }
});
