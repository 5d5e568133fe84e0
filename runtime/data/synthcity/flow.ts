/**
 * Exact optical flow between two frames of a SynthCity sequence, from the scene geometry the
 * renderer draws (`render.ts`), not estimated from pixels.
 *
 * Convention (the one every video module of UDA-Lab uses, `runtime/data/video/`): the flow of
 * the pair (t, s), usually s = t − k, is **backward flow**. For each pixel p = (x, y) of frame t it
 * holds the displacement (dx, dy), in pixels, to the position in frame s of the scene point p shows:
 * that point is at (x + dx, y + dy) in frame s, in the same pixel-index coordinates (pixel (x, y)
 * covers [x, x + 1) × [y, y + 1), so whole displacements move pixel centres onto pixel centres).
 * Stored as float32, interleaved `[H, W, 2]` (dx at `2·(y·W + x)`, dy after it), as a `.flo` file
 * stores (u, v). `valid` is 1 where the point is visible in frame s: in view (its nearest pixel
 * lies inside the image) and not occluded (that pixel shows the same surface). Warping frame s
 * with this flow (`runtime/data/video/warp.ts`) reproduces frame t on valid pixels.
 *
 * Geometry, as `renderScene` draws it: a pinhole camera at height `cameraHeight`, looking along z,
 * focal length `geometry.focal × width` pixels, principal point (W/2, horizon · H), driving forward
 * `egoSpeed` metres per frame without rotating. The ground is the plane y = 0, side blocks are
 * vertical planes x = ±x_b, and every object is a flat figure facing the camera at its depth, moving
 * `speed` forward and `lateralSpeed` sideways per frame; the sky is at infinity. So each pixel's
 * scene point follows from its surface (recorded by the renderer), its depth, and the motion.
 *
 * @module
 */
import type { Scene } from "./scene.ts";
import { type Frame, renderScene, SURFACE_BLOCKS, SURFACE_GROUND, SURFACE_SKY } from "./render.ts";

/** A rendered frame with the surface id of every pixel (`render.ts`: `SURFACE_SKY`, ...). */
export interface SurfaceFrame extends Frame {
  /** The frame index rendered. */
  frame: number;
  /** Surface ids, H×W. */
  surfaces: Int32Array;
}

/** Backward optical flow with its validity (see the module documentation for the convention). */
export interface OpticalFlow {
  /** Displacements (dx, dy) in pixels, interleaved H×W×2. */
  flow: Float32Array;
  /** 1 where the point is visible in the other frame, 0 where it is out of view or occluded. */
  valid: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Renders frame `frame` of `scene` and records which surface each pixel shows. */
export function renderWithSurfaces(
  scene: Scene,
  frame: number,
  width: number,
  height: number,
): SurfaceFrame {
  const surfaces = new Int32Array(width * height).fill(-1);
  return { ...renderScene(scene, frame, width, height, surfaces), frame, surfaces };
}

/** The camera of one frame: what `renderScene` computes at its start. */
interface Camera {
  focal: number;
  cx: number;
  horizon: number;
  height: number;
  z: number;
}

function camera(scene: Scene, frame: number, width: number, height: number): Camera {
  return {
    focal: width * scene.geometry.focal,
    cx: width / 2,
    horizon: scene.horizon * height,
    height: scene.cameraHeight,
    z: frame * scene.egoSpeed,
  };
}

/** Where a pixel centre (u, v) of frame t lies in frame s, and its depth there (≤ 0: behind). */
type Mapping = (u: number, v: number) => { u: number; v: number; depth: number };

/** A static point at depth `depth` in frame t: pure camera translation scales about the horizon. */
function cameraOnly(t: Camera, s: Camera, u: number, v: number, depth: number) {
  if (!(depth > 0)) return { u, v, depth: -1 }; // a ray that misses its plane: no point
  const there = depth + t.z - s.z;
  const ratio = depth / there;
  return { u: t.cx + (u - t.cx) * ratio, v: t.horizon + (v - t.horizon) * ratio, depth: there };
}

/** How each surface's pixels move from frame t (camera `ct`) to frame s (camera `cs`). */
function surfaceMapping(
  scene: Scene,
  surface: number,
  t: number,
  s: number,
  ct: Camera,
  cs: Camera,
): Mapping {
  if (surface === SURFACE_SKY) return (u, v) => ({ u, v, depth: Infinity });
  if (surface === SURFACE_GROUND) {
    // A ground pixel's row gives its depth: the ray meets y = 0 at f·h / (v − horizon).
    return (u, v) => cameraOnly(ct, cs, u, v, (ct.focal * ct.height) / (v - ct.horizon));
  }
  const b = surface - SURFACE_BLOCKS;
  if (b < scene.blocks.length) {
    // A facade pixel's column gives its depth: the ray meets the plane x = X at f·X / (u − cx).
    const x = scene.blocks[b].side * scene.blocks[b].x;
    return (u, v) => cameraOnly(ct, cs, u, v, (ct.focal * x) / (u - ct.cx));
  }
  const o = scene.objects[b - scene.blocks.length];
  // A flat figure at depth z, anchored at its ground point: frame s sees it moved and rescaled.
  const at = (c: Camera, frame: number) => {
    const z = o.z + o.speed * frame - c.z;
    const x = o.x + o.lateralSpeed * frame;
    return { z, sx: c.cx + (c.focal * x) / z, ground: c.horizon + (c.focal * c.height) / z };
  };
  const here = at(ct, t);
  const there = at(cs, s);
  const ratio = here.z / there.z;
  return (u, v) => ({
    u: there.sx + (u - here.sx) * ratio,
    v: there.ground + (v - here.ground) * ratio,
    depth: there.z,
  });
}

/**
 * The exact backward flow from `current` (frame t) to `reference` (frame s) of `scene`, both
 * rendered by {@linkcode renderWithSurfaces} at the same size. Pixels whose point is behind the
 * camera in frame s get displacement 0; other invalid pixels keep their geometric displacement.
 */
export function sceneFlow(
  scene: Scene,
  current: SurfaceFrame,
  reference: SurfaceFrame,
): OpticalFlow {
  const { width, height } = current;
  if (reference.width !== width || reference.height !== height) {
    throw new Error(
      `sceneFlow: frame ${current.frame} is ${width}×${height} but frame ${reference.frame} is ` +
        `${reference.width}×${reference.height}; render both frames at one size.`,
    );
  }
  const ct = camera(scene, current.frame, width, height);
  const cs = camera(scene, reference.frame, width, height);
  const mappings = new Map<number, Mapping>();
  const flow = new Float32Array(width * height * 2);
  const valid = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const surface = current.surfaces[i];
      if (surface < 0) continue; // nothing drawn there (the renderer covers every pixel)
      let map = mappings.get(surface);
      if (map === undefined) {
        map = surfaceMapping(scene, surface, current.frame, reference.frame, ct, cs);
        mappings.set(surface, map);
      }
      const there = map(x + 0.5, y + 0.5);
      if (!(there.depth > 0) || !Number.isFinite(there.u) || !Number.isFinite(there.v)) continue;
      const dx = there.u - (x + 0.5);
      const dy = there.v - (y + 0.5);
      flow[2 * i] = dx;
      flow[2 * i + 1] = dy;
      // Visible in frame s when the nearest pixel there shows the same surface.
      const xs = Math.floor(x + dx + 0.5);
      const ys = Math.floor(y + dy + 0.5);
      if (xs >= 0 && xs < width && ys >= 0 && ys < height) {
        valid[i] = reference.surfaces[ys * width + xs] === surface ? 1 : 0;
      }
    }
  }
  return { flow, valid, width, height };
}
