/**
 * What the main thread and the data workers say to each other.
 *
 * A worker loads its *source* by module URL and export name with plain-data options, so any
 * dataset (SynthCity, a real-format reader) plugs in without the worker knowing it. The export is
 * a function `(options) => Source | Promise<Source>`.
 *
 * @module
 */
import type { Example } from "../transforms/geometry.ts";
import type { PipelineSpec, Processed } from "../transforms/pipeline.ts";
import type { FramePair } from "../video/pairs.ts";

/** A dataset as the workers see it. */
export interface Source {
  /** Number of distinct examples; indices wrap around. */
  size: number;
  /** The example at `index` (0 ≤ index < size), with its name for error messages. */
  get(index: number): Promise<Example & { name: string }>;
  /** Frame pair datasets: example `index` with frame t−k and the flow (`runtime/data/video/`). */
  getPair?(index: number): Promise<FramePair>;
}

/** Where to load a source from. */
export interface SourceSpec {
  /** Module URL (`file://…`, e.g. `new URL("./x.ts", import.meta.url).href`). */
  module: string;
  /** Name of the exported factory. */
  exportName: string;
  /** Plain-data options passed to the factory. */
  options: unknown;
}

/**
 * Main → worker. `init` carries the main thread's label policy (`label_policy.ts`), which a
 * worker, being its own isolate, would not otherwise see.
 */
export type Request =
  | {
    type: "init";
    source: SourceSpec;
    pipeline: PipelineSpec;
    seed: number;
    strictLabels: boolean;
  }
  | { type: "get"; index: number };

/**
 * Worker → main. A `warning` is printed by the main thread, which alone knows whether another
 * worker (or the main thread itself) already printed it (`warnings.ts`); it is posted before the
 * reply of the sample that raised it, so it arrives even if the loader closes right after.
 */
export type Reply =
  | { type: "ready"; size: number }
  | { type: "warning"; key: string; message: string }
  | { type: "sample"; index: number; name: string; sample: Processed }
  | { type: "error"; index: number; message: string };
