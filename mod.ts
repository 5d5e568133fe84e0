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
  type AdamWOptions,
  type AdamWState,
} from "./runtime/optim/adamw.ts";
export {
  assignGroup,
  DAFORMER_PARAM_RULES,
  type ParamGroupAssignment,
  type ParamRule,
} from "./runtime/optim/param_groups.ts";
export { learningRate, type PolySchedule, polySchedule } from "./runtime/optim/schedule.ts";
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
  exportTorchWeights,
  type LoadOptions,
  type LoadReport,
  loadTorchWeights,
} from "./runtime/io/torch_weights.ts";
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
