/**
 * How large and how frequent each class is in SynthCity: the numbers behind the benchmark's
 * learnability (`docs/benchmark.md`) and the tables of `docs/synthcity.md`, which
 * `deno task data geometry --update docs/synthcity.md` regenerates from the generator.
 *
 * An instance is a 4-connected region of one class in the label map: what a network sees of an
 * object at the resolution it is trained on (an occluded car split by a pole counts twice).
 *
 * @module
 */
import { CLASS_NAMES, NUM_CLASSES } from "../labels.ts";
import type { Domain } from "./domains.ts";
import { generateScene } from "./mod.ts";

/** Per-class geometry over a set of images. */
export interface ClassGeometry {
  /** Share of labelled pixels (0–1). */
  pixelShare: number;
  /** Share of images that contain the class (0–1). */
  imageShare: number;
  /** Instances (connected regions) per image. */
  instancesPerImage: number;
  /** Median instance area in pixels (0 when the class never occurs). */
  medianArea: number;
}

/** The sizes of the 4-connected regions of each class in one label map. */
export function regionAreas(label: Uint8Array, width: number, height: number): number[][] {
  const areas: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  const seen = new Uint8Array(label.length);
  const stack: number[] = [];
  for (let start = 0; start < label.length; start++) {
    const c = label[start];
    if (c >= NUM_CLASSES || seen[start]) continue;
    let area = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      area++;
      const x = p % width;
      const neighbours = [
        x > 0 ? p - 1 : -1,
        x < width - 1 ? p + 1 : -1,
        p >= width ? p - width : -1,
        p < width * (height - 1) ? p + width : -1,
      ];
      for (const q of neighbours) {
        if (q >= 0 && !seen[q] && label[q] === c) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    areas[c].push(area);
  }
  return areas;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Options of {@linkcode classGeometry}. */
export interface GeometryOptions {
  /** Rendering domain. */
  domain: Domain;
  /** Images measured (indices 0..count−1). */
  count: number;
  /** Dataset seed. */
  seed: number;
  /** Rendered size. */
  width: number;
  /** Rendered height. */
  height: number;
  /** Scene version. */
  version?: number;
}

/** Per-class pixel share, image share, instances per image and median instance area. */
export function classGeometry(options: GeometryOptions): ClassGeometry[] {
  const pixels = new Array<number>(NUM_CLASSES).fill(0);
  const images = new Array<number>(NUM_CLASSES).fill(0);
  const areas: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  let labelled = 0;
  for (let index = 0; index < options.count; index++) {
    const { label, width, height } = generateScene({ ...options, index });
    const regions = regionAreas(label, width, height);
    regions.forEach((list, c) => {
      if (list.length === 0) return;
      images[c]++;
      for (const area of list) {
        pixels[c] += area;
        labelled += area;
        areas[c].push(area);
      }
    });
  }
  return CLASS_NAMES.map((_, c) => ({
    pixelShare: labelled === 0 ? 0 : pixels[c] / labelled,
    imageShare: images[c] / options.count,
    instancesPerImage: areas[c].length / options.count,
    medianArea: median(areas[c]),
  }));
}
