/**
 * Video data for video domain adaptation: frame-pair datasets (frame t, frame t−k, backward flow
 * t → t−k with its validity), SynthCity sequences in memory and on disk, the Cityscapes-Seq and
 * VIPER readers, `.flo` flow files, flow warping, and the training pipeline of a pair (the same
 * geometry on both frames and the flow). The flow convention is stated once, in
 * `runtime/data/synthcity/flow.ts`.
 *
 * @module
 */
export {
  checkOffset,
  type FramePair,
  type FramePairDataset,
  type FramePairEntry,
  type PreviousFrame,
} from "./pairs.ts";
export { warpBilinear, type Warped, warpNearest } from "./warp.ts";
export { applyPairPipeline, type ProcessedPair } from "./pair_pipeline.ts";
export {
  decodeFlo,
  encodeFlo,
  FLO_MAGIC,
  FLO_UNKNOWN,
  FLO_UNKNOWN_THRESHOLD,
  floValidity,
  type FlowField,
  readFlo,
  writeFlo,
} from "./flo.ts";
export {
  openSynthCitySequence,
  SNIPPET_FRAMES,
  synthCityPair,
  type SynthCityPairRequest,
  type SynthCitySequenceOptions,
} from "./synthcity.ts";
export {
  type CityscapesSeqOptions,
  openCityscapesSeq,
  openViperSeq,
  type SequenceReaderOptions,
  type ViperOptions,
} from "./readers.ts";
export { openSynthiaSeq, SYNTHIA_SEQ_CAMERA, type SynthiaSeqOptions } from "./synthia_seq.ts";
export { SYNTHIA_SEQ_ID_COUNT, SYNTHIA_SEQ_ID_TO_TRAIN_ID } from "./synthia_seq_labels.ts";
export { FilePairDataset } from "./file_pairs.ts";
export {
  LABELLED_FRAME,
  type SequenceWriteOptions,
  synthiaSeqFolder,
  type ViperWriteOptions,
  writeCityscapesSeq,
  writeSynthiaSeq,
  writeViperSeq,
  type WrittenSequences,
  type WrittenSynthiaSeq,
} from "./write.ts";
export {
  TRAIN_ID_TO_VIPER_ID,
  VIPER_CLASSES,
  VIPER_ID_COUNT,
  VIPER_ID_TO_TRAIN_ID,
} from "./viper_labels.ts";
export {
  type OpticalFlow,
  renderWithSurfaces,
  sceneFlow,
  type SurfaceFrame,
} from "../synthcity/flow.ts";
