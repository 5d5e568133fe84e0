import assert from "node:assert/strict";
import { warpBilinear, warpNearest } from "../../runtime/data/video/warp.ts";

// A 4×3 frame t−k. Labels 0..11 row by row; a float image that is not linear in x or y, so a
// bilinear warp really mixes four different pixels.
const W = 4;
const H = 3;
const LABELS = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
const IMAGE = Float32Array.from([0, 10, 40, 90, 100, 120, 160, 220, 50, 30, 20, 0]);

/** The same flow (dx, dy) at every pixel. */
function uniform(dx: number, dy: number): Float32Array {
  const flow = new Float32Array(W * H * 2);
  for (let i = 0; i < W * H; i++) {
    flow[2 * i] = dx;
    flow[2 * i + 1] = dy;
  }
  return flow;
}

Deno.test("warpNearest: an integer translation moves labels exactly, 255 where the source is outside", () => {
  // Backward flow (+1, −1): pixel (x, y) of frame t shows what was at (x + 1, y − 1).
  const { values, valid } = warpNearest(LABELS, uniform(1, -1), W, H);
  assert.deepEqual([...values], [255, 255, 255, 255, 1, 2, 3, 255, 5, 6, 7, 255]);
  assert.deepEqual([...valid], [0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0]);
  assert.ok(values instanceof Uint8Array);
});

Deno.test("warpNearest: sub-pixel flow takes the nearest source pixel, halves rounding up", () => {
  // floor(x + 0.4 + 0.5) = x and floor(y + 0.6 + 0.5) = y + 1.
  const down = warpNearest(LABELS, uniform(0.4, 0.6), W, H);
  assert.deepEqual([...down.values], [4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255]);
  // floor(x − 0.6 + 0.5) = x − 1.
  const left = warpNearest(LABELS, uniform(-0.6, 0), W, H);
  assert.deepEqual([...left.values], [255, 0, 1, 2, 255, 4, 5, 6, 255, 8, 9, 10]);
  // Exactly half a pixel: +0.5 reads the next pixel, −0.5 the pixel itself.
  assert.deepEqual(
    [...warpNearest(LABELS, uniform(0.5, 0), W, H).values],
    [1, 2, 3, 255, 5, 6, 7, 255, 9, 10, 11, 255],
  );
  assert.deepEqual([...warpNearest(LABELS, uniform(-0.5, 0), W, H).values], [...LABELS]);
});

Deno.test("warpNearest: channels move together, Int32 values keep their type and the fill", () => {
  const pairs = new Int32Array(W * H * 2);
  for (let i = 0; i < W * H; i++) {
    pairs[2 * i] = 1000 + i;
    pairs[2 * i + 1] = -i;
  }
  const { values, valid } = warpNearest(pairs, uniform(-1, 0), W, H, 2, -7);
  assert.ok(values instanceof Int32Array);
  assert.deepEqual([...values], [
    -7,
    -7,
    1000,
    0,
    1001,
    -1,
    1002,
    -2,
    -7,
    -7,
    1004,
    -4,
    1005,
    -5,
    1006,
    -6,
    -7,
    -7,
    1008,
    -8,
    1009,
    -9,
    1010,
    -10,
  ]);
  assert.deepEqual([...valid], [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
});

Deno.test("warpBilinear: an integer translation is exact", () => {
  const { values, valid } = warpBilinear(IMAGE, uniform(1, -1), W, H);
  assert.deepEqual([...values], [0, 0, 0, 0, 10, 40, 90, 0, 120, 160, 220, 0]);
  assert.deepEqual([...valid], [0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0]);
});

Deno.test("warpBilinear: a sub-pixel translation gives the hand-computed values", () => {
  // Source (x + 0.25, y + 0.5): weights 0.375, 0.125, 0.375, 0.125 on the four neighbours, e.g.
  // pixel (0, 0) = 0.375·0 + 0.125·10 + 0.375·100 + 0.125·120 = 53.75. Column 3 and row 2
  // would read beyond the last pixel centre: invalid, 0.
  const { values, valid } = warpBilinear(IMAGE, uniform(0.25, 0.5), W, H);
  assert.deepEqual([...values], [53.75, 73.75, 113.75, 0, 75, 78.75, 95, 0, 0, 0, 0, 0]);
  assert.deepEqual([...valid], [1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
});

Deno.test("warpBilinear: RGB channels are interpolated alike; uint8 images are accepted", () => {
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    rgb[3 * i] = IMAGE[i];
    rgb[3 * i + 1] = 255 - IMAGE[i];
    rgb[3 * i + 2] = 7;
  }
  const { values } = warpBilinear(rgb, uniform(0.25, 0.5), W, H, 3);
  assert.deepEqual([values[0], values[1], values[2]], [53.75, 255 - 53.75, 7]);
  assert.deepEqual([values[12], values[13], values[14]], [75, 180, 7]);
});

Deno.test("warps: non-finite flow is invalid, and mismatched sizes are refused", () => {
  const flow = uniform(0, 0);
  flow[0] = NaN;
  flow[3] = Infinity;
  const nearest = warpNearest(LABELS, flow, W, H);
  assert.deepEqual([...nearest.valid.slice(0, 3)], [0, 0, 1]);
  assert.equal(nearest.values[0], 255);
  const bilinear = warpBilinear(IMAGE, flow, W, H);
  assert.deepEqual([...bilinear.valid.slice(0, 3)], [0, 0, 1]);
  assert.throws(() => warpNearest(LABELS, new Float32Array(4), W, H), /expected 12 values/);
  assert.throws(() => warpBilinear(IMAGE, uniform(0, 0), W, H, 2), /4×3×2/);
});
