/**
 * SynthCity, the embedded two-domain benchmark: street scenes labelled with the 19 Cityscapes
 * train classes, rendered as a `game` (GTA5-like source), a `real` (Cityscapes-like target) or a
 * `synthia` (SYNTHIA-like second source: high camera, 16 classes) domain. Every image is a pure
 * function of (domain, seed, index); sequences are consecutive frames of one scene.
 *
 * @module
 */
import { NUM_CLASSES } from "../labels.ts";
import type { NamedExample, SegmentationDataset } from "../dataset.ts";
import { type Domain, DOMAINS } from "./domains.ts";
import { buildScene } from "./scene.ts";
import { LATEST_SCENE_VERSION } from "./versions.ts";
import { type Frame, renderScene } from "./render.ts";

export { type Domain, DOMAINS, STYLES } from "./domains.ts";
export { LATEST_SCENE_VERSION, SCENE_VERSIONS } from "./versions.ts";
export type { Frame } from "./render.ts";

/** Native SynthCity resolution (trained at half scale, 256×128). */
export const SYNTHCITY_WIDTH = 512;
/** Native height. */
export const SYNTHCITY_HEIGHT = 256;

/** What identifies one generated image. */
export interface SceneRequest {
  /** Rendering domain. */
  domain: Domain;
  /** Dataset seed. */
  seed: number;
  /** Image index within the dataset. */
  index: number;
  /** Width (default 512). */
  width?: number;
  /** Height (default 256). */
  height?: number;
  /** Scene version (`versions.ts`; default the latest). */
  version?: number;
}

/** Fails with the valid domains unless `domain` is one. */
export function checkDomain(domain: string): asserts domain is Domain {
  if (!DOMAINS.includes(domain as Domain)) {
    throw new Error(`SynthCity: unknown domain '${domain}'; choose one of ${DOMAINS.join(", ")}.`);
  }
}

/** One image and its label. */
export function generateScene(request: SceneRequest): Frame & { name: string } {
  checkDomain(request.domain);
  const scene = buildScene(request.domain, request.seed, request.index, request.version);
  const frame = renderScene(
    scene,
    0,
    request.width ?? SYNTHCITY_WIDTH,
    request.height ?? SYNTHCITY_HEIGHT,
  );
  return { ...frame, name: `synthcity/${request.domain}/s${request.seed}/${request.index}` };
}

/** `frames` consecutive frames of scene `sequence`: the camera drives forward, objects move. */
export function generateSequence(
  domain: Domain,
  seed: number,
  sequence: number,
  frames: number,
  width = SYNTHCITY_WIDTH,
  height = SYNTHCITY_HEIGHT,
  version = LATEST_SCENE_VERSION,
): Frame[] {
  checkDomain(domain);
  const scene = buildScene(domain, seed, sequence, version);
  return Array.from({ length: frames }, (_, t) => renderScene(scene, t, width, height));
}

/** Options of {@linkcode openSynthCity}. */
export interface SynthCityOptions {
  /** Rendering domain. */
  domain: Domain;
  /** Number of images. */
  count: number;
  /** Dataset seed. */
  seed?: number;
  /** Image width. */
  width?: number;
  /** Image height. */
  height?: number;
  /** Scene version (`versions.ts`; default the latest). */
  version?: number;
}

/** SynthCity as an in-memory dataset (also the factory the data workers load by name). */
export function openSynthCity(options: SynthCityOptions): SegmentationDataset {
  checkDomain(options.domain);
  if (!(Number.isInteger(options.count) && options.count > 0)) {
    throw new Error(`SynthCity: count must be a positive integer, got ${options.count}.`);
  }
  const seed = options.seed ?? 0;
  const make = (index: number) =>
    generateScene({
      domain: options.domain,
      seed,
      index,
      width: options.width,
      height: options.height,
      version: options.version,
    });
  return {
    kind: "synthcity",
    root: `synthcity:${options.domain}`,
    // The version joins the split so caches keyed on (root, split) never mix versions.
    split: `seed${seed}-v${options.version ?? LATEST_SCENE_VERSION}`,
    size: options.count,
    get(index: number): Promise<NamedExample> {
      const f = make(index);
      return Promise.resolve({
        image: f.image,
        label: f.label,
        width: f.width,
        height: f.height,
        channels: 3,
        name: f.name,
      });
    },
    getLabel(index: number) {
      const f = make(index);
      return Promise.resolve({ label: f.label, width: f.width, height: f.height, name: f.name });
    },
  };
}

/** Fraction of labelled pixels of each class over `count` images of `domain`. */
export function classFrequencies(
  domain: Domain,
  count: number,
  seed = 0,
  width = SYNTHCITY_WIDTH,
  height = SYNTHCITY_HEIGHT,
): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  let total = 0;
  for (let i = 0; i < count; i++) {
    for (const v of generateScene({ domain, seed, index: i, width, height }).label) {
      if (v < NUM_CLASSES) {
        counts[v]++;
        total++;
      }
    }
  }
  return counts.map((c) => c / total);
}
