/**
 * SynthCity's domains: how each renders the same kinds of scenes. They differ the way synthetic
 * and real images do — per-class palettes and textures, lighting, sensor noise, blur, vignetting,
 * tone curve, object frequencies and camera height — and never in what a label means.
 *
 * @module
 */
import { RandomStream } from "../../random.ts";
import {
  LATEST_SCENE_VERSION,
  type ObjectCounts,
  SCENE_VERSIONS,
  sceneGeometry,
} from "./versions.ts";

/**
 * Domain names: `game` (GTA5-like source), `real` (Cityscapes-like target), `synthia`, and
 * `randomized`, whose style is drawn afresh for every image (the pretraining task).
 */
export type Domain = FixedDomain | "randomized";

/** The domains with one fixed style. */
export type FixedDomain = "game" | "real" | "synthia";

/** Every domain. */
export const DOMAINS: readonly Domain[] = ["game", "real", "synthia", "randomized"];

type RGB = readonly [number, number, number];

/** How one domain draws and populates scenes. */
export interface DomainStyle {
  /** Camera height in metres (SYNTHIA's is much higher). */
  cameraHeight: [number, number];
  /** Horizon row as a fraction of the image height. */
  horizon: [number, number];
  /** Base colour per trainId (instances vary around it). */
  palette: readonly RGB[];
  /** Per-instance colour spread (0–255 units). */
  colourJitter: number;
  /** Amplitude of the surface texture (value noise), 0 = flat shading. */
  texture: number;
  /** Dark outline around objects (cel-shaded game look). */
  outline: boolean;
  /** Strength of the left-to-right illumination gradient and of cast shadows. */
  lighting: number;
  /** Gaussian sensor noise σ (0–255 units). */
  noise: number;
  /** Blur σ in pixels (optics), 0 = crisp. */
  blur: number;
  /** Vignetting strength at the corners (fraction of brightness lost). */
  vignette: number;
  /** Tone curve exponent applied to [0, 1] values (1 = linear). */
  gamma: number;
  /** Saturation multiplier. */
  saturation: number;
  /** Colour cast multiplied onto R, G, B. */
  tint: RGB;
  /** Haze colour and density per 100 m (SYNTHIA's fog). */
  haze: { colour: RGB; density: number };
  /** Expected instances per scene of each object class (long-tailed). */
  counts: Readonly<Record<string, number>>;
  /** Classes this domain never contains (SYNTHIA's 16-class protocol). */
  absent: readonly number[];
  /** Colours vehicles are painted in (game: saturated; real: mostly greys). */
  vehicleColours: readonly RGB[];
}

/** Palette indices follow trainIds: 0 road … 18 bicycle. */
const GAME_PALETTE: RGB[] = [
  [84, 82, 96],
  [190, 170, 150],
  [196, 120, 84],
  [150, 150, 140],
  [120, 90, 60],
  [70, 70, 76],
  [40, 40, 40],
  [30, 90, 200],
  [40, 170, 40],
  [150, 190, 70],
  [90, 160, 240],
  [200, 60, 50],
  [230, 180, 40],
  [0, 0, 0],
  [220, 120, 30],
  [240, 200, 0],
  [60, 120, 200],
  [20, 20, 20],
  [160, 30, 30],
];
const REAL_PALETTE: RGB[] = [
  [112, 108, 104],
  [150, 146, 140],
  [128, 122, 116],
  [170, 164, 150],
  [105, 100, 92],
  [96, 98, 100],
  [52, 56, 54],
  [200, 190, 170],
  [70, 92, 52],
  [118, 124, 82],
  [190, 200, 210],
  [80, 70, 66],
  [70, 72, 90],
  [0, 0, 0],
  [190, 190, 186],
  [210, 214, 200],
  [160, 150, 140],
  [60, 60, 64],
  [90, 90, 96],
];
const SYNTHIA_PALETTE: RGB[] = [
  [70, 70, 78],
  [210, 200, 190],
  [150, 150, 170],
  [200, 180, 180],
  [100, 100, 120],
  [200, 200, 200],
  [20, 20, 20],
  [240, 240, 240],
  [60, 140, 70],
  [0, 0, 0],
  [150, 190, 230],
  [240, 100, 120],
  [250, 140, 0],
  [0, 0, 0],
  [0, 0, 0],
  [250, 250, 250],
  [0, 0, 0],
  [30, 30, 30],
  [200, 0, 60],
];

/** The three domains as scene version 1 draws them (`versions.ts` changes later versions). */
export const STYLES: Readonly<Record<FixedDomain, DomainStyle>> = {
  game: {
    cameraHeight: [1.5, 1.9],
    horizon: [0.38, 0.46],
    palette: GAME_PALETTE,
    colourJitter: 18,
    texture: 0,
    outline: true,
    lighting: 0.25,
    noise: 0,
    blur: 0,
    vignette: 0,
    gamma: 1,
    saturation: 1.35,
    tint: [1, 1, 1],
    haze: { colour: [180, 200, 230], density: 0 },
    // Object counts per scene version (`versions.ts`): a GTA5-like long tail.
    counts: SCENE_VERSIONS[1].counts.game,
    absent: [],
    vehicleColours: [
      [200, 30, 30],
      [30, 90, 210],
      [240, 200, 30],
      [30, 160, 60],
      [235, 235, 235],
      [20, 20, 24],
      [230, 110, 20],
      [120, 40, 160],
    ],
  },
  real: {
    cameraHeight: [1.1, 1.4],
    horizon: [0.42, 0.5],
    palette: REAL_PALETTE,
    colourJitter: 10,
    texture: 22,
    outline: false,
    lighting: 0.5,
    noise: 5,
    blur: 0.8,
    vignette: 0.35,
    gamma: 0.85,
    saturation: 0.7,
    tint: [1.02, 1.0, 0.94],
    haze: { colour: [200, 205, 210], density: 0.25 },
    // Cityscapes-like: more people and bicycles, fewer trucks and buses (`versions.ts`).
    counts: SCENE_VERSIONS[1].counts.real,
    absent: [],
    vehicleColours: [
      [60, 62, 66],
      [180, 182, 184],
      [30, 32, 36],
      [210, 210, 208],
      [120, 124, 130],
      [70, 40, 40],
      [40, 50, 80],
    ],
  },
  synthia: {
    cameraHeight: [4.5, 7],
    horizon: [0.22, 0.32],
    palette: SYNTHIA_PALETTE,
    colourJitter: 25,
    texture: 8,
    outline: false,
    lighting: 0.35,
    noise: 1.5,
    blur: 0.3,
    vignette: 0.1,
    gamma: 1.1,
    saturation: 1.1,
    tint: [0.97, 1.0, 1.05],
    haze: { colour: [170, 180, 200], density: 0.6 },
    counts: SCENE_VERSIONS[1].counts.synthia,
    // The 16 SYNTHIA classes: no terrain (9), truck (14) or train (16).
    absent: [9, 14, 16],
    vehicleColours: [[220, 40, 40], [40, 40, 220], [240, 240, 60], [240, 240, 240], [40, 40, 40]],
  },
};

/** Mean object counts over the fixed domains: the centre of the randomized domain's counts. */
function meanCounts(
  perDomain: Readonly<Record<FixedDomain, ObjectCounts>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  const domains = Object.values(perDomain);
  for (const key of Object.keys(perDomain.game)) {
    out[key] = domains.reduce((a, d) => a + d[key], 0) / domains.length;
  }
  return out;
}

/**
 * A style drawn for one image of the `randomized` domain: a random colour per class, random
 * materials, lighting, optics and tone, camera heights from a car's to SYNTHIA's, object counts
 * around the other domains' mean (of scene version `version`), and every class possible. Colour
 * therefore says nothing about a class from one image to the next: a network trained on it must
 * use shape and context.
 */
export function randomStyle(rng: RandomStream, version = LATEST_SCENE_VERSION): DomainStyle {
  const colour = (): RGB => [rng.int(256), rng.int(256), rng.int(256)];
  const counts = meanCounts(sceneGeometry(version).counts);
  for (const key of Object.keys(counts)) counts[key] *= rng.uniform(0.5, 1.5);
  const low = rng.uniform(1.1, 5);
  const horizon = rng.uniform(0.22, 0.46);
  return {
    cameraHeight: [low, low + rng.uniform(0.2, 1.5)],
    horizon: [horizon, horizon + 0.04],
    palette: Array.from({ length: 19 }, colour),
    colourJitter: rng.uniform(5, 40),
    texture: rng.uniform(0, 25),
    outline: rng.bernoulli(0.3),
    lighting: rng.uniform(0, 0.6),
    noise: rng.uniform(0, 6),
    blur: rng.uniform(0, 1.2),
    vignette: rng.uniform(0, 0.35),
    gamma: rng.uniform(0.7, 1.4),
    saturation: rng.uniform(0.4, 1.5),
    tint: [rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)],
    haze: { colour: colour(), density: rng.uniform(0, 0.8) },
    counts,
    absent: [],
    vehicleColours: Array.from({ length: 5 }, colour),
  };
}

const VERSION_STYLES = new Map<string, DomainStyle>();

/** `STYLES[domain]` (version 1's look) with scene version `version`'s counts and changes. */
function versionStyle(domain: FixedDomain, version: number): DomainStyle {
  const { counts, appearance } = sceneGeometry(version);
  const changes = appearance[domain] ?? {};
  const palette = STYLES[domain].palette.map((colour, c) => changes.palette?.[c] ?? colour);
  return { ...STYLES[domain], ...changes.style, palette, counts: counts[domain] };
}

/** The style of image `index` of `domain` under `seed`, in scene version `version`. */
export function styleFor(
  domain: Domain,
  seed: number,
  index: number,
  version = LATEST_SCENE_VERSION,
): DomainStyle {
  if (domain === "randomized") {
    return randomStyle(new RandomStream(seed).fork(`synthcity-style:${index}`), version);
  }
  const key = `${domain}:${version}`;
  if (!VERSION_STYLES.has(key)) VERSION_STYLES.set(key, versionStyle(domain, version));
  return VERSION_STYLES.get(key)!;
}
