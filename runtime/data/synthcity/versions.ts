/**
 * SynthCity's scene versions: the camera and object geometry that decide how large each class
 * appears, and so whether it can be learnt at the CPU-scale resolution (`docs/benchmark.md`).
 *
 * - Version 1, the first generator: a 67° field of view and objects spread to 204 m, so that at
 *   256×128 most people, riders, bicycles, poles and signals were one or two pixels wide; even a
 *   model trained on the target's own labels left 11 of 19 classes at 0 IoU.
 * - Version 2 (the default): Cityscapes' camera (focal length 1.1 × width), objects within 53 m,
 *   street furniture of real sizes (30 cm poles, 0.6 × 1.5 m signal heads, 0.9 m signs) and the small
 *   classes two to three times as frequent as in Cityscapes (`docs/benchmark.md` says why).
 *
 * An experiment names its version (`synthCity({ version })`), so the version is part of its hash:
 * a run on one version is never resumed or tabulated as a run on the other. The hash does not
 * cover this file, so a released version never changes: a new geometry is a new version.
 *
 * @module
 */
import type { DomainStyle, FixedDomain } from "./domains.ts";

/** Expected instances per scene of each object kind (and wall/fence rates). */
export type ObjectCounts = Readonly<Record<string, number>>;

type RGB = readonly [number, number, number];

/** How a version changes a fixed domain's look: some style fields, some classes' base colours. */
export interface StyleChanges {
  /** Style fields replaced. */
  style?: Partial<Pick<DomainStyle, "saturation" | "haze" | "gamma" | "texture">>;
  /** Base colours replaced, by trainId. */
  palette?: Readonly<Record<number, RGB>>;
}

/** What one scene version fixes about geometry. */
export interface SceneGeometry {
  /** Focal length as a fraction of the image width. */
  focal: number;
  /** Object depths: `near + range · u^power` metres for u uniform in [0, 1). */
  depth: { near: number; range: number; power: number };
  /** Half the width of a pole (m). */
  poleHalfWidth: number;
  /** Grass verge beside the sidewalk: the chance a side has one, and its width range (m). */
  grass: { probability: number; width: [number, number] };
  /** Height ranges (m) of the walls and of the fences in front of buildings. */
  wallHeight: [number, number];
  /** Fence heights (m). */
  fenceHeight: [number, number];
  /** Traffic-light head: half-width, height, lamp radius, lamp spacing, top lamp's height (m). */
  signal: {
    halfWidth: number;
    height: number;
    lampRadius: number;
    lampSpacing: number;
    lampTop: number;
  };
  /** Traffic-sign plate: radius of a round sign, half-width and half-height of a square one (m). */
  sign: { radius: number; halfWidth: number; halfHeight: number };
  /** Inner radius of a bicycle wheel's ring as a fraction of its radius. */
  bicycleWheelHole: number;
  /** Object counts of each fixed domain. */
  counts: Readonly<Record<FixedDomain, ObjectCounts>>;
  /** Changes to the fixed domains' look (`domains.ts` holds version 1's). */
  appearance: Readonly<Partial<Record<FixedDomain, StyleChanges>>>;
}

/** SYNTHIA-like: many people and riders, no truck or train (its 16-class protocol). */
const SYNTHIA_COUNTS: ObjectCounts = {
  car: 6,
  truck: 0,
  bus: 0.4,
  train: 0,
  person: 6,
  riderBicycle: 0.4,
  riderMotorcycle: 0.3,
  parkedBicycle: 0.3,
  parkedMotorcycle: 0.3,
  pole: 4,
  tree: 2,
  fence: 0.6,
  wall: 0.8,
};

/** The scene versions; the newest is the default. */
export const SCENE_VERSIONS: Readonly<Record<number, SceneGeometry>> = {
  1: {
    focal: 0.75,
    depth: { near: 4, range: 200, power: 1.6 },
    poleHalfWidth: 0.08,
    grass: { probability: 0.45, width: [1.5, 5] },
    wallHeight: [0.8, 2.2],
    fenceHeight: [0.9, 1.8],
    signal: { halfWidth: 0.18, height: 0.9, lampRadius: 0.09, lampSpacing: 0.28, lampTop: 0.75 },
    sign: { radius: 0.35, halfWidth: 0.35, halfHeight: 0.3 },
    bicycleWheelHole: 0.7,
    counts: {
      game: {
        car: 5,
        truck: 0.8,
        bus: 0.35,
        train: 0.06,
        person: 2.5,
        riderBicycle: 0.15,
        riderMotorcycle: 0.15,
        parkedBicycle: 0.1,
        parkedMotorcycle: 0.1,
        pole: 4,
        tree: 3,
        fence: 0.8,
        wall: 0.7,
      },
      real: {
        car: 6,
        truck: 0.3,
        bus: 0.2,
        train: 0.04,
        person: 5,
        riderBicycle: 0.6,
        riderMotorcycle: 0.15,
        parkedBicycle: 0.8,
        parkedMotorcycle: 0.2,
        pole: 6,
        tree: 4,
        fence: 1,
        wall: 0.6,
      },
      synthia: SYNTHIA_COUNTS,
    },
    appearance: {},
  },
  2: {
    // Cityscapes' camera: focal length 2262 px on 2048-px-wide images (48° field of view).
    focal: 1.1,
    // Half of all objects within ~25 m, none beyond 53 m: the near street, where a person is
    // still 10 pixels tall at 256×128.
    depth: { near: 3, range: 50, power: 1.2 },
    poleHalfWidth: 0.15,
    // Verges, walls and fences stand behind the sidewalk's crowd: wider and taller than in
    // version 1, so that they are not hidden entirely.
    grass: { probability: 0.75, width: [2, 6] },
    wallHeight: [1, 2.6],
    fenceHeight: [1.1, 2.2],
    signal: { halfWidth: 0.3, height: 1.5, lampRadius: 0.15, lampSpacing: 0.48, lampTop: 1.25 },
    sign: { radius: 0.45, halfWidth: 0.45, halfHeight: 0.4 },
    bicycleWheelHole: 0.35,
    counts: {
      // GTA5-like long tail: train, motorcycle, rider and bicycle stay rare (RCS has work to do).
      game: {
        car: 5,
        truck: 0.4,
        bus: 0.35,
        train: 0.04,
        person: 8,
        riderBicycle: 0.5,
        riderMotorcycle: 0.5,
        parkedBicycle: 0.4,
        parkedMotorcycle: 0.4,
        pole: 8,
        tree: 3,
        fence: 2.5,
        wall: 2.5,
      },
      // Every class a share of pixels that 600 iterations of 128² crops can learn from: about
      // 500 times fewer labelled pixels than DAFormer's 40k iterations of 512² crops see, so the
      // small classes are two to three times as frequent as in Cityscapes (person 1.2%, pole
      // 1.2%, rider 0.1%, bicycle 0.4%), in more images.
      real: {
        car: 6,
        truck: 0.4,
        bus: 0.35,
        train: 0.4,
        person: 20,
        riderBicycle: 3,
        riderMotorcycle: 2,
        parkedBicycle: 4,
        parkedMotorcycle: 2.5,
        pole: 12,
        tree: 4,
        fence: 3.5,
        wall: 3.5,
      },
      synthia: SYNTHIA_COUNTS,
    },
    // Version 1's `real` was grey (saturation 0.7, haze 0.25, a white sky) and its `game` a
    // saturated cartoon: source-only training reached 20% of the oracle, where GTA→Cityscapes
    // reaches about 45%. The classes now keep their hue families across domains, as GTA5's and
    // Cityscapes' do (blue sky, green vegetation); textures, noise, blur, outlines, lighting and
    // tone still differ. GTA5 textures its materials too, if less than a camera's noise does.
    appearance: {
      game: { style: { saturation: 1.05, texture: 14 } },
      real: {
        style: { saturation: 0.95, haze: { colour: [200, 205, 210], density: 0.15 } },
        palette: { 8: [62, 104, 48], 9: [124, 134, 78], 10: [150, 178, 212] },
      },
    },
  },
};

/** The default scene version. */
export const LATEST_SCENE_VERSION = 2;

/** The geometry of `version`, or an error that lists the versions there are. */
export function sceneGeometry(version: number): SceneGeometry {
  const geometry = SCENE_VERSIONS[version];
  if (geometry === undefined) {
    throw new Error(
      `SynthCity: unknown scene version ${version}; choose one of ` +
        `${Object.keys(SCENE_VERSIONS).join(", ")} (${LATEST_SCENE_VERSION} is the default).`,
    );
  }
  return geometry;
}
