import assert from "node:assert/strict";
import { buildScene, type Scene, type SceneObject } from "../../runtime/data/synthcity/scene.ts";
import {
  renderWithSurfaces,
  sceneFlow,
  type SurfaceFrame,
} from "../../runtime/data/synthcity/flow.ts";
import {
  SURFACE_BLOCKS,
  SURFACE_GROUND,
  SURFACE_SKY,
} from "../../runtime/data/synthcity/render.ts";
import { type Domain, generateSequence } from "../../runtime/data/synthcity/mod.ts";
import { warpBilinear, warpNearest } from "../../runtime/data/video/warp.ts";
import { openSynthCitySequence, synthCityPair } from "../../runtime/data/video/synthcity.ts";
import { agreement } from "./helpers.ts";

const W = 256;
const H = 128;
const SMALL = { width: 64, height: 32 };

function pair(scene: Scene, t: number, k: number, width = W, height = H) {
  const current = renderWithSurfaces(scene, t, width, height);
  const previous = renderWithSurfaces(scene, t - k, width, height);
  return { current, previous, ...sceneFlow(scene, current, previous) };
}

Deno.test("scene flow: a constructed lateral translation gives exactly the moved pixels", () => {
  // One car crossing at 0.25 m per frame, 11 m ahead, seen by a camera that stands still: with
  // width 100 the focal length is 110 px (version 2), 10 px per metre at 11 m, so over k = 2
  // frames the car moved 5 px right and its backward flow is exactly (−5, 0).
  const base = buildScene("game", 0, 0);
  const car: SceneObject = { ...base.objects[0], kind: "car", x: -1, z: 11, speed: 0 };
  const scene: Scene = {
    ...base,
    egoSpeed: 0,
    blocks: [],
    objects: [{ ...car, lateralSpeed: 0.25, scale: 1 }],
  };
  const { current, previous, flow, valid } = pair(scene, 4, 2, 100, 50);
  const carSurface = SURFACE_BLOCKS;
  let carPixels = 0;
  let occluded = 0;
  for (let i = 0; i < 100 * 50; i++) {
    if (current.surfaces[i] === carSurface) {
      carPixels++;
      assert.deepEqual([flow[2 * i], flow[2 * i + 1]], [-5, 0], `pixel ${i}`);
      assert.equal(valid[i], 1);
    } else {
      assert.deepEqual([flow[2 * i], flow[2 * i + 1]], [0, 0], `static pixel ${i}`);
      // Ground the car covered two frames ago is occluded there.
      if (previous.surfaces[i] === carSurface) assert.equal(valid[i], 0);
      if (!valid[i]) occluded++;
    }
  }
  assert.ok(carPixels > 100, `${carPixels} car pixels`);
  assert.ok(occluded > 10, `${occluded} occluded pixels`);
  const warped = warpNearest(previous.label, flow, 100, 50);
  assert.equal(agreement(warped.values, current.label, valid).fraction, 1);
});

Deno.test("scene flow: warping frame t−k's label reproduces frame t's on ≥ 99% of valid pixels", () => {
  // k < 0 pairs frame t with a later frame; the flow's convention is the same.
  const cases = [["real", 0, 1], ["real", 3, 3], ["game", 2, 2], ["synthia", 1, 4], [
    "real",
    2,
    -2,
  ]];
  for (const [domain, index, k] of cases as [Domain, number, number][]) {
    const scene = buildScene(domain, 0, index);
    const { current, previous, flow, valid } = pair(scene, 6, k);
    const validShare = valid.reduce((a, v) => a + v, 0) / valid.length;
    assert.ok(validShare > 0.6 && validShare < 1, `${domain} ${index}: ${validShare} valid`);
    const warped = warpNearest(previous.label, flow, W, H);
    const all = agreement(warped.values, current.label, valid);
    assert.ok(all.fraction >= 0.99, `${domain} ${index} k=${k}: ${all.fraction}`);
    // Without the flow, the same pixels agree much less: the test can tell a wrong flow.
    const still = warpNearest(previous.label, new Float32Array(W * H * 2), W, H);
    assert.ok(agreement(still.values, current.label, valid).fraction < all.fraction - 0.02);
  }
});

Deno.test("scene flow: the warped image of frame t−k is close to frame t", () => {
  const scene = buildScene("game", 0, 3);
  const { current, previous, flow, valid } = pair(scene, 6, 2);
  const mae = (f: Float32Array) => {
    const w = warpBilinear(previous.image, f, W, H, 3);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < W * H; i++) {
      if (!valid[i] || !w.valid[i]) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(w.values[3 * i + c] - current.image[3 * i + c]);
      n += 3;
    }
    return sum / n;
  };
  const exact = mae(flow);
  const none = mae(new Float32Array(W * H * 2));
  assert.ok(exact < 9 && exact < 0.5 * none, `MAE ${exact} with the flow, ${none} without`);
});

/** Where frame t's pixel centre (u, v) on a plane lies in frame s, by casting its ray. */
function castAndProject(
  scene: Scene,
  t: number,
  s: number,
  u: number,
  v: number,
  plane: "ground" | number,
) {
  const f = W * scene.geometry.focal;
  const cx = W / 2;
  const h = scene.horizon * H;
  const dir = [(u - cx) / f, -(v - h) / f, 1];
  const origin = [0, scene.cameraHeight, t * scene.egoSpeed];
  const lambda = plane === "ground" ? scene.cameraHeight / -dir[1] : plane / dir[0];
  const p = origin.map((o, i) => o + lambda * dir[i]);
  const depth = p[2] - s * scene.egoSpeed;
  return [cx + (f * p[0]) / depth, h + (f * (scene.cameraHeight - p[1])) / depth];
}

Deno.test("scene flow: static surfaces move exactly as the camera's motion alone predicts", () => {
  const scene = buildScene("real", 0, 1);
  const t = 7;
  const s = 4;
  const { current, flow } = pair(scene, t, t - s);
  const counts = { sky: 0, ground: 0, block: 0 };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const surface = current.surfaces[i];
      const got = [x + 0.5 + flow[2 * i], y + 0.5 + flow[2 * i + 1]];
      if (surface === SURFACE_SKY) {
        counts.sky++;
        assert.deepEqual(got, [x + 0.5, y + 0.5]);
        continue;
      }
      const b = surface - SURFACE_BLOCKS;
      const plane = surface === SURFACE_GROUND
        ? "ground"
        : b < scene.blocks.length
        ? scene.blocks[b].side * scene.blocks[b].x
        : undefined;
      if (plane === undefined) continue;
      counts[plane === "ground" ? "ground" : "block"]++;
      const want = castAndProject(scene, t, s, x + 0.5, y + 0.5, plane);
      assert.ok(
        Math.abs(got[0] - want[0]) < 1e-3 && Math.abs(got[1] - want[1]) < 1e-3,
        `${x},${y}`,
      );
    }
  }
  assert.ok(counts.sky > 500 && counts.ground > 5000 && counts.block > 500, JSON.stringify(counts));
});

/** Frame t's pixels showing objects that move (speed or lateral speed ≠ 0). */
function movingMask(scene: Scene, frame: SurfaceFrame): Uint8Array {
  const first = SURFACE_BLOCKS + scene.blocks.length;
  return frame.surfaces.map((id) => {
    const o = scene.objects[id - first];
    return id >= first && o !== undefined && (o.speed !== 0 || o.lateralSpeed !== 0) ? 1 : 0;
  }) as unknown as Uint8Array;
}

Deno.test("scene flow: moving objects need their own motion, camera motion alone misplaces them", () => {
  // Scene 5 has cars and riders moving in its lanes; label agreement on pixels of moving
  // objects separates the exact flow from camera-only flow there.
  const scene = buildScene("real", 0, 5);
  const { current, previous, flow, valid } = pair(scene, 8, 3);
  const still: Scene = {
    ...scene,
    objects: scene.objects.map((o) => ({ ...o, speed: 0, lateralSpeed: 0 })),
  };
  const cameraOnly = sceneFlow(still, current, previous);
  const moving = movingMask(scene, current);
  const mask = moving.map((m, i) => m & valid[i] & cameraOnly.valid[i]);
  const exact = agreement(warpNearest(previous.label, flow, W, H).values, current.label, mask);
  const camera = agreement(
    warpNearest(previous.label, cameraOnly.flow, W, H).values,
    current.label,
    mask,
  );
  assert.ok(exact.n > 300, `${exact.n} moving-object pixels`);
  assert.ok(exact.fraction >= 0.97, `exact ${exact.fraction}`);
  assert.ok(camera.fraction < exact.fraction - 0.1, `camera only ${camera.fraction}`);
});

Deno.test("SynthCity sequences: pairs are generateSequence's frames with their exact flow", async () => {
  const dataset = openSynthCitySequence({
    domain: "real",
    sequences: 2,
    frames: 6,
    offset: 2,
    seed: 1,
    width: 64,
    height: 32,
  });
  assert.equal(dataset.size, 2 * 4);
  assert.equal(dataset.offset, 2);
  assert.ok(dataset.hasFlow);
  const frames = generateSequence("real", 1, 1, 6, 64, 32);
  const p = await dataset.getPair(5); // sequence 1, frame 2 + 5 mod 4 = 3
  assert.equal(p.name, "synthcity/real/s1/seq1/3");
  assert.equal(p.previous.name, "synthcity/real/s1/seq1/1");
  assert.deepEqual(p.image, frames[3].image);
  assert.deepEqual(p.label, frames[3].label);
  assert.deepEqual(p.previous.image, frames[1].image);
  assert.equal(p.flow?.length, 64 * 32 * 2);
  assert.deepEqual(
    p,
    synthCityPair({
      domain: "real",
      seed: 1,
      sequence: 1,
      frame: 3,
      offset: 2,
      width: 64,
      height: 32,
    }),
  );
  const single = await dataset.get(5);
  assert.deepEqual(single.image, p.image);
  assert.deepEqual((await dataset.getLabel(5)).label, p.label);
  assert.throws(
    () => openSynthCitySequence({ domain: "real", sequences: 1, frames: 2, offset: 2 }),
    /no pair/,
  );
  assert.throws(
    () => openSynthCitySequence({ domain: "real", sequences: 1, offset: 0 }),
    /nonzero integer/,
  );
  assert.throws(() => dataset.getPair(8), RangeError);
  // A negative offset pairs frame t with the later frame t + 2.
  const ahead = openSynthCitySequence({
    domain: "real",
    sequences: 1,
    frames: 6,
    offset: -2,
    ...SMALL,
  });
  assert.equal(ahead.size, 4);
  const first = await ahead.getPair(0);
  assert.equal(first.name, "synthcity/real/s0/seq0/0");
  assert.equal(first.previous.name, "synthcity/real/s0/seq0/2");
  assert.equal(first.offset, -2);
});
