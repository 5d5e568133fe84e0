/**
 * The registry of block files: one line per file. Importing this module defines every kind (each
 * file calls `defineBlock`) and adds its type to its family (`dsl/families.ts`), so a new block
 * kind is a new file here plus its line below, and nothing else in `dsl/` changes.
 *
 * @module
 */
export type {
  FolderDatasetParams,
  PipelineParams,
  SequenceDatasetParams,
} from "./dataset_fields.ts";
// Model: encoders, decoders, the network that joins them.
export * from "./mit.ts";
export * from "./daformer_head.ts";
export * from "./segformer_head.ts";
export * from "./segmentor.ts";
export * from "./multi_resolution.ts";
// Data: datasets, batching, sampling.
export * from "./synth_city.ts";
export * from "./synth_city_sequence.ts";
export * from "./gta5.ts";
export * from "./synthia.ts";
export * from "./cityscapes.ts";
export * from "./cityscapes_seq.ts";
export * from "./viper_seq.ts";
export * from "./synthia_seq.ts";
export * from "./loader.ts";
export * from "./rare_class_sampling.ts";
// Loss terms.
export * from "./cross_entropy.ts";
export * from "./feature_distance.ts";
export * from "./masked_image_consistency.ts";
export * from "./pixel_contrast.ts";
export * from "./patch_contrast.ts";
export * from "./semantic_patch_contrast.ts";
export * from "./cluda_contrast.ts";
export * from "./temporal_contrast.ts";
// Self-training strategies.
export * from "./ema_teacher.ts";
export * from "./class_mix.ts";
// Optimisation, evaluation, run settings.
export * from "./adamw.ts";
export * from "./poly.ts";
export * from "./evaluation.ts";
export * from "./run_settings.ts";
