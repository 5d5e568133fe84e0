/**
 * Rasterises a SynthCity scene into an RGB image and a trainId label from the same geometry:
 * labels are hard, the image gets each domain's materials, lighting and camera.
 *
 * @module
 */
import { IGNORE_LABEL } from "../labels.ts";
import { RandomStream } from "../../random.ts";
import type { DomainStyle } from "./domains.ts";
import type { Scene, SceneObject } from "./scene.ts";
import type { SceneGeometry } from "./versions.ts";

type RGB = readonly [number, number, number];

/** A rendered frame. */
export interface Frame {
  /** RGB, H×W×3. */
  image: Uint8Array;
  /** trainIds, H×W (255 where nothing is labelled). */
  label: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Which surface of the scene a pixel shows, as `renderScene` records it when asked: the sky, the
 * ground, side block `b` (`SURFACE_BLOCKS + b`, an index into `scene.blocks`), or object `j`
 * (`SURFACE_BLOCKS + scene.blocks.length + j`, an index into `scene.objects`). The exact optical
 * flow (`flow.ts`) needs it: the label alone cannot tell two cars apart.
 */
export const SURFACE_SKY = 0;
/** The ground plane (road, sidewalk, verge). */
export const SURFACE_GROUND = 1;
/** The first side block's surface id. */
export const SURFACE_BLOCKS = 2;

/** Smooth value noise in [0, 1] at (x, y), from an integer lattice hashed with `seed`. */
export function valueNoise(x: number, y: number, seed: number): number {
  const hash = (i: number, j: number) => {
    let h = Math.imul(i, 374761393) ^ Math.imul(j, 668265263) ^ seed;
    h = Math.imul(h ^ (h >>> 13), 1274126177);
    return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
  };
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  const fx = x - xi;
  const fy = y - yi;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hash(xi, yi) + (hash(xi + 1, yi) - hash(xi, yi)) * sx;
  const b = hash(xi, yi + 1) + (hash(xi + 1, yi + 1) - hash(xi, yi + 1)) * sx;
  return a + (b - a) * sy;
}

class Canvas {
  readonly rgb: Float32Array;
  readonly label: Uint8Array;
  readonly depth: Float32Array;
  /** The surface id `put` records (when `surfaces` is given). */
  surface = -1;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly style: DomainStyle,
    readonly seed: number,
    readonly surfaces?: Int32Array,
  ) {
    this.rgb = new Float32Array(width * height * 3);
    this.label = new Uint8Array(width * height).fill(IGNORE_LABEL);
    this.depth = new Float32Array(width * height).fill(1e4);
  }

  /** Writes one pixel: class, depth, and a colour with the domain's texture on top. */
  put(
    x: number,
    y: number,
    classId: number,
    z: number,
    colour: RGB,
    shade = 1,
    u = x,
    v = y,
  ): void {
    const i = y * this.width + x;
    this.label[i] = classId;
    this.depth[i] = z;
    if (this.surfaces) this.surfaces[i] = this.surface;
    const t = this.style.texture;
    const grain = t === 0 ? 0 : t * (valueNoise(u * 0.35, v * 0.35, this.seed + classId) - 0.5) +
      0.5 * t * (valueNoise(u * 1.7, v * 1.7, this.seed ^ 77) - 0.5);
    for (let c = 0; c < 3; c++) this.rgb[3 * i + c] = colour[c] * shade + grain;
  }

  rect(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    classId: number,
    z: number,
    colour: RGB,
    shade = 1,
  ): void {
    const xa = Math.max(0, Math.round(x0));
    const xb = Math.min(this.width, Math.round(x1));
    const ya = Math.max(0, Math.round(y0));
    const yb = Math.min(this.height, Math.round(y1));
    for (let y = ya; y < yb; y++) {
      for (let x = xa; x < xb; x++) this.put(x, y, classId, z, colour, shade);
    }
  }

  ellipse(
    cx: number,
    cy: number,
    rx: number,
    ry: number,
    classId: number,
    z: number,
    colour: RGB,
    inner = 0,
  ): void {
    const xa = Math.max(0, Math.floor(cx - rx));
    const xb = Math.min(this.width - 1, Math.ceil(cx + rx));
    const ya = Math.max(0, Math.floor(cy - ry));
    const yb = Math.min(this.height - 1, Math.ceil(cy + ry));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const d = ((x + 0.5 - cx) / Math.max(rx, 0.5)) ** 2 +
          ((y + 0.5 - cy) / Math.max(ry, 0.5)) ** 2;
        if (d <= 1 && d >= inner * inner) this.put(x, y, classId, z, colour, 1 - 0.15 * d);
      }
    }
  }

  /** Fills the quadrilateral with corners in order (convex), shading each row by `shade(y)`. */
  quad(
    points: [number, number][],
    classId: number,
    z: number,
    colour: RGB,
    shade = 1,
    pattern?: (x: number, y: number) => number,
  ): void {
    const ys = points.map((p) => p[1]);
    const ya = Math.max(0, Math.floor(Math.min(...ys)));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(...ys)));
    for (let y = ya; y <= yb; y++) {
      const yc = y + 0.5;
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < points.length; k++) {
        const [x1, y1] = points[k];
        const [x2, y2] = points[(k + 1) % points.length];
        if ((yc - y1) * (yc - y2) > 0 || y1 === y2) continue;
        const x = x1 + ((yc - y1) / (y2 - y1)) * (x2 - x1);
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const xa = Math.max(0, Math.round(lo));
      const xb = Math.min(this.width, Math.round(hi));
      for (let x = xa; x < xb; x++) {
        this.put(x, y, classId, z, colour, shade * (pattern ? pattern(x, y) : 1));
      }
    }
  }
}

/**
 * Renders `scene` at frame `frame` (0 = the scene's own instant) at `width × height`. When
 * `surfaces` (H×W) is given, it receives each pixel's surface id (`SURFACE_SKY`, ...); the image
 * and label are the same either way.
 */
export function renderScene(
  scene: Scene,
  frame: number,
  width: number,
  height: number,
  surfaces?: Int32Array,
): Frame {
  const style = scene.style;
  const canvas = new Canvas(width, height, style, scene.textureSeed, surfaces);
  const focal = width * scene.geometry.focal;
  const cx = width / 2;
  const horizon = scene.horizon * height;
  const camZ = frame * scene.egoSpeed;
  const camH = scene.cameraHeight;
  const project = (
    x: number,
    y: number,
    z: number,
  ): [number, number] => [cx + (focal * x) / z, horizon + (focal * (camH - y)) / z];
  const palette = style.palette;

  // Sky: a vertical gradient, brighter at the horizon.
  canvas.surface = SURFACE_SKY;
  for (let y = 0; y < Math.min(height, Math.ceil(horizon) + 1); y++) {
    const t = y / Math.max(horizon, 1);
    const sky: RGB = [
      palette[10][0] * (0.8 + 0.3 * t),
      palette[10][1] * (0.85 + 0.2 * t),
      palette[10][2] * (0.95 + 0.08 * t),
    ];
    for (let x = 0; x < width; x++) canvas.put(x, y, 10, 1e4, sky, 1, x * 0.2, y * 0.6);
  }
  // Ground: each row below the horizon is one depth; road, sidewalks, lane markings.
  const grassBlocks = scene.blocks.filter((b) => b.classId === 9);
  canvas.surface = SURFACE_GROUND;
  for (let y = Math.max(0, Math.floor(horizon) + 1); y < height; y++) {
    const z = (focal * camH) / (y + 0.5 - horizon);
    const worldZ = z + camZ;
    for (let x = 0; x < width; x++) {
      const lateral = ((x + 0.5 - cx) * z) / focal;
      const a = Math.abs(lateral);
      let classId = 0;
      let colour = palette[0];
      let shade = 1;
      if (a < scene.roadHalf) {
        const marking = Math.abs(a - 0.0) < 0.08 && worldZ % 6 < 3;
        if (marking) colour = [235, 235, 225];
      } else if (a < scene.roadHalf + scene.sidewalk) {
        classId = 1;
        colour = palette[1];
        shade = (Math.floor(worldZ / 1.2) + Math.floor(lateral / 1.2)) % 2 === 0 ? 1 : 0.93;
      } else {
        const grass = grassBlocks.find((b) => Math.sign(lateral) === b.side);
        classId = grass ? 9 : 1;
        colour = grass ? grass.colour : palette[1];
      }
      canvas.put(x, y, classId, z, colour, shade, lateral * 8, worldZ * 2);
    }
  }
  // Side blocks: vertical planes parallel to the street, far to near.
  const blocks = [...scene.blocks].filter((b) => b.classId !== 9).sort((p, q) => q.z0 - p.z0);
  for (const block of blocks) {
    const z0 = Math.max(block.z0 - camZ, 0.8);
    const z1 = block.z1 - camZ;
    if (z1 <= z0) continue;
    const x = block.side * block.x;
    const corners: [number, number][] = [
      project(x, 0, z0),
      project(x, block.height, z0),
      project(x, block.height, z1),
      project(x, 0, z1),
    ];
    const light = 1 + style.lighting * 0.4 * block.side;
    const pattern = block.classId === 2
      ? (px: number, py: number) => {
        // Window grid in world units: recover depth along the facade from the screen column.
        const zz = (focal * x) / (px + 0.5 - cx);
        const hh = camH - ((py + 0.5 - horizon) * zz) / focal;
        const col = (zz + camZ) * block.windows;
        const row = hh * block.windows * 1.4;
        return col % 1 < 0.45 && row % 1 < 0.5 && hh > 1.5 ? 0.55 : 1;
      }
      : block.classId === 4
      ? (px: number) => ((px >> 1) % 2 === 0 ? 0.7 : 1.1)
      : undefined;
    canvas.surface = SURFACE_BLOCKS + scene.blocks.indexOf(block);
    canvas.quad(corners, block.classId, (z0 + z1) / 2, block.colour, light, pattern);
  }
  // Objects, far to near, at their positions in this frame.
  const placed = scene.objects.map((o, j) => ({
    o,
    j,
    z: o.z + o.speed * frame - camZ,
    x: o.x + o.lateralSpeed * frame,
  }))
    .filter((p) => p.z > 1.5)
    .sort((a, b) => b.z - a.z);
  for (const { o, j, z, x } of placed) {
    canvas.surface = SURFACE_BLOCKS + scene.blocks.length + j;
    drawObject(canvas, o, x, z, project, focal, style, scene.geometry);
  }

  return finish(canvas, scene, frame);
}

function drawObject(
  canvas: Canvas,
  o: SceneObject,
  x: number,
  z: number,
  project: (x: number, y: number, z: number) => [number, number],
  focal: number,
  style: DomainStyle,
  geometry: SceneGeometry,
): void {
  const px = (m: number) => (focal * m) / z; // metres → pixels at this depth
  const [sx, ground] = project(x, 0, z);
  const s = o.scale;
  const wheel: RGB = [25, 25, 28];
  const glass: RGB = style.outline ? [120, 190, 230] : [40, 48, 56];
  const vehicle = (classId: number, w: number, h: number, cabin: number) => {
    const hw = px(w * s) / 2;
    const top = ground - px(h * s);
    if (style.lighting > 0.3) {
      canvas.ellipse(sx, ground, hw * 1.1, Math.max(px(0.25), 1), 0, z + 0.5, [40, 40, 42]);
    }
    canvas.rect(sx - hw, top + px(h * s) * cabin, sx + hw, ground - px(0.25), classId, z, o.colour);
    canvas.rect(
      sx - hw * 0.8,
      top,
      sx + hw * 0.8,
      top + px(h * s) * cabin,
      classId,
      z,
      o.colour,
      0.9,
    );
    canvas.rect(
      sx - hw * 0.7,
      top + px(0.1),
      sx + hw * 0.7,
      top + px(h * s) * cabin - px(0.05),
      classId,
      z,
      glass,
    );
    canvas.rect(sx - hw, ground - px(0.45), sx - hw + px(0.4), ground, classId, z, wheel);
    canvas.rect(sx + hw - px(0.4), ground - px(0.45), sx + hw, ground, classId, z, wheel);
    canvas.rect(sx - hw, ground - px(0.8), sx - hw + px(0.3), ground - px(0.6), classId, z, [
      220,
      30,
      30,
    ]);
    canvas.rect(sx + hw - px(0.3), ground - px(0.8), sx + hw, ground - px(0.6), classId, z, [
      220,
      30,
      30,
    ]);
  };
  const person = (classId: number, base: number, colour: RGB, accent: RGB) => {
    const h = 1.75 * s;
    const y0 = ground - px(base);
    canvas.rect(sx - px(0.12), y0 - px(h * 0.48), sx - px(0.02), y0, classId, z, accent);
    canvas.rect(sx + px(0.02), y0 - px(h * 0.48), sx + px(0.12), y0, classId, z, accent);
    canvas.rect(
      sx - px(0.22),
      y0 - px(h * 0.85),
      sx + px(0.22),
      y0 - px(h * 0.46),
      classId,
      z,
      colour,
    );
    canvas.ellipse(sx, y0 - px(h * 0.93), px(0.11), px(0.12), classId, z, [225, 185, 150]);
  };
  const bike = (classId: number, motor: boolean, colour: RGB) => {
    const r = px(motor ? 0.32 : 0.34);
    const gap = px(motor ? 0.75 : 0.55);
    canvas.ellipse(
      sx - gap,
      ground - r,
      r,
      r,
      classId,
      z,
      wheel,
      motor ? 0 : geometry.bicycleWheelHole,
    );
    canvas.ellipse(
      sx + gap,
      ground - r,
      r,
      r,
      classId,
      z,
      wheel,
      motor ? 0 : geometry.bicycleWheelHole,
    );
    if (motor) {
      canvas.rect(
        sx - gap * 0.8,
        ground - r * 2.4,
        sx + gap * 0.8,
        ground - r * 0.9,
        classId,
        z,
        colour,
      );
    } else {
      canvas.rect(sx - gap, ground - r * 1.15, sx + gap, ground - r * 0.85, classId, z, colour);
      canvas.rect(sx - px(0.04), ground - r * 2.2, sx + px(0.04), ground - r, classId, z, colour);
    }
    return ground - r * (motor ? 2.2 : 2);
  };
  switch (o.kind) {
    case "car":
      return vehicle(13, 1.8, 1.5, 0.45);
    case "truck":
      vehicle(14, 2.5, 3.4, 0.25);
      return canvas.rect(
        sx - px(1.2 * s),
        ground - px(3.4 * s),
        sx + px(1.2 * s),
        ground - px(1.6 * s),
        14,
        z,
        [200, 200, 196],
      );
    case "bus":
      vehicle(15, 2.6, 3.1, 0.55);
      return canvas.rect(
        sx - px(1.25 * s),
        ground - px(2.6 * s),
        sx + px(1.25 * s),
        ground - px(2.0 * s),
        15,
        z,
        [40, 44, 50],
      );
    case "train":
      vehicle(16, 3.0, 3.8, 0.35);
      return canvas.rect(
        sx - px(0.3),
        ground - px(5.2),
        sx + px(0.3),
        ground - px(3.8 * s),
        16,
        z,
        [60, 60, 60],
      );
    case "person":
      return person(11, 0, o.colour, o.accent);
    case "riderBicycle":
    case "riderMotorcycle": {
      const motor = o.kind === "riderMotorcycle";
      const seat = bike(motor ? 17 : 18, motor, o.accent);
      return person(12, (ground - seat) / px(1) * 0.85, o.colour, [50, 50, 60]);
    }
    case "parkedBicycle":
      return void bike(18, false, o.accent);
    case "parkedMotorcycle":
      return void bike(17, true, o.accent);
    case "pole": {
      const h = 4.5 + 2 * s;
      canvas.rect(
        sx - Math.max(px(geometry.poleHalfWidth), 0.5),
        ground - px(h),
        sx + Math.max(px(geometry.poleHalfWidth), 0.5),
        ground,
        5,
        z,
        o.colour,
      );
      if (o.variant & 1) {
        const head = geometry.signal;
        canvas.rect(
          sx - px(head.halfWidth),
          ground - px(h + head.height),
          sx + px(head.halfWidth),
          ground - px(h),
          6,
          z,
          style.palette[6],
        );
        for (
          const [k, lamp]
            of ([[0, [230, 40, 30]], [1, [240, 190, 30]], [2, [40, 200, 80]]] as const)
        ) {
          canvas.ellipse(
            sx,
            ground - px(h + head.lampTop - head.lampSpacing * k),
            px(head.lampRadius),
            px(head.lampRadius),
            6,
            z,
            lamp as RGB,
          );
        }
      }
      if (o.variant & 2) {
        const y = ground - px(h * 0.7);
        const { radius, halfWidth, halfHeight } = geometry.sign;
        if (o.variant === 2) canvas.ellipse(sx, y, px(radius), px(radius), 7, z, o.accent);
        else {
          canvas.rect(
            sx - px(halfWidth),
            y - px(halfHeight),
            sx + px(halfWidth),
            y + px(halfHeight),
            7,
            z,
            o.accent,
          );
        }
      }
      return;
    }
    case "tree": {
      const h = 5 * s;
      canvas.rect(sx - px(0.15), ground - px(h * 0.5), sx + px(0.15), ground, 8, z, [90, 70, 50]);
      return canvas.ellipse(sx, ground - px(h * 0.7), px(1.6 * s), px(1.5 * s), 8, z, o.colour);
    }
  }
}

/** The domain's camera: outlines, lighting, haze, saturation, tint, tone curve, vignette, blur, noise. */
function finish(canvas: Canvas, scene: Scene, frame: number): Frame {
  const { width, height, style, rgb, label, depth } = canvas;
  if (style.outline) {
    // Cel-shaded edges: darken pixels whose class differs from the pixel right or below.
    for (let y = 0; y < height - 1; y++) {
      for (let x = 0; x < width - 1; x++) {
        const i = y * width + x;
        if (label[i] !== label[i + 1] || label[i] !== label[i + width]) {
          for (let c = 0; c < 3; c++) rgb[3 * i + c] *= 0.45;
        }
      }
    }
  }
  const hazeDensity = style.haze.density / 100;
  for (let i = 0; i < width * height; i++) {
    let r = rgb[3 * i];
    let g = rgb[3 * i + 1];
    let b = rgb[3 * i + 2];
    if (hazeDensity > 0 && label[i] !== 10) {
      const f = 1 - Math.exp(-hazeDensity * depth[i]);
      r += (style.haze.colour[0] - r) * f;
      g += (style.haze.colour[1] - g) * f;
      b += (style.haze.colour[2] - b) * f;
    }
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    r = grey + (r - grey) * style.saturation;
    g = grey + (g - grey) * style.saturation;
    b = grey + (b - grey) * style.saturation;
    const x = i % width;
    const y = (i / width) | 0;
    const light = 1 + style.lighting * 0.25 * (x / width - 0.5);
    const dx = x / width - 0.5;
    const dy = y / height - 0.5;
    const vignette = 1 - style.vignette * (dx * dx + dy * dy) * 2;
    const values = [r * style.tint[0], g * style.tint[1], b * style.tint[2]];
    for (let c = 0; c < 3; c++) {
      const v = Math.min(Math.max((values[c] * light * vignette) / 255, 0), 1);
      rgb[3 * i + c] = 255 * v ** style.gamma;
    }
  }
  const blurred = style.blur > 0 ? blur3(rgb, width, height, style.blur) : rgb;
  const noise = new RandomStream(scene.textureSeed).fork(`noise:${frame}`);
  const image = new Uint8Array(width * height * 3);
  for (let i = 0; i < image.length; i++) {
    const v = blurred[i] + (style.noise > 0 ? noise.normal(0, style.noise) : 0);
    image[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return { image, label, width, height };
}

/** A small separable Gaussian blur (radius 2) of an RGB float image, edges clamped. */
function blur3(rgb: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const k = [-2, -1, 0, 1, 2].map((d) => Math.exp(-(d * d) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const w = k.map((v) => v / sum);
  const tmp = new Float32Array(rgb.length);
  const out = new Float32Array(rgb.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let d = -2; d <= 2; d++) {
          acc += w[d + 2] * rgb[3 * (y * width + Math.min(width - 1, Math.max(0, x + d))) + c];
        }
        tmp[3 * (y * width + x) + c] = acc;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let d = -2; d <= 2; d++) {
          acc += w[d + 2] * tmp[3 * (Math.min(height - 1, Math.max(0, y + d)) * width + x) + c];
        }
        out[3 * (y * width + x) + c] = acc;
      }
    }
  }
  return out;
}
