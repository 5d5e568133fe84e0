import { strict as assert } from "node:assert";
import { RandomStream } from "../../runtime/random.ts";
import { applyPipeline, type PipelineSpec } from "../../runtime/data/transforms/pipeline.ts";
import { applyPairPipeline } from "../../runtime/data/video/pair_pipeline.ts";
import { warpBilinear } from "../../runtime/data/video/warp.ts";
import type { FramePair } from "../../runtime/data/video/pairs.ts";

/** A textured 40×24 frame t, frame t−k = frame t shifted by (dx, dy) = (4, 2), and its flow. */
function shiftedPair(labelled: boolean): FramePair {
  const [width, height, dx, dy] = [40, 24, 4, 2];
  const rng = new RandomStream(3);
  // Frame t−k is a wider texture; frame t shows it offset by (dx, dy): pixel p of frame t is
  // pixel p + (dx, dy) of frame t−k, so the backward flow is (dx, dy) wherever that is inside.
  const texture = Uint8Array.from({ length: width * height * 3 }, () => rng.int(256));
  const image = new Uint8Array(width * height * 3);
  const flow = new Float32Array(width * height * 2);
  const valid = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const [sx, sy] = [x + dx, y + dy];
      const inside = sx < width && sy < height;
      for (let c = 0; c < 3; c++) {
        image[3 * i + c] = inside ? texture[(sy * width + sx) * 3 + c] : 0;
      }
      flow[2 * i] = dx;
      flow[2 * i + 1] = dy;
      valid[i] = inside ? 1 : 0;
    }
  }
  const label = labelled
    ? Uint8Array.from({ length: width * height }, (_, i) => (i % width < 20 ? 0 : 1 + (i % 3)))
    : undefined;
  return {
    image,
    label,
    width,
    height,
    channels: 3,
    name: "shifted",
    offset: 1,
    previous: { image: texture, name: "shifted t-1" },
    flow,
    flowValid: valid,
  };
}

const spec = (flip: number): PipelineSpec => ({
  resize: { kind: "exact", width: 20, height: 12 },
  crop: { width: 16, height: 8 },
  catMaxRatio: 0.75,
  flip,
});

Deno.test("pair pipeline: frame t is exactly the single-frame pipeline's sample (same draws)", () => {
  const pair = shiftedPair(true);
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    for (const flip of [0, 0.5, 1]) {
      const single = applyPipeline(pair, spec(flip), new RandomStream(seed));
      const both = applyPairPipeline(pair, spec(flip), new RandomStream(seed));
      assert.deepEqual(both.image, single.image, `seed ${seed} flip ${flip}`);
      assert.deepEqual(both.label, single.label);
      assert.equal(both.width, 16);
      assert.equal(both.height, 8);
    }
  }
});

Deno.test("pair pipeline: after resize ×½, crop and flip the flow still maps frame t onto frame t−k", () => {
  const pair = shiftedPair(false);
  for (const [seed, flip] of [[0, 0], [1, 1], [2, 1], [3, 0]] as const) {
    const out = applyPairPipeline(pair, spec(flip), new RandomStream(seed));
    const { width, height } = out;
    // ×½ halves the displacement; a flip negates dx.
    for (let i = 0; i < width * height; i++) {
      if (!out.flowValid![i]) continue;
      assert.deepEqual([out.flow![2 * i], out.flow![2 * i + 1]], [flip ? -2 : 2, 1]);
    }
    const warped = warpBilinear(out.previous, out.flow!, width, height, 3);
    let checked = 0;
    for (let i = 0; i < width * height; i++) {
      if (!out.flowValid![i] || !warped.valid[i]) continue;
      // Inside the picture (not its resampled border), the warped frame t−k is frame t exactly.
      const [x, y] = [i % width, Math.floor(i / width)];
      if (x < 1 || x >= width - 3 || y < 1 || y >= height - 2) continue;
      for (let c = 0; c < 3; c++) {
        assert.ok(
          Math.abs(warped.values[3 * i + c] - out.image[3 * i + c]) < 1e-5,
          `seed ${seed} pixel ${x},${y}`,
        );
      }
      checked++;
    }
    assert.ok(checked > 20, `only ${checked} pixels compared`);
  }
});

Deno.test("pair pipeline: padding is invalid flow; a pair without flow has none", () => {
  const pair = shiftedPair(false);
  const padded = applyPairPipeline(
    pair,
    {
      resize: { kind: "exact", width: 10, height: 6 },
      crop: { width: 12, height: 8 },
      catMaxRatio: 1,
      flip: 0,
    },
    new RandomStream(0),
  );
  assert.equal(padded.width, 12);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 12; x++) {
      if (x >= 10 || y >= 6) assert.equal(padded.flowValid![y * 12 + x], 0, `${x},${y}`);
    }
  }
  // Where frame t shows what lies outside frame t−k the flow stays invalid: after ×½ (nearest,
  // source ⌊2x⌋) the columns x ≥ 18 and the row y ≥ 11 of the 20×12 frame.
  const whole = applyPairPipeline(
    pair,
    {
      resize: { kind: "exact", width: 20, height: 12 },
      crop: { width: 20, height: 12 },
      catMaxRatio: 1,
      flip: 0,
    },
    new RandomStream(0),
  );
  for (let i = 0; i < 240; i++) {
    const [x, y] = [i % 20, Math.floor(i / 20)];
    assert.equal(whole.flowValid![i], x >= 18 || y >= 11 ? 0 : 1, `${x},${y}`);
  }
  const { flow: _flow, flowValid: _valid, ...withoutFlow } = pair;
  const bare = applyPairPipeline(withoutFlow, spec(0.5), new RandomStream(1));
  assert.equal(bare.flow, undefined);
  assert.equal(bare.previous.length, bare.image.length);
});
