/**
 * The experiment language: blocks as plain frozen data, `experiment()`, `extend()`, validation,
 * canonical YAML, hashing and semantic diff. Nothing here imports TensorFlow.js, so `show`,
 * `diff` and `plan`'s parsing start instantly.
 *
 * ```ts
 * import { experiment, extend, off } from "./dsl/mod.ts";
 * ```
 *
 * The block factories and their parameter types come from the registry `dsl/blocks/mod.ts`;
 * this file names no block kind.
 *
 * @module
 */
export {
  type AnyBlock,
  type Block,
  type BlockDefinition,
  blockDefinition,
  type BlockFactory,
  type CheckContext,
  defineBlock,
  isBlock,
  kindsOf,
  type Off,
  off,
  viewsRead,
} from "./block.ts";
export type {
  DatasetBlock,
  DatasetBlocks,
  DecoderBlock,
  DecoderBlocks,
  EncoderBlock,
  EncoderBlocks,
  EvaluationBlock,
  EvaluationBlocks,
  LoaderBlock,
  LoaderBlocks,
  LossBlock,
  LossBlocks,
  MixingBlock,
  MixingBlocks,
  ModelBlock,
  ModelBlocks,
  OptimizerBlock,
  OptimizerBlocks,
  RunBlock,
  RunBlocks,
  SamplerBlock,
  SamplerBlocks,
  ScheduleBlock,
  ScheduleBlocks,
  TeacherBlock,
  TeacherBlocks,
} from "./families.ts";
export {
  type BlockPatch,
  type DataSection,
  type Experiment,
  experiment,
  type ExperimentPatch,
  type ExperimentSpec,
  type FieldsPatch,
  isExperiment,
} from "./experiment.ts";
export { ExperimentError, type Issue } from "./issues.ts";
export { validateExperiment } from "./validate.ts";
export { extend } from "./extend.ts";
export { experimentFromPlain } from "./plain.ts";
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
export * from "./blocks/mod.ts";
