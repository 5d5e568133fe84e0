/**
 * UDA-Lab's public API: everything a user composes or calls from their own code.
 *
 * ```ts
 * import { createSegmentor, useBackend } from "./mod.ts";
 * await useBackend("wasm");
 * const model = createSegmentor("mit_b0+daformer", { numClasses: 19, seed: 0 });
 * ```
 *
 * @module
 */
export { tf } from "./runtime/tf.ts";
export { type RandomState, RandomStream } from "./runtime/random.ts";
export {
  BACKEND_NAMES,
  type BackendInfo,
  backendInfo,
  type BackendName,
  hasWebGpuAdapter,
  missingGradients,
  missingKernels,
  useBackend,
} from "./runtime/backend/mod.ts";
export { type Param, ParamStore, type TorchLayout } from "./runtime/nn/params.ts";
export { type ForwardMode } from "./runtime/nn/layers.ts";
export { MIT_CONFIGS, type MitConfig } from "./runtime/nn/mit.ts";
export {
  countFlops,
  createSegmentor,
  type DecoderKind,
  defaultChannels,
  type ModelOutputs,
  type ModelSpec,
  parseModelSpec,
  type Segmentor,
  type SegmentorOptions,
  type SegmentorOutput,
} from "./runtime/nn/segmentor.ts";
export { crossEntropy, type CrossEntropyOptions } from "./runtime/losses/cross_entropy.ts";
export {
  AdamW,
  ADAMW_DEFAULTS,
  type AdamWMoments,
  type AdamWOptions,
  type AdamWState,
  type LearningRate,
} from "./runtime/optim/adamw.ts";
export { deserialiseAdamWState, serialiseAdamWState } from "./runtime/optim/state_io.ts";
export {
  assignGroup,
  DAFORMER_PARAM_RULES,
  listParamGroups,
  type ParamGroup,
  type ParamGroupAssignment,
  type ParamRule,
  validateRules,
} from "./runtime/optim/param_groups.ts";
export {
  learningRate,
  type PolySchedule,
  polySchedule,
  validateSchedule,
} from "./runtime/optim/schedule.ts";
export { supervisedStep } from "./runtime/train/supervised_step.ts";
export {
  parseSafetensors,
  readSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
  type StoredTensor,
  writeSafetensors,
} from "./runtime/io/safetensors.ts";
export {
  type ExportOptions,
  exportTorchWeights,
  formatLoadReport,
  hasProblems,
  type LoadOptions,
  type LoadReport,
  loadTorchWeights,
} from "./runtime/io/torch_weights.ts";
export {
  type CheckpointFormat,
  type KeyOptions,
  normaliseKeys,
} from "./runtime/io/checkpoint_keys.ts";
export {
  CITYSCAPES_ID_TO_TRAIN_ID,
  CLASS_NAMES,
  IGNORE_LABEL,
  NUM_CLASSES,
  PALETTE,
  PROTOCOL_CLASSES,
  SYNTHIA_ID_TO_TRAIN_ID,
  THING_CLASSES,
} from "./runtime/data/labels.ts";
export {
  type DatasetEntry,
  type NamedExample,
  type SegmentationDataset,
} from "./runtime/data/dataset.ts";
export { DATASET_NAMES, type DatasetRequest, openDataset } from "./runtime/data/open.ts";
export {
  type CityscapesLabels,
  openCityscapes,
  openGta5,
  openSynthia,
} from "./runtime/data/readers/datasets.ts";
export {
  classStats,
  type ImageClassStats,
  samplesWithClass,
  totalCounts,
} from "./runtime/data/class_stats.ts";
export {
  classFrequencies,
  type Domain,
  DOMAINS,
  generateScene,
  generateSequence,
  openSynthCity,
  type SceneRequest,
  type SynthCityOptions,
} from "./runtime/data/synthcity/mod.ts";
export { writeSynthCity } from "./runtime/data/synthcity/write.ts";
export {
  crop,
  type Example,
  flipHorizontal,
  keepRatioSize,
  pad,
  randomCrop,
  randomFlip,
  resize,
} from "./runtime/data/transforms/geometry.ts";
export {
  applyJitter,
  DACS_JITTER,
  denormalizeToUnit,
  drawBlurSigma,
  drawJitter,
  gaussianBlur,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
} from "./runtime/data/transforms/photometric.ts";
export {
  applyPipeline,
  chooseExample,
  epochPermutation,
  loadSample,
  type PipelineSpec,
  type Processed,
  type RareClassPlan,
  sampleStream,
} from "./runtime/data/transforms/pipeline.ts";
export {
  type LoadedSample,
  type LoaderOptions,
  SampleLoader,
} from "./runtime/data/prefetch/loader.ts";
export {
  ConfusionMatrix,
  type Protocol,
  type SegmentationMetrics,
} from "./runtime/eval/confusion.ts";
export { confusionFromTensors } from "./runtime/eval/confusion_tensor.ts";
export { colourise, writePredictionStrip } from "./runtime/eval/colourise.ts";
/** The experiment language (also importable alone, without TensorFlow.js, from `dsl/mod.ts`). */
export * as dsl from "./dsl/mod.ts";
export { compile, type Program, stepFlops, viewCrop } from "./runtime/compile/program.ts";
export { checkKernels, type KernelUse } from "./runtime/compile/kernels.ts";
/** The plug-in interface: what a block's runtime module declares (docs/architecture.md). */
export * from "./runtime/blocks/mod.ts";
export {
  countParams,
  loadPretrainedEncoder,
  type SegmentorArchitecture,
  segmentorArchitecture,
  type SegmentorNetwork,
  segmentorNetwork,
} from "./runtime/blocks/model.ts";
export { FINAL_WEIGHTS, train, type TrainOptions, type TrainResult } from "./runtime/train/loop.ts";
export {
  DivergedError,
  type Networks,
  type StepInputs,
  trainableParams,
  trainStep,
} from "./runtime/train/step.ts";
export {
  buildNetworks,
  checkpointedStores,
  disposeNetworks,
  exportedWeights,
} from "./runtime/train/networks.ts";
export { disposeViews, TrainingData } from "./runtime/train/data.ts";
export { type EvalResult, evaluate, loadEvalSet, predictLogits } from "./runtime/eval/evaluate.ts";
export { type MetricsRecord, readMetrics } from "./runtime/report/metrics_log.ts";
export { runDirectory } from "./runtime/train/run_dir.ts";
export { readCheckpoint, restoreParams } from "./runtime/train/checkpoint.ts";
export { writeReport } from "./runtime/report/report.ts";
export { decodeEventFile, ScalarEventWriter } from "./runtime/report/tfevents.ts";
export { emaAlpha, updateEmaTeacher } from "./runtime/strategies/ema_teacher.ts";
export {
  rareClassPlan,
  rareClassProbabilities,
  type RareClassSettings,
} from "./runtime/strategies/rare_class.ts";
export {
  type ConfidenceScope,
  type PseudoLabelOptions,
  pseudoLabels,
} from "./runtime/strategies/pseudo_label.ts";
export { classMixMasks, mixBatch } from "./runtime/strategies/class_mix.ts";
export { strongAugment, type StrongAugmentOptions } from "./runtime/strategies/strong_augment.ts";
export {
  featureDistance,
  featureDistanceMask,
  type FeatureDistanceMaskOptions,
} from "./runtime/losses/feature_distance.ts";
export { sourceClassStats } from "./runtime/train/class_stats_cache.ts";
