/**
 * Block families as open tables. Each family is an interface from kind to block type that starts
 * empty here; every block file adds its own entry by module augmentation, so a new block kind is
 * a new file (plus its line in `dsl/blocks/mod.ts`), never an edit of a union listed by hand:
 *
 * ```ts ignore
 * declare module "../families.ts" {
 *   interface LossBlocks {
 *     myTerm: MyTermBlock;
 *   }
 * }
 * ```
 *
 * The family types (`LossBlock`, ...) are the unions of whatever entries the loaded program has.
 * A block defined outside `dsl/` (a test's toy block) augments this module by its own path.
 *
 * The interfaces are empty on purpose (they are filled by augmentation), hence the lint ignores.
 *
 * @module
 */
// Type-only, so no runtime cycle: any program that sees a family sees every registered kind,
// which a block's check needs when it reads another family's fields (`model.encoder`).
import type {} from "./blocks/mod.ts";

/** The model family (the student network): `model`. */
// deno-lint-ignore no-empty-interface
export interface ModelBlocks {}
/** Encoders (`model.encoder`). */
// deno-lint-ignore no-empty-interface
export interface EncoderBlocks {}
/** Decoders (`model.decoder`). */
// deno-lint-ignore no-empty-interface
export interface DecoderBlocks {}
/** Multi-resolution training and inference of the model (`resolution`). */
// deno-lint-ignore no-empty-interface
export interface ResolutionBlocks {}
/** Datasets (`data.source`, `data.target`, `data.targetVal`, `data.sourceVal`). */
// deno-lint-ignore no-empty-interface
export interface DatasetBlocks {}
/** Batching and prefetching (the data section's batching slot). */
// deno-lint-ignore no-empty-interface
export interface LoaderBlocks {}
/** How source images are drawn (`data.sampling`). */
// deno-lint-ignore no-empty-interface
export interface SamplerBlocks {}
/** Loss terms (the entries of `losses`). */
// deno-lint-ignore no-empty-interface
export interface LossBlocks {}
/** Teachers that make pseudo-labels (`teacher`). */
// deno-lint-ignore no-empty-interface
export interface TeacherBlocks {}
/** Mixing of source and target (`mixing`). */
// deno-lint-ignore no-empty-interface
export interface MixingBlocks {}
/** Optimisers (`optimizer`). */
// deno-lint-ignore no-empty-interface
export interface OptimizerBlocks {}
/** Learning-rate schedules (`schedule`). */
// deno-lint-ignore no-empty-interface
export interface ScheduleBlocks {}
/** Evaluation settings (`evaluation`). */
// deno-lint-ignore no-empty-interface
export interface EvaluationBlocks {}
/** Run settings (`run`). */
// deno-lint-ignore no-empty-interface
export interface RunBlocks {}

/** Model blocks. */
export type ModelBlock = ModelBlocks[keyof ModelBlocks];
/** Encoder blocks. */
export type EncoderBlock = EncoderBlocks[keyof EncoderBlocks];
/** Decoder blocks. */
export type DecoderBlock = DecoderBlocks[keyof DecoderBlocks];
/** Resolution blocks. */
export type ResolutionBlock = ResolutionBlocks[keyof ResolutionBlocks];
/** Dataset blocks. */
export type DatasetBlock = DatasetBlocks[keyof DatasetBlocks];
/** Loader blocks. */
export type LoaderBlock = LoaderBlocks[keyof LoaderBlocks];
/** Sampler blocks. */
export type SamplerBlock = SamplerBlocks[keyof SamplerBlocks];
/** Loss blocks. */
export type LossBlock = LossBlocks[keyof LossBlocks];
/** Teacher blocks. */
export type TeacherBlock = TeacherBlocks[keyof TeacherBlocks];
/** Mixing blocks. */
export type MixingBlock = MixingBlocks[keyof MixingBlocks];
/** Optimiser blocks. */
export type OptimizerBlock = OptimizerBlocks[keyof OptimizerBlocks];
/** Schedule blocks. */
export type ScheduleBlock = ScheduleBlocks[keyof ScheduleBlocks];
/** Evaluation blocks. */
export type EvaluationBlock = EvaluationBlocks[keyof EvaluationBlocks];
/** Run blocks. */
export type RunBlock = RunBlocks[keyof RunBlocks];
