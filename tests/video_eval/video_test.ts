/**
 * Video evaluation (`runtime/eval/video.ts`): per-frame and sequence mIoU on a hand-made
 * two-frame example, and temporal consistency on constructed maps with integer translation
 * flows, half-pixel rounding, masked and out-of-view pixels, the per-class breakdown and merging.
 */
import { strict as assert } from "node:assert";
import { ConfusionMatrix } from "../../runtime/eval/confusion.ts";
import {
  type PredictionPair,
  sequenceMetrics,
  TemporalConsistency,
  temporalConsistency,
} from "../../runtime/eval/video.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

/** A flow field with the same displacement at every pixel. */
function translation(width: number, height: number, dx: number, dy: number): Float32Array {
  const flow = new Float32Array(width * height * 2);
  for (let i = 0; i < width * height; i++) flow.set([dx, dy], 2 * i);
  return flow;
}

Deno.test("per-frame mIoU and the summed sequence mIoU of two hand-made frames", () => {
  // Frame A: a road (0) pixel predicted as car (13), and a wall (3) pixel predicted as road.
  // road I 1, gt 2, pred 2 → 1/3; car I 1, gt 1, pred 2 → 1/2; wall I 0, gt 1 → 0.
  const a = new ConfusionMatrix(19).update([0, 13, 13, 0], [0, 0, 13, 3]);
  // Frame B: the car prediction lies on an ignored pixel, so car is absent (NaN).
  // road I 1, gt 1, pred 2 → 1/2; sky (10) I 1, gt 2, pred 1 → 1/2.
  const b = new ConfusionMatrix(19).update([0, 13, 10, 0], [0, 255, 10, 10]);
  const eleven = sequenceMetrics([a, b], "11");
  assert.equal(eleven.protocol, "11");
  // Wall is not an 11-class class: frame A = (1/3 + 1/2) / 2, frame B = (1/2 + 1/2) / 2.
  assert.equal(eleven.frameMIoU.length, 2);
  close(eleven.frameMIoU[0], 5 / 12);
  close(eleven.frameMIoU[1], 1 / 2);
  close(eleven.meanFrameMIoU, 11 / 24);
  // Summed: road I 2, gt 3, pred 4 → 2/5; car 1/2; sky 1/2 → 7/15, not the frame mean.
  close(eleven.mIoU, 7 / 15);
  close(eleven.metrics.iou["road"]!, 2 / 5);
  assert.equal(eleven.metrics.pixels, 7);
  assert.equal(eleven.confusion.counts[0 * 19 + 0], 2);
  // Under 19 classes wall counts: frame A = (1/3 + 1/2 + 0) / 3.
  const all = sequenceMetrics([a, b], "19");
  close(all.frameMIoU[0], 5 / 18);
  close(all.mIoU, (2 / 5 + 1 / 2 + 1 / 2 + 0) / 4);
  // The inputs are left as they were.
  assert.equal(a.counts[0], 1);
  assert.throws(() => sequenceMetrics([]), /at least one frame/);
  assert.throws(() => sequenceMetrics([a, new ConfusionMatrix(4)]), /class counts differ/);
});

Deno.test("a frame without any protocol class has NaN mIoU and is left out of the frame mean", () => {
  const car = new ConfusionMatrix(19).update([13, 13], [13, 13]);
  const fence = new ConfusionMatrix(19).update([4], [4]);
  const result = sequenceMetrics([car, fence], "11");
  assert.equal(result.frameMIoU[0], 1);
  assert.ok(Number.isNaN(result.frameMIoU[1]));
  assert.equal(result.meanFrameMIoU, 1);
});

/**
 * Frame t on a 4×3 grid, and frame t+1 after the scene moved one pixel right: flow dx = −1
 * (pixel (x, y) of frame t+1 was at (x − 1, y)), so column 0 has no source. Frame t+1 departs
 * from the moved frame t at (2, 0) and (3, 2); the mask drops (3, 1), where they would agree.
 */
function movedRight(): PredictionPair {
  const width = 4;
  const height = 3;
  // deno-fmt-ignore
  const previous = Uint8Array.from([
    0, 0, 1, 1,
    2, 2, 3, 3,
    4, 4, 5, 5,
  ]);
  // deno-fmt-ignore
  const current = Uint8Array.from([
    9, 0, 1, 1,
    2, 2, 2, 3,
    4, 4, 4, 4,
  ]);
  const flowValid = new Uint8Array(width * height).fill(1);
  flowValid[1 * width + 3] = 0;
  return { previous, current, flow: translation(width, height, -1, 0), flowValid, width, height };
}

Deno.test("temporal consistency of a one-pixel translation counts only valid pixels", () => {
  const r = temporalConsistency(movedRight());
  // Counted: columns 1–3 of 3 rows = 9, minus the masked (3, 1) = 8.
  // Agreeing: row 0 at x = 1, 3; row 1 at x = 1, 2; row 2 at x = 1, 2 → 6.
  assert.equal(r.pixels, 8);
  assert.equal(r.agreeing, 6);
  assert.equal(r.share, 6 / 8);
  assert.equal(r.protocol, "19");
});

Deno.test("the per-class breakdown is by the class of frame t+1's prediction", () => {
  const r = temporalConsistency(movedRight());
  // road (0): (1, 0) agrees → 1. sidewalk (1): (2, 0) no, (3, 0) yes → 1/2.
  // building (2): (1, 1), (2, 1) agree → 1. wall (3): only at the masked pixel → null.
  // fence (4): (1, 2), (2, 2) agree, (3, 2) not → 2/3. pole (5): not predicted in t+1 → null.
  // terrain (9): only in column 0, which has no source → null.
  assert.equal(r.perClass["road"], 1);
  assert.equal(r.perClass["sidewalk"], 1 / 2);
  assert.equal(r.perClass["building"], 1);
  assert.equal(r.perClass["wall"], null);
  close(r.perClass["fence"]!, 2 / 3);
  assert.equal(r.perClass["pole"], null);
  assert.equal(r.perClass["terrain"], null);
  assert.equal(Object.keys(r.perClass).length, 19);
  close(r.classMean, (1 + 1 / 2 + 1 + 2 / 3) / 4);
  // Under the 11-class protocol fence drops out of the table and the class mean, not the share.
  const eleven = temporalConsistency(movedRight(), { protocol: "11" });
  assert.equal(eleven.share, 6 / 8);
  assert.equal("fence" in eleven.perClass, false);
  assert.equal(Object.keys(eleven.perClass).length, 11);
  close(eleven.classMean, (1 + 1 / 2 + 1) / 3);
});

Deno.test("the warp takes the nearest source pixel, round(x + dx), and drops pixels out of view", () => {
  const width = 4;
  // With rounding the sources are pixels 0, 2, 2 and (3.6 → 4) outside; truncating would read
  // pixels 0, 1, 1, 3 and disagree at two of them.
  const pair: PredictionPair = {
    previous: Int32Array.from([0, 1, 2, 3]),
    current: Int32Array.from([0, 2, 2, 3]),
    flow: Float32Array.from([0.4, 0, 0.6, 0, -0.4, 0, 0.6, 0]),
    flowValid: new Uint8Array(width).fill(1),
    width,
    height: 1,
  };
  const r = temporalConsistency(pair);
  assert.equal(r.pixels, 3);
  assert.equal(r.share, 1);
});

Deno.test("pairs accumulate pixel-weighted, merge, and fail on bad input", () => {
  // A 2×2 pair moved up: flow dy = +1, so row 0 reads row 1 of frame t and row 1 is out of view.
  // Row 0: class 2 on 2 (agrees), class 0 on 3 (disagrees).
  const up: PredictionPair = {
    previous: Uint8Array.from([0, 1, 2, 3]),
    current: Uint8Array.from([2, 0, 1, 1]),
    flow: translation(2, 2, 0, 1),
    flowValid: new Uint8Array(4).fill(1),
    width: 2,
    height: 2,
  };
  const both = new TemporalConsistency(19).update(movedRight()).update(up).result();
  // 8 + 2 pixels, 6 + 1 agreeing; road 1 of 2, building 2 + 1 of 3.
  assert.equal(both.pixels, 10);
  assert.equal(both.share, 7 / 10);
  assert.equal(both.perClass["road"], 1 / 2);
  assert.equal(both.perClass["building"], 1);
  const merged = new TemporalConsistency(19).update(movedRight())
    .merge(new TemporalConsistency(19).update(up));
  assert.deepEqual(merged.result(), both);
  // Nothing counted: NaN share, every class null.
  const none = temporalConsistency({ ...up, flowValid: new Uint8Array(4) });
  assert.equal(none.pixels, 0);
  assert.ok(Number.isNaN(none.share) && Number.isNaN(none.classMean));
  assert.ok(Object.values(none.perClass).every((v) => v === null));
  assert.throws(
    () => temporalConsistency({ ...up, current: Uint8Array.from([2, 0, 1, 19]) }),
    /frame t\+1 predicts 19 at pixel 3/,
  );
  assert.throws(() => temporalConsistency({ ...up, flowValid: new Uint8Array(3) }), /4 pixels/);
  assert.throws(() => new TemporalConsistency(19).merge(new TemporalConsistency(4)), /classes/);
});
