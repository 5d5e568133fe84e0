/**
 * SynthCity sequences as a frame-pair dataset, in memory: scene `sequence` of (domain, seed) seen
 * over `frames` frames (the camera drives forward, objects move, as `generateSequence` renders
 * them), each frame t paired with frame t−k and the exact flow between them (`flow.ts`).
 * Every pair is a pure function of (domain, seed, sequence, frame, offset, size, version).
 *
 * @module
 */
import { buildScene } from "../synthcity/scene.ts";
import { renderScene } from "../synthcity/render.ts";
import { renderWithSurfaces, sceneFlow } from "../synthcity/flow.ts";
import {
  checkDomain,
  type Domain,
  LATEST_SCENE_VERSION,
  SYNTHCITY_HEIGHT,
  SYNTHCITY_WIDTH,
} from "../synthcity/mod.ts";
import type { NamedExample } from "../dataset.ts";
import { checkOffset, type FramePair, type FramePairDataset } from "./pairs.ts";

/** Frames of a Cityscapes sequence snippet (its 20th, index 19, is the labelled one). */
export const SNIPPET_FRAMES = 30;

/** What identifies one pair of SynthCity frames. */
export interface SynthCityPairRequest {
  /** Rendering domain. */
  domain: Domain;
  /** Dataset seed. */
  seed: number;
  /** Sequence (scene) index. */
  sequence: number;
  /** Frame t. */
  frame: number;
  /** Offset k: the pair is (t, t−k). */
  offset: number;
  /** Width (default 512). */
  width?: number;
  /** Height (default 256). */
  height?: number;
  /** Scene version (default the latest). */
  version?: number;
}

/** The name of frame `frame` of a sequence, as errors and reports show it. */
export function sequenceFrameName(
  domain: Domain,
  seed: number,
  sequence: number,
  frame: number,
): string {
  return `synthcity/${domain}/s${seed}/seq${sequence}/${frame}`;
}

/** Frame t with frame t−k and the exact flow t → t−k. */
export function synthCityPair(request: SynthCityPairRequest): FramePair {
  checkDomain(request.domain);
  const { domain, seed, sequence, frame, offset } = request;
  checkOffset(offset, "synthCityPair");
  const width = request.width ?? SYNTHCITY_WIDTH;
  const height = request.height ?? SYNTHCITY_HEIGHT;
  const scene = buildScene(domain, seed, sequence, request.version ?? LATEST_SCENE_VERSION);
  const current = renderWithSurfaces(scene, frame, width, height);
  const previous = renderWithSurfaces(scene, frame - offset, width, height);
  const { flow, valid } = sceneFlow(scene, current, previous);
  return {
    image: current.image,
    label: current.label,
    width,
    height,
    channels: 3,
    name: sequenceFrameName(domain, seed, sequence, frame),
    offset,
    previous: {
      image: previous.image,
      name: sequenceFrameName(domain, seed, sequence, frame - offset),
    },
    flow,
    flowValid: valid,
  };
}

/** Options of {@linkcode openSynthCitySequence}. */
export interface SynthCitySequenceOptions {
  /** Rendering domain. */
  domain: Domain;
  /** Number of sequences (scenes). */
  sequences: number;
  /** Frames per sequence (default 30, a Cityscapes snippet). */
  frames?: number;
  /** Offset k of the pairs (default 1). */
  offset?: number;
  /** Dataset seed (default 0). */
  seed?: number;
  /** Image width (default 512). */
  width?: number;
  /** Image height (default 256). */
  height?: number;
  /** Scene version (default the latest). */
  version?: number;
}

/**
 * SynthCity sequences as an in-memory frame-pair dataset. Example i is frame t = max(k, 0) +
 * (i mod (frames − |k|)) of sequence ⌊i / (frames − |k|)⌋: every frame whose frame t−k exists.
 */
export function openSynthCitySequence(options: SynthCitySequenceOptions): FramePairDataset {
  checkDomain(options.domain);
  const frames = options.frames ?? SNIPPET_FRAMES;
  const offset = checkOffset(options.offset ?? 1, "SynthCity sequences");
  const { sequences, domain } = options;
  if (!(Number.isInteger(sequences) && sequences > 0)) {
    throw new RangeError(
      `SynthCity sequences: sequences must be a positive integer, got ${sequences}.`,
    );
  }
  if (!(Number.isInteger(frames) && frames > Math.abs(offset))) {
    throw new RangeError(
      `SynthCity sequences: ${frames} frames per sequence leave no pair at offset ${offset}; ` +
        `choose more frames than |offset|.`,
    );
  }
  const seed = options.seed ?? 0;
  const version = options.version ?? LATEST_SCENE_VERSION;
  const width = options.width ?? SYNTHCITY_WIDTH;
  const height = options.height ?? SYNTHCITY_HEIGHT;
  const perSequence = frames - Math.abs(offset);
  const first = Math.max(offset, 0); // the first frame t whose frame t−k exists
  const size = sequences * perSequence;
  const locate = (index: number) => {
    if (!(Number.isInteger(index) && index >= 0 && index < size)) {
      throw new RangeError(`SynthCity sequences: index ${index} outside 0..${size - 1}`);
    }
    return { sequence: Math.floor(index / perSequence), frame: first + (index % perSequence) };
  };
  const render = (index: number) => {
    const { sequence, frame } = locate(index);
    const scene = buildScene(domain, seed, sequence, version);
    const f = renderScene(scene, frame, width, height);
    return { ...f, name: sequenceFrameName(domain, seed, sequence, frame) };
  };
  return {
    kind: "synthcitySequence",
    root: `synthcity:${domain}`,
    // Frames, offset and version join the split so caches keyed on (root, split) never mix them.
    split: `seed${seed}-v${version}-f${frames}-k${offset}`,
    size,
    offset,
    hasFlow: true,
    get(index: number): Promise<NamedExample> {
      const f = render(index);
      return Promise.resolve({ ...f, channels: 3 });
    },
    getLabel(index: number) {
      const { label, width, height, name } = render(index);
      return Promise.resolve({ label, width, height, name });
    },
    getPair(index: number): Promise<FramePair> {
      const { sequence, frame } = locate(index);
      return Promise.resolve(
        synthCityPair({ domain, seed, sequence, frame, offset, width, height, version }),
      );
    },
  };
}
