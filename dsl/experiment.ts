/**
 * Experiments: the typed root object, its validation, and `extend`.
 *
 * An experiment is plain frozen data. `experiment()` fills every optional section with the
 * published defaults and validates the whole tree, naming the path of each offending value
 * (`data.target.crop`, `losses.ce.weight`); `extend()` applies a patch and validates again.
 *
 * @module
 */
import {
  type AnyBlock,
  blockDefinition,
  deepFreeze,
  explicitFields,
  isBlock,
  isOff,
  kindsOf,
  makeBlock,
  type Off,
} from "./block.ts";
import { checkValue, type Field } from "./schema.ts";
import type { DecoderBlock, EncoderBlock, ModelBlock } from "./blocks/model.ts";
import { type DatasetBlock, loader, type LoaderBlock } from "./blocks/data.ts";
import type { LossBlock } from "./blocks/losses.ts";
import { adamw, type OptimizerBlock, poly, type ScheduleBlock } from "./blocks/optim.ts";
import { evaluation, type EvaluationBlock, type RunBlock, runSettings } from "./blocks/run.ts";
import type { MixingBlock, SamplerBlock, TeacherBlock } from "./blocks/strategies.ts";

/** The data section: training domains, validation sets, batching. */
export interface DataSection {
  /** Labelled source-domain training data. */
  readonly source: DatasetBlock;
  /** Unlabelled target-domain training data (its labels are never read in training). */
  readonly target: DatasetBlock;
  /** Labelled target validation set: the reported mIoU. */
  readonly targetVal: DatasetBlock;
  /** Optional source validation set, to show the domain gap. */
  readonly sourceVal?: DatasetBlock;
  /** How source images are drawn: uniformly when absent, or `rareClassSampling()`. */
  readonly sampling?: SamplerBlock;
  /** Batching and prefetching. */
  readonly loader: LoaderBlock;
}

/** A complete, validated experiment. */
export interface Experiment {
  /** The network trained (the student). */
  readonly model: ModelBlock;
  /** Datasets and batching. */
  readonly data: DataSection;
  /** Named loss terms; the training loss is Σ weight × term. */
  readonly losses: Readonly<Record<string, LossBlock>>;
  /** The teacher that makes pseudo-labels for the target (self-training), if any. */
  readonly teacher?: TeacherBlock;
  /** How source and target are mixed for the self-training term, if at all. */
  readonly mixing?: MixingBlock;
  /** The optimiser. */
  readonly optimizer: OptimizerBlock;
  /** The learning-rate schedule. */
  readonly schedule: ScheduleBlock;
  /** Periodic evaluation. */
  readonly evaluation: EvaluationBlock;
  /** Iterations, seed, backend, logging, checkpoints. */
  readonly run: RunBlock;
}

/** What `experiment()` takes: sections with published defaults may be left out. */
export interface ExperimentSpec {
  /** The network. */
  model: ModelBlock;
  /** Datasets; `loader` defaults to batch 2 with one worker. */
  data: Omit<DataSection, "loader"> & { readonly loader?: LoaderBlock };
  /** Named loss terms. */
  losses: Readonly<Record<string, LossBlock>>;
  /** Self-training teacher (none by default). */
  teacher?: TeacherBlock;
  /** Mixing for the self-training term (none by default). */
  mixing?: MixingBlock;
  /** Defaults to `adamw()` (published). */
  optimizer?: OptimizerBlock;
  /** Defaults to `poly()` (published). */
  schedule?: ScheduleBlock;
  /** Defaults to `evaluation()`. */
  evaluation?: EvaluationBlock;
  /** Defaults to `runSettings()` (40k iterations). */
  run?: RunBlock;
}

/** A patch of a block: a whole block (same kind merges, other kind replaces) or some fields. */
export type BlockPatch<B> = B extends AnyBlock ? B | FieldsPatch<B> : never;

/** Some fields of a block; nested blocks may themselves be patched. */
export type FieldsPatch<B> = {
  readonly [K in Exclude<keyof B, "kind">]?: B[K] extends AnyBlock ? BlockPatch<B[K]> : B[K];
};

/** What `extend()` takes. */
export interface ExperimentPatch {
  /** Model changes. */
  readonly model?: BlockPatch<ModelBlock>;
  /** Data changes, key by key; `sourceVal: off` removes the source validation set. */
  readonly data?: {
    readonly source?: BlockPatch<DatasetBlock>;
    readonly target?: BlockPatch<DatasetBlock>;
    readonly targetVal?: BlockPatch<DatasetBlock>;
    readonly sourceVal?: BlockPatch<DatasetBlock> | Off;
    readonly sampling?: BlockPatch<SamplerBlock> | Off;
    readonly loader?: BlockPatch<LoaderBlock>;
  };
  /** Loss changes, term by term; `off` removes a term, a new name adds one. */
  readonly losses?: Readonly<Record<string, BlockPatch<LossBlock> | Off>>;
  /** Teacher changes; `off` removes the teacher. */
  readonly teacher?: BlockPatch<TeacherBlock> | Off;
  /** Mixing changes; `off` removes mixing. */
  readonly mixing?: BlockPatch<MixingBlock> | Off;
  /** Optimiser changes. */
  readonly optimizer?: BlockPatch<OptimizerBlock>;
  /** Schedule changes. */
  readonly schedule?: BlockPatch<ScheduleBlock>;
  /** Evaluation changes. */
  readonly evaluation?: BlockPatch<EvaluationBlock>;
  /** Run-setting changes. */
  readonly run?: BlockPatch<RunBlock>;
}

/** One problem found in an experiment. */
export interface Issue {
  /** Dotted path of the offending value. */
  path: string;
  /** What is wrong and what would be right. */
  message: string;
}

/** An invalid experiment or patch; `issues` lists every problem with its path. */
export class ExperimentError extends Error {
  override name = "ExperimentError";
  /** The problems. */
  readonly issues: readonly Issue[];

  /** Builds the one-paragraph message from the issues. */
  constructor(issues: readonly Issue[], context = "experiment") {
    super(
      `${context} is invalid: ` +
        issues.map((i) => `${i.path}: ${i.message}`).join("; ") +
        ". Fix the value in the experiment file (or the --set override) and run again.",
    );
    this.issues = issues;
  }
}

interface Slot {
  family: string;
  optional: boolean;
}
const SINGLE_SECTIONS: Record<string, Slot> = {
  model: { family: "model", optional: false },
  teacher: { family: "teacher", optional: true },
  mixing: { family: "mixing", optional: true },
  optimizer: { family: "optimizer", optional: false },
  schedule: { family: "schedule", optional: false },
  evaluation: { family: "evaluation", optional: false },
  run: { family: "run", optional: false },
};
const DATA_SLOTS: Record<string, Slot> = {
  source: { family: "dataset", optional: false },
  target: { family: "dataset", optional: false },
  targetVal: { family: "dataset", optional: false },
  sourceVal: { family: "dataset", optional: true },
  sampling: { family: "sampler", optional: true },
  loader: { family: "loader", optional: false },
};
const OPTIONAL_PLACES = [
  ...Object.entries(SINGLE_SECTIONS).filter(([, s]) => s.optional).map(([k]) => k),
  ...Object.entries(DATA_SLOTS).filter(([, s]) => s.optional).map(([k]) => `data.${k}`),
];
const SECTIONS = [...Object.keys(SINGLE_SECTIONS), "data", "losses"];
const EXPERIMENT = Symbol("experiment");
const TERM_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** The encoder's output stride: crops must be multiples of it. */
const ENCODER_STRIDE = 32;

/** True for an object made by {@linkcode experiment} or {@linkcode extend}. */
export function isExperiment(value: unknown): value is Experiment {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[EXPERIMENT] === true;
}

function validateBlock(value: unknown, family: string, path: string, issues: Issue[]): void {
  if (!isBlock(value)) {
    issues.push({
      path,
      message: `expected a ${family} block (${kindsOf(family).join(", ")}), got ${
        JSON.stringify(value) ?? "nothing"
      }`,
    });
    return;
  }
  const definition = blockDefinition(value.kind)!;
  if (definition.family !== family) {
    issues.push({
      path,
      message: `${value.kind} is a ${definition.family} block; this place needs a ${family} ` +
        `block (${kindsOf(family).join(", ")})`,
    });
    return;
  }
  const schema = definition.schema as Record<string, Field>;
  const record = value as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== "kind" && !(key in schema)) {
      issues.push({ path: `${path}.${key}`, message: unknownField(value.kind, key, schema) });
    }
  }
  for (const [name, field] of Object.entries(schema)) {
    const fieldPath = `${path}.${name}`;
    if (field.type === "block") validateBlock(record[name], field.family, fieldPath, issues);
    else {
      const problem = checkValue(field, record[name]);
      if (problem !== undefined) issues.push({ path: fieldPath, message: problem });
    }
  }
}

function unknownField(kind: string, key: string, schema: Record<string, Field>): string {
  const names = Object.keys(schema);
  const close = names.find((n) =>
    n.toLowerCase() === key.toLowerCase() || editDistance(n, key) <= 2
  );
  return `${kind} has no field '${key}'${close ? ` (did you mean '${close}'?)` : ""}; its fields ` +
    `are ${names.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** The keep-ratio size mmseg's `Resize(img_scale, keep_ratio=True)` gives. */
function keepRatio(width: number, height: number, scale: readonly [number, number]): number[] {
  if (scale[0] === 0 && scale[1] === 0) return [width, height];
  const [long, short] = [Math.max(...scale), Math.min(...scale)];
  const factor = Math.min(long / Math.max(width, height), short / Math.min(width, height));
  return [Math.round(width * factor), Math.round(height * factor)];
}

/** What types cannot see about teachers, mixing and the terms that read them. */
function selfTrainingChecks(x: Experiment, issues: Issue[]): void {
  const reads = new Set<string>();
  for (const [name, term] of Object.entries(x.losses)) {
    if (term.kind === "crossEntropy" && term.on !== "source") {
      reads.add(term.on);
      if (x.teacher === undefined) {
        issues.push({
          path: `losses.${name}.on`,
          message: `"${term.on}" trains on the teacher's pseudo-labels, but the experiment has ` +
            `no teacher; add teacher: emaTeacher()`,
        });
      }
      if (term.on === "mixed" && x.mixing === undefined) {
        issues.push({
          path: `losses.${name}.on`,
          message: `"mixed" reads the mixed batch, but the experiment has no mixing; add ` +
            `mixing: classMix(), or train on "target"`,
        });
      }
    }
    if (term.kind === "featureDistance") {
      if (term.encoder === "" && x.model.encoder.pretrained === "") {
        issues.push({
          path: `losses.${name}.encoder`,
          message: "the frozen encoder defaults to model.encoder.pretrained, which is empty; " +
            "name a weights file or experiment here or there",
        });
      }
      const bad = term.classes.filter((c) => !Number.isInteger(c) || c >= x.model.numClasses);
      if (bad.length > 0) {
        issues.push({
          path: `losses.${name}.classes`,
          message: `[${bad}] are not class ids of this ${x.model.numClasses}-class model`,
        });
      }
    }
  }
  if (x.teacher !== undefined && reads.size === 0) {
    issues.push({
      path: "teacher",
      message: 'no loss term reads pseudo-labels; add crossEntropy({ on: "mixed" }) (or ' +
        '"target"), or remove the teacher with off',
    });
  }
  if (x.mixing !== undefined && !reads.has("mixed")) {
    issues.push({
      path: "mixing",
      message: 'no loss term reads the mixed batch; add crossEntropy({ on: "mixed" }), or ' +
        "remove mixing with off",
    });
  }
  if (x.mixing !== undefined && x.data.source.crop.join() !== x.data.target.crop.join()) {
    issues.push({
      path: "data.target.crop",
      message: `ClassMix pastes source pixels onto target crops, so both crops must be equal ` +
        `(source [${x.data.source.crop}], target [${x.data.target.crop}])`,
    });
  }
  if (x.teacher !== undefined) {
    const [top, bottom, left, right] = x.teacher.margins;
    if (top + bottom >= 1 || left + right >= 1) {
      issues.push({
        path: "teacher.margins",
        message: "the margins [top, bottom, left, right] would cover the whole crop",
      });
    }
  }
}

function crossChecks(x: Experiment, issues: Issue[]): void {
  const terms = Object.keys(x.losses);
  if (terms.length === 0) {
    issues.push({ path: "losses", message: "an experiment needs at least one loss term" });
  }
  for (const name of terms) {
    if (!TERM_NAME.test(name)) {
      issues.push({
        path: `losses.${name}`,
        message: "term names are identifiers (letters, digits, _), used as metric names",
      });
    }
  }
  selfTrainingChecks(x, issues);
  if (x.data.target.catMaxRatio < 1) {
    issues.push({
      path: "data.target.catMaxRatio",
      message: `the category-ratio crop check reads the crop's labels, and target labels must ` +
        `not steer training in UDA; set it to 1 (as the reference's Cityscapes pipeline)`,
    });
  }
  for (const role of ["source", "target"] as const) {
    const d = x.data[role];
    if (!isBlock(d) || d.kind !== "synthCity") continue;
    // SynthCity renders 512×256: the crop must fit the resized image.
    const [w, h] = keepRatio(512, 256, d.scale);
    if (Array.isArray(d.crop) && (d.crop[0] > h || d.crop[1] > w)) {
      issues.push({
        path: `data.${role}.crop`,
        message: `crop [${d.crop}] ([height, width]) is larger than the ${w}×${h} image that ` +
          `scale [${d.scale}] gives`,
      });
    }
  }
  for (const role of ["targetVal", "sourceVal"] as const) {
    const d = x.data[role];
    if (!isBlock(d) || d.kind !== "synthCity") continue;
    const [w, h] = keepRatio(512, 256, d.scale);
    if (w % ENCODER_STRIDE !== 0 || h % ENCODER_STRIDE !== 0) {
      issues.push({
        path: `data.${role}.scale`,
        message: `evaluation images of ${w}×${h} are not multiples of the encoder stride ` +
          `${ENCODER_STRIDE}; choose a scale such as [256, 128] or [512, 256]`,
      });
    }
  }
}

/** Validates a whole experiment tree; returns the problems (empty when valid). */
export function validateExperiment(value: unknown): Issue[] {
  const issues: Issue[] = [];
  if (typeof value !== "object" || value === null) {
    return [{ path: "(root)", message: "an experiment is an object made by experiment()" }];
  }
  const x = value as Record<string, unknown>;
  for (const key of Object.keys(x)) {
    if (!SECTIONS.includes(key)) {
      issues.push({
        path: key,
        message: `unknown section; the sections are ${SECTIONS.join(", ")}`,
      });
    }
  }
  for (const [section, slot] of Object.entries(SINGLE_SECTIONS)) {
    if (slot.optional && x[section] === undefined) continue;
    validateBlock(x[section], slot.family, section, issues);
  }
  const data = x.data as Record<string, unknown> | undefined;
  if (typeof data !== "object" || data === null) {
    issues.push({ path: "data", message: "expected { source, target, targetVal, loader }" });
  } else {
    for (const key of Object.keys(data)) {
      if (!(key in DATA_SLOTS)) {
        issues.push({
          path: `data.${key}`,
          message: `unknown entry; data has ${Object.keys(DATA_SLOTS).join(", ")}`,
        });
      }
    }
    for (const [key, slot] of Object.entries(DATA_SLOTS)) {
      if (slot.optional && data[key] === undefined) continue;
      validateBlock(data[key], slot.family, `data.${key}`, issues);
    }
  }
  const losses = x.losses as Record<string, unknown> | undefined;
  if (typeof losses !== "object" || losses === null || Array.isArray(losses)) {
    issues.push({ path: "losses", message: "expected a record of named loss terms" });
  } else {
    for (const [name, term] of Object.entries(losses)) {
      validateBlock(term, "loss", `losses.${name}`, issues);
    }
  }
  if (issues.length === 0) crossChecks(value as Experiment, issues);
  return issues;
}

function seal(value: Record<string, unknown>): Experiment {
  const issues = validateExperiment(value);
  if (issues.length > 0) throw new ExperimentError(issues);
  Object.defineProperty(value, EXPERIMENT, { value: true, enumerable: false });
  return deepFreeze(value) as unknown as Experiment;
}

/**
 * Builds a validated experiment, filling the sections left out with the published defaults.
 * Throws {@linkcode ExperimentError} naming every offending path.
 */
export function experiment(spec: ExperimentSpec): Experiment {
  return seal({
    model: spec.model,
    data: {
      ...spec.data,
      loader: spec.data?.loader ?? loader(),
    },
    losses: { ...spec.losses },
    ...(spec.teacher === undefined ? {} : { teacher: spec.teacher }),
    ...(spec.mixing === undefined ? {} : { mixing: spec.mixing }),
    optimizer: spec.optimizer ?? adamw(),
    schedule: spec.schedule ?? poly(),
    evaluation: spec.evaluation ?? evaluation(),
    run: spec.run ?? runSettings(),
  });
}

function mergeBlock(base: unknown, patch: unknown, path: string, family: string): unknown {
  if (isOff(patch)) {
    throw new ExperimentError([{
      path,
      message: `\`off\` removes loss terms and ${OPTIONAL_PLACES.join(", ")} only`,
    }], "patch");
  }
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new ExperimentError(
      [{
        path,
        message: `expected a ${family} block or some of its fields, got ${JSON.stringify(patch)}`,
      }],
      "patch",
    );
  }
  if ("kind" in patch) {
    if (!isBlock(base) || base.kind !== (patch as AnyBlock).kind || !isBlock(patch)) return patch;
    return mergeFields(
      base,
      patch as unknown as Record<string, unknown>,
      explicitFields(patch),
      path,
    );
  }
  if (!isBlock(base)) {
    throw new ExperimentError(
      [{
        path,
        message: `there is nothing here to patch; give a whole ${family} block (${
          kindsOf(family).join(", ")
        })`,
      }],
      "patch",
    );
  }
  return mergeFields(base, patch as Record<string, unknown>, Object.keys(patch), path);
}

function mergeFields(
  base: AnyBlock,
  patch: Record<string, unknown>,
  fields: Iterable<string>,
  path: string,
): AnyBlock {
  const definition = blockDefinition(base.kind)!;
  const schema = definition.schema as Record<string, Field>;
  const merged: Record<string, unknown> = { ...base };
  for (const name of fields) {
    const field = schema[name];
    if (field === undefined) {
      throw new ExperimentError(
        [{ path: `${path}.${name}`, message: unknownField(base.kind, name, schema) }],
        "patch",
      );
    }
    merged[name] = field.type === "block"
      ? mergeBlock(
        (base as unknown as Record<string, unknown>)[name],
        patch[name],
        `${path}.${name}`,
        field.family,
      )
      : patch[name];
  }
  return makeBlock(definition, merged, new Set([...explicitFields(base), ...fields]));
}

/**
 * Applies `patch` to `base`: records merge key by key; a block patched with a block of the same
 * kind takes the fields that block was given explicitly (the rest keep the base's values); a
 * block of another kind replaces it; a plain object of fields patches those fields; `off`
 * removes a loss term (or `data.sourceVal`). The result is validated like `experiment()`.
 */
export function extend(base: Experiment, patch: ExperimentPatch): Experiment {
  if (!isExperiment(base)) {
    throw new ExperimentError(
      [{
        path: "(base)",
        message: "extend() needs an experiment made by experiment() or extend()",
      }],
      "extend",
    );
  }
  const p = patch as Record<string, unknown>;
  const out: Record<string, unknown> = {
    ...base,
    data: { ...base.data },
    losses: { ...base.losses },
  };
  for (const key of Object.keys(p)) {
    if (!SECTIONS.includes(key)) {
      throw new ExperimentError(
        [{ path: key, message: `unknown section; the sections are ${SECTIONS.join(", ")}` }],
        "patch",
      );
    }
  }
  for (const [section, slot] of Object.entries(SINGLE_SECTIONS)) {
    if (isOff(p[section]) && slot.optional) delete out[section];
    else if (p[section] !== undefined) {
      out[section] = mergeBlock(out[section], p[section], section, slot.family);
    }
  }
  const data = out.data as Record<string, unknown>;
  for (const [key, value] of Object.entries((p.data ?? {}) as Record<string, unknown>)) {
    const slot = DATA_SLOTS[key];
    if (slot === undefined) {
      throw new ExperimentError(
        [{
          path: `data.${key}`,
          message: `unknown entry; data has ${Object.keys(DATA_SLOTS).join(", ")}`,
        }],
        "patch",
      );
    }
    if (isOff(value) && slot.optional) delete data[key];
    else if (value !== undefined) {
      data[key] = mergeBlock(data[key], value, `data.${key}`, slot.family);
    }
  }
  const losses = out.losses as Record<string, unknown>;
  for (const [name, value] of Object.entries((p.losses ?? {}) as Record<string, unknown>)) {
    if (isOff(value)) {
      if (!(name in losses)) {
        throw new ExperimentError(
          [{
            path: `losses.${name}`,
            message: `there is no term '${name}' to turn off; the terms are ${
              Object.keys(losses).join(", ")
            }`,
          }],
          "patch",
        );
      }
      delete losses[name];
    } else if (value !== undefined) {
      losses[name] = mergeBlock(losses[name], value, `losses.${name}`, "loss");
    }
  }
  return seal(out);
}

/** Shortcuts used by the type tests and documentation. */
export type { DecoderBlock, EncoderBlock };

function rebuild(value: unknown, path: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  if (typeof record.kind !== "string") {
    return Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, rebuild(v, `${path}.${k}`)]),
    );
  }
  const definition = blockDefinition(record.kind);
  if (definition === undefined) {
    throw new ExperimentError(
      [{ path, message: `unknown block kind '${record.kind}' (written by a newer UDA-Lab?)` }],
      "stored experiment",
    );
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === "kind") continue;
    const field = (definition.schema as Record<string, Field>)[k];
    fields[k] = field?.type === "block" ? rebuild(v, `${path}.${k}`) : v;
  }
  return makeBlock(definition, fields);
}

/**
 * Rebuilds an experiment from its canonical plain form (`experiment.yaml`, a checkpoint's
 * metadata), validating it as `experiment()` does.
 */
export function experimentFromPlain(value: unknown): Experiment {
  if (typeof value !== "object" || value === null) {
    throw new ExperimentError(
      [{ path: "(root)", message: "not an experiment" }],
      "stored experiment",
    );
  }
  const out: Record<string, unknown> = {};
  for (const [section, v] of Object.entries(value)) out[section] = rebuild(v, section);
  return seal(out);
}
