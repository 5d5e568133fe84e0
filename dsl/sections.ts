/**
 * The places of an experiment: which family of block each section and data slot holds, which
 * ones may be absent, and which data are trained on or evaluated. These are places, not kinds:
 * any block of the family fits, so a new kind needs no change here.
 *
 * @module
 */

/** A place that holds one block. */
export interface Place {
  /** The family its block belongs to. */
  readonly family: string;
  /** True when the place may be absent (and `off` removes it in a patch). */
  readonly optional: boolean;
  /** Data slots: whether the set is cropped for training or evaluated whole. */
  readonly role?: "train" | "eval";
}

/** The top-level sections that hold one block, in canonical order. */
export const SECTION_PLACES: Readonly<Record<string, Place>> = {
  model: { family: "model", optional: false },
  resolution: { family: "resolution", optional: true },
  teacher: { family: "teacher", optional: true },
  mixing: { family: "mixing", optional: true },
  optimizer: { family: "optimizer", optional: false },
  schedule: { family: "schedule", optional: false },
  evaluation: { family: "evaluation", optional: false },
  run: { family: "run", optional: false },
};

/** The slots of the `data` section. */
export const DATA_PLACES: Readonly<Record<string, Place>> = {
  source: { family: "dataset", optional: false, role: "train" },
  target: { family: "dataset", optional: false, role: "train" },
  targetVal: { family: "dataset", optional: false, role: "eval" },
  sourceVal: { family: "dataset", optional: true, role: "eval" },
  sampling: { family: "sampler", optional: true },
  loader: { family: "loader", optional: false },
};

/** The family of every entry of `losses`. */
export const LOSS_FAMILY = "loss";

/** Every section name. */
export const SECTIONS: readonly string[] = [...Object.keys(SECTION_PLACES), "data", "losses"];

/** The places `off` removes besides loss terms: `teacher`, `mixing`, `data.sourceVal`, ... */
export const OPTIONAL_PLACES: readonly string[] = [
  ...Object.entries(SECTION_PLACES).filter(([, s]) => s.optional).map(([k]) => k),
  ...Object.entries(DATA_PLACES).filter(([, s]) => s.optional).map(([k]) => `data.${k}`),
];

/** Loss-term names: identifiers, since they become metric names. */
export const TERM_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The role of the data slot at `path` (`data.source` → `train`), if it is one. */
export function dataRole(path: string): "train" | "eval" | undefined {
  const [section, slot, ...rest] = path.split(".");
  if (section !== "data" || rest.length > 0 || !Object.hasOwn(DATA_PLACES, slot)) return undefined;
  return DATA_PLACES[slot].role;
}

/**
 * True when `path` names a place that holds a whole block (`teacher`, `data.sampling`,
 * `losses.ce`), where `off` is meaningful, rather than a field inside a block.
 */
export function isPlacePath(path: readonly string[]): boolean {
  if (path.length === 1) return Object.hasOwn(SECTION_PLACES, path[0]);
  if (path.length !== 2) return false;
  return path[0] === "losses" || (path[0] === "data" && Object.hasOwn(DATA_PLACES, path[1]));
}
