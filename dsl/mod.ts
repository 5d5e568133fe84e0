/**
 * The experiment language: blocks as plain frozen data, `experiment()`, `extend()`, validation,
 * canonical YAML, hashing and semantic diff. Nothing here imports TensorFlow.js, so `show`,
 * `diff` and `plan`'s parsing start instantly.
 *
 * ```ts
 * import { crossEntropy, experiment, extend, mit, off } from "./dsl/mod.ts";
 * ```
 *
 * @module
 */
export {
  type AnyBlock,
  type Block,
  type BlockDefinition,
  blockDefinition,
  type BlockFactory,
  isBlock,
  kindsOf,
  type Off,
  off,
} from "./block.ts";
export {
  type BlockPatch,
  type DataSection,
  type Experiment,
  experiment,
  ExperimentError,
  experimentFromPlain,
  type ExperimentPatch,
  type ExperimentSpec,
  extend,
  type FieldsPatch,
  isExperiment,
  type Issue,
  validateExperiment,
} from "./experiment.ts";
export {
  canonicalize,
  canonicalJson,
  experimentHash,
  type Plain,
  showExperiment,
  toYaml,
} from "./canonical.ts";
export { type Change, diffExperiments, formatChanges } from "./diff.ts";
export { applyOverrides, type Override, parseOverride } from "./overrides.ts";
export type { Field, GroupMultipliers, Schema } from "./schema.ts";
export {
  daformerHead,
  type DaformerHeadParams,
  type DecoderBlock,
  type EncoderBlock,
  mit,
  MIT_VARIANTS,
  type MitParams,
  type ModelBlock,
  segformerHead,
  type SegformerHeadParams,
  segmentor,
  type SegmentorParams,
} from "./blocks/model.ts";
export {
  cityscapes,
  type DatasetBlock,
  type FolderDatasetParams,
  gta5,
  loader,
  type LoaderBlock,
  type LoaderParams,
  type PipelineParams,
  synthCity,
  SYNTHCITY_DOMAINS,
  type SynthCityParams,
  synthia,
} from "./blocks/data.ts";
export {
  CE_INPUTS,
  crossEntropy,
  type CrossEntropyParams,
  featureDistance,
  type FeatureDistanceParams,
  type LossBlock,
  THING_CLASS_IDS,
} from "./blocks/losses.ts";
export {
  CLASS_POOLS,
  classMix,
  type ClassMixParams,
  CONFIDENCE_SCOPES,
  emaTeacher,
  type EmaTeacherParams,
  type MixingBlock,
  rareClassSampling,
  type RareClassSamplingParams,
  type SamplerBlock,
  type TeacherBlock,
} from "./blocks/strategies.ts";
export {
  adamw,
  type AdamWParams,
  type OptimizerBlock,
  poly,
  type PolyParams,
  type ScheduleBlock,
} from "./blocks/optim.ts";
export {
  BACKENDS,
  evaluation,
  type EvaluationBlock,
  type EvaluationParams,
  PROTOCOLS,
  type RunBlock,
  type RunParams,
  runSettings,
} from "./blocks/run.ts";
