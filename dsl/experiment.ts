/**
 * Experiments: the typed root object and `experiment()`.
 *
 * An experiment is plain frozen data. `experiment()` fills every required section it is not
 * given with its family's default block (published values) and validates the whole tree
 * (`validate.ts`), naming the path of each offending value (`data.target.crop`,
 * `losses.ce.weight`). `extend()` (`extend.ts`) applies a patch and validates again.
 *
 * @module
 */
import { type AnyBlock, deepFreeze, familyDefault, type Off } from "./block.ts";
import type {
  DatasetBlock,
  EvaluationBlock,
  LoaderBlock,
  LossBlock,
  MixingBlock,
  ModelBlock,
  OptimizerBlock,
  ResolutionBlock,
  RunBlock,
  SamplerBlock,
  ScheduleBlock,
  TeacherBlock,
} from "./families.ts";
import { ExperimentError } from "./issues.ts";
import { DATA_PLACES, type Place, SECTION_PLACES } from "./sections.ts";
import { validateExperiment } from "./validate.ts";
// Every path to an experiment ends in `seal` here, so loading this module defines every
// registered kind: the table of kinds (and of family defaults) is complete with no registration
// step a user could forget, whichever `dsl/` module they import.
import "./blocks/mod.ts";

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
  /** How source images are drawn: uniformly when absent, or by a sampler block. */
  readonly sampling?: SamplerBlock;
  /** Batching and prefetching. */
  readonly loader: LoaderBlock;
}

/** A complete, validated experiment. */
export interface Experiment {
  /** The network trained (the student). */
  readonly model: ModelBlock;
  /** How the model sees more than one resolution (HRDA's context and detail crops), if it does. */
  readonly resolution?: ResolutionBlock;
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
  /** Multi-resolution training and inference (none by default). */
  resolution?: ResolutionBlock;
  /** Datasets; batching defaults to its family's default block (batch 2, one worker). */
  data: Omit<DataSection, "loader"> & { readonly loader?: LoaderBlock };
  /** Named loss terms. */
  losses: Readonly<Record<string, LossBlock>>;
  /** Self-training teacher (none by default). */
  teacher?: TeacherBlock;
  /** Mixing for the self-training term (none by default). */
  mixing?: MixingBlock;
  /** Defaults to the optimiser family's default (the published AdamW). */
  optimizer?: OptimizerBlock;
  /** Defaults to the schedule family's default (the published schedule with warm-up). */
  schedule?: ScheduleBlock;
  /** Defaults to the evaluation family's default. */
  evaluation?: EvaluationBlock;
  /** Defaults to the run family's default (40k iterations). */
  run?: RunBlock;
}

/** A patch of a block: a whole block (same kind merges, other kind replaces) or some fields. */
export type BlockPatch<B> = B extends AnyBlock ? B | FieldsPatch<B> : never;

/** Some fields of a block; nested blocks may themselves be patched. */
export type FieldsPatch<B> = {
  readonly [K in Exclude<keyof B, "kind">]?: B[K] extends AnyBlock ? BlockPatch<B[K]> : B[K];
};

/**
 * What `extend()` takes. A method can be written as one (`export const daformer:
 * ExperimentPatch = {...}`) and stacked on any base.
 */
export interface ExperimentPatch {
  /** Model changes. */
  readonly model?: BlockPatch<ModelBlock>;
  /** Multi-resolution changes; `off` removes it. */
  readonly resolution?: BlockPatch<ResolutionBlock> | Off;
  /** Data changes, key by key; `off` removes `sourceVal` or `sampling`. */
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

const EXPERIMENT = Symbol("experiment");

/** True for an object made by {@linkcode experiment} or `extend`. */
export function isExperiment(value: unknown): value is Experiment {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[EXPERIMENT] === true;
}

/**
 * Validates a complete tree and freezes it as an experiment; throws {@linkcode ExperimentError}
 * naming every problem. The one way an `Experiment` comes to exist (`experiment`, `extend` and
 * `experimentFromPlain` all end here).
 */
export function seal(value: Record<string, unknown>): Experiment {
  const issues = validateExperiment(value);
  if (issues.length > 0) throw new ExperimentError(issues);
  Object.defineProperty(value, EXPERIMENT, { value: true, enumerable: false });
  return deepFreeze(value) as unknown as Experiment;
}

/** `given` with every required place it lacks filled by its family's default block, if any. */
function withDefaults(
  given: Readonly<Record<string, unknown>>,
  places: Readonly<Record<string, Place>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) if (value !== undefined) out[key] = value;
  for (const [key, place] of Object.entries(places)) {
    if (out[key] === undefined && !place.optional) {
      const block = familyDefault(place.family);
      if (block !== undefined) out[key] = block;
    }
  }
  return out;
}

/**
 * Builds a validated experiment, filling the sections left out with the published defaults.
 * Throws {@linkcode ExperimentError} naming every offending path.
 */
export function experiment(spec: ExperimentSpec): Experiment {
  const { data, losses, ...sections } = spec as unknown as Record<string, unknown>;
  return seal({
    ...withDefaults(sections, SECTION_PLACES),
    data: withDefaults((data ?? {}) as Record<string, unknown>, DATA_PLACES),
    losses: { ...(losses as Record<string, unknown>) },
  });
}
