/**
 * SynthCity scenes as a small 3-D world: a straight street seen from a car, with facades, walls,
 * fences, grass, trees, poles carrying traffic lights and signs, vehicles, pedestrians and riders.
 * Positions are in metres (x lateral, z ahead of the camera), so a sequence of frames is the same
 * world seen from a camera moving forward while some objects move too.
 *
 * @module
 */
import { RandomStream } from "../../random.ts";
import { type Domain, type DomainStyle, styleFor } from "./domains.ts";
import { LATEST_SCENE_VERSION, type SceneGeometry, sceneGeometry } from "./versions.ts";

type RGB = readonly [number, number, number];

/** A facade-like block along one side of the street: building, wall, fence, hedge or grass. */
export interface SideBlock {
  /** trainId drawn. */
  classId: number;
  /** −1 left, +1 right. */
  side: number;
  /** Lateral distance of the plane from the street's centre. */
  x: number;
  /** Depth range. */
  z0: number;
  /** Far end. */
  z1: number;
  /** Height in metres. */
  height: number;
  /** Base colour of this instance. */
  colour: RGB;
  /** Window rows and columns per metre, for buildings. */
  windows: number;
}

/** Kinds of free-standing objects. */
export type ObjectKind =
  | "car"
  | "truck"
  | "bus"
  | "train"
  | "person"
  | "riderBicycle"
  | "riderMotorcycle"
  | "parkedBicycle"
  | "parkedMotorcycle"
  | "pole"
  | "tree";

/** A free-standing object standing on the ground at (x, z). */
export interface SceneObject {
  /** What it is. */
  kind: ObjectKind;
  /** Lateral position of its centre (m). */
  x: number;
  /** Depth at frame 0 (m). */
  z: number;
  /** Forward speed in metres per frame (vehicles; 0 for static objects). */
  speed: number;
  /** Lateral speed in metres per frame (pedestrians crossing). */
  lateralSpeed: number;
  /** Size scale of this instance. */
  scale: number;
  /** Main colour (body paint, clothes). */
  colour: RGB;
  /** Second colour (trousers, frame, window tint). */
  accent: RGB;
  /** For poles: 0 bare, 1 traffic light, 2 sign, 3 both. */
  variant: number;
}

/** A scene: the street, its sides, its objects and the camera. */
export interface Scene {
  /** Rendering domain. */
  domain: Domain;
  /** The style it is drawn in (its domain's, or its own in the `randomized` domain). */
  style: DomainStyle;
  /** Camera and object geometry of its scene version. */
  geometry: SceneGeometry;
  /** Camera height (m). */
  cameraHeight: number;
  /** Horizon row as a fraction of the image height. */
  horizon: number;
  /** Half the road's width (m). */
  roadHalf: number;
  /** Sidewalk width (m). */
  sidewalk: number;
  /** Camera speed in metres per frame. */
  egoSpeed: number;
  /** Facades and other side blocks. */
  blocks: SideBlock[];
  /** Objects, unsorted. */
  objects: SceneObject[];
  /** Seed of textures and sensor noise. */
  textureSeed: number;
}

function poisson(rng: RandomStream, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

function vary(rng: RandomStream, colour: RGB, spread: number): RGB {
  return colour.map((c) => Math.max(0, Math.min(255, c + rng.normal(0, spread)))) as unknown as RGB;
}

/** Builds the world of scene `index` of `domain` under `seed`, in scene version `version`. */
export function buildScene(
  domain: Domain,
  seed: number,
  index: number,
  version = LATEST_SCENE_VERSION,
): Scene {
  const geometry = sceneGeometry(version);
  const style = styleFor(domain, seed, index, version);
  const rng = new RandomStream(seed).fork(`synthcity:${domain}:${index}`);
  const roadHalf = rng.uniform(3.2, 6.5);
  const sidewalk = rng.uniform(1.8, 3.5);
  const scene: Scene = {
    domain,
    style,
    geometry,
    cameraHeight: rng.uniform(...style.cameraHeight),
    horizon: rng.uniform(...style.horizon),
    roadHalf,
    sidewalk,
    egoSpeed: rng.uniform(0.4, 1.2),
    blocks: [],
    objects: [],
    textureSeed: rng.nextUint32(),
  };
  const absent = new Set(style.absent);
  const colour = (classId: number, spread = style.colourJitter) =>
    vary(rng, style.palette[classId], spread);

  for (const side of [-1, 1]) {
    const edge = roadHalf + sidewalk;
    const grass = !absent.has(9) && rng.bernoulli(geometry.grass.probability)
      ? rng.uniform(...geometry.grass.width)
      : 0;
    if (grass > 0) {
      scene.blocks.push({
        classId: 9,
        side,
        x: edge,
        z0: 1,
        z1: 400,
        height: 0,
        colour: colour(9),
        windows: 0,
      });
    }
    // Buildings line the street with gaps; walls, fences and hedges stand in front of some.
    let z = rng.uniform(0, 8);
    while (z < 260) {
      const length = rng.uniform(8, 40);
      if (rng.bernoulli(0.85)) {
        scene.blocks.push({
          classId: 2,
          side,
          x: edge + grass + rng.uniform(0.5, 4),
          z0: z,
          z1: z + length,
          height: rng.uniform(6, 28),
          colour: colour(2, style.colourJitter * 2),
          windows: rng.uniform(0.25, 0.5),
        });
      }
      const front = rng.next();
      const frontX = edge + grass * 0.5 + 0.2;
      if (front < 0.12 * style.counts.wall) {
        scene.blocks.push({
          classId: 3,
          side,
          x: frontX,
          z0: z,
          z1: z + length * rng.uniform(0.3, 1),
          height: rng.uniform(...geometry.wallHeight),
          colour: colour(3),
          windows: 0,
        });
      } else if (front < 0.12 * (style.counts.wall + style.counts.fence)) {
        scene.blocks.push({
          classId: 4,
          side,
          x: frontX,
          z0: z,
          z1: z + length * rng.uniform(0.3, 1),
          height: rng.uniform(...geometry.fenceHeight),
          colour: colour(4),
          windows: 0,
        });
      } else if (front < 0.12 * (style.counts.wall + style.counts.fence) + 0.1) {
        scene.blocks.push({
          classId: 8,
          side,
          x: frontX,
          z0: z,
          z1: z + length * rng.uniform(0.3, 1),
          height: rng.uniform(0.8, 1.6),
          colour: colour(8),
          windows: 0,
        });
      }
      z += length + (rng.bernoulli(0.3) ? rng.uniform(3, 15) : 0);
    }
  }

  const add = (kind: ObjectKind, x: number, z: number, extra: Partial<SceneObject> = {}) =>
    scene.objects.push({
      kind,
      x,
      z,
      speed: 0,
      lateralSpeed: 0,
      scale: rng.uniform(0.9, 1.1),
      colour: style.vehicleColours[rng.int(style.vehicleColours.length)],
      accent: colour(11),
      variant: 0,
      ...extra,
    });
  // More objects near than far; how near is the scene version's (`versions.ts`).
  const { near, range, power } = geometry.depth;
  const depth = () => near + range * rng.next() ** power;
  const lane = () => (rng.bernoulli(0.5) ? -1 : 1) * roadHalf * rng.uniform(0.25, 0.75);
  const onSidewalk = () =>
    (rng.bernoulli(0.5) ? -1 : 1) * (roadHalf + sidewalk * rng.uniform(0.2, 0.8));

  for (let k = poisson(rng, style.counts.car); k > 0; k--) {
    add("car", lane(), depth(), { speed: rng.uniform(-0.3, 1.2) });
  }
  for (let k = poisson(rng, style.counts.truck); k > 0; k--) {
    add("truck", lane(), depth(), { speed: rng.uniform(-0.2, 0.9) });
  }
  for (let k = poisson(rng, style.counts.bus); k > 0; k--) {
    add("bus", lane(), depth(), { speed: rng.uniform(0, 0.8) });
  }
  for (let k = poisson(rng, style.counts.train); k > 0; k--) {
    add("train", 0, depth() + 10, { speed: rng.uniform(0, 0.6), colour: colour(16) });
  }
  for (let k = poisson(rng, style.counts.person); k > 0; k--) {
    const crossing = rng.bernoulli(0.15);
    add("person", crossing ? lane() : onSidewalk(), depth(), {
      colour: vary(rng, style.vehicleColours[rng.int(style.vehicleColours.length)], 30),
      accent: colour(11, 40),
      lateralSpeed: crossing ? rng.uniform(-0.15, 0.15) : 0,
      speed: crossing ? 0 : rng.uniform(-0.08, 0.08),
    });
  }
  for (const kind of ["riderBicycle", "riderMotorcycle"] as const) {
    for (let k = poisson(rng, style.counts[kind]); k > 0; k--) {
      add(kind, rng.bernoulli(0.7) ? lane() * 1.2 : onSidewalk(), depth(), {
        speed: rng.uniform(0.1, kind === "riderBicycle" ? 0.4 : 1),
        accent: colour(kind === "riderBicycle" ? 18 : 17),
        colour: colour(12, 40),
      });
    }
  }
  for (const kind of ["parkedBicycle", "parkedMotorcycle"] as const) {
    for (let k = poisson(rng, style.counts[kind]); k > 0; k--) {
      add(kind, onSidewalk(), depth(), { accent: colour(kind === "parkedBicycle" ? 18 : 17) });
    }
  }
  for (let k = poisson(rng, style.counts.pole); k > 0; k--) {
    const side = rng.bernoulli(0.5) ? -1 : 1;
    add("pole", side * (roadHalf + 0.4), depth(), {
      colour: colour(5),
      variant: rng.int(4),
      accent: colour(7),
    });
  }
  for (let k = poisson(rng, style.counts.tree); k > 0; k--) {
    const side = rng.bernoulli(0.5) ? -1 : 1;
    add("tree", side * (roadHalf + sidewalk * rng.uniform(0.5, 1.2)), depth(), {
      colour: colour(8),
      scale: rng.uniform(0.7, 1.4),
    });
  }
  return scene;
}
