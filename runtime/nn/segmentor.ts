/**
 * An encoder–decoder segmentor named by a spec such as `mit_b0+segformer` or `mit_b5+daformer`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import { ParamStore } from "./params.ts";
import type { ForwardMode } from "./layers.ts";
import {
  initMit,
  MIT_CONFIGS,
  type MitConfig,
  mitFlops,
  mitForward,
  mitStageSizes,
} from "./mit.ts";
import {
  daformerHead,
  type HeadConfig,
  headFlops,
  initDaformerHead,
  initSegformerHead,
  segformerHead,
} from "./heads.ts";

/** Decoder kinds. */
export type DecoderKind = "segformer" | "daformer";

/** A parsed model spec. */
export interface ModelSpec {
  /** Encoder variant, a key of {@linkcode MIT_CONFIGS}. */
  encoder: string;
  /** Decoder kind. */
  decoder: DecoderKind;
}

/** Options of {@linkcode createSegmentor}. */
export interface SegmentorOptions {
  /** Output classes (19 Cityscapes train classes by default). */
  numClasses?: number;
  /** Decoder embedding width; default as published (see {@linkcode defaultChannels}). */
  channels?: number;
  /** The DAFormer head's per-level embedding width (`embed_dims`); `channels` by default. */
  embedDims?: number;
  /** Stochastic-depth rate spread over the encoder's blocks (0.1, §1.4). */
  dropPathRate?: number;
  /** Dropout before the classifier (0.1 in both heads). */
  dropout?: number;
  /** Initialisation seed (or stream). */
  seed?: number | RandomStream;
  /** The decode head's parameter-name prefix (`decode_head`; HRDA's `decode_head.head`). */
  headPrefix?: string;
}

/**
 * One prediction a supervised per-pixel loss trains, with its weight: a whole-crop prediction, or
 * one covering only `box` of the crop (HRDA's detail crop), whose labels are cut to the box.
 */
export interface SupervisedPart {
  /** Class scores at stride 4 of the region they cover, NHWC. */
  logits: tf.Tensor4D;
  /** Its weight in the term (the parts' weights sum to 1). */
  weight: number;
  /** The region `[top, left, height, width]` in pixels of the crop; the whole crop if absent. */
  box?: readonly [number, number, number, number];
}

/**
 * What a forward pass returns, by name, so a loss can ask for "the decoder embedding" without
 * the model or the loop changing. Every field is optional because networks differ in what
 * they compute (a frozen encoder has no logits); a consumer checks what it needs. Wrappers
 * (multi-resolution models) add fields of their own.
 */
export interface ModelOutputs {
  /** Class scores at stride 4, NHWC. */
  logits?: tf.Tensor4D;
  /** Encoder stage outputs at strides 4/8/16/32, NHWC. */
  features?: tf.Tensor4D[];
  /** The decoder's fused embedding before dropout and the classifier, stride 4, NHWC. */
  embedding?: tf.Tensor4D;
  /**
   * What a supervised per-pixel loss trains when it is not `logits` alone: HRDA's fused and
   * detail predictions with their weights. Absent means `logits` with weight 1.
   */
  supervision?: SupervisedPart[];
  /**
   * A wrapper's full-resolution crop of the input, where its pass has one (HRDA's detail crop):
   * the encoder's stages on it and its box `[top, left, height, width]` in the input's pixels.
   */
  detail?: { features: tf.Tensor4D[]; box: readonly [number, number, number, number] };
  /** Further outputs a wrapper adds. */
  [name: string]:
    | tf.Tensor
    | tf.Tensor[]
    | SupervisedPart[]
    | { features: tf.Tensor4D[]; box: readonly [number, number, number, number] }
    | undefined;
}

/** Every tensor of `outputs` (the supervised parts' logits included), each once. */
export function outputTensors(outputs: ModelOutputs): tf.Tensor[] {
  const tensors = new Set<tf.Tensor>();
  for (const [key, value] of Object.entries(outputs)) {
    if (key === "detail" && value !== undefined) {
      (value as { features: tf.Tensor4D[] }).features.forEach((t) => tensors.add(t));
      continue;
    }
    for (const item of [value ?? []].flat()) {
      tensors.add(item instanceof tf.Tensor ? item : (item as SupervisedPart).logits);
    }
  }
  return [...tensors];
}

/** The parts a supervised loss trains: `supervision`, or `logits` with weight 1. */
export function supervisedParts(outputs: ModelOutputs): SupervisedPart[] {
  if (outputs.supervision !== undefined) return outputs.supervision;
  if (outputs.logits === undefined) throw new Error("the network's pass has no logits to train");
  return [{ logits: outputs.logits, weight: 1 }];
}

/** What a whole segmentor's forward pass returns: logits, encoder stages and embedding. */
export interface SegmentorOutput extends ModelOutputs {
  /** Class scores at stride 4, NHWC. */
  logits: tf.Tensor4D;
  /** Encoder stage outputs at strides 4/8/16/32, NHWC. */
  features: tf.Tensor4D[];
  /** The decoder's fused embedding, stride 4, NHWC. */
  embedding: tf.Tensor4D;
}

/** A network with its parameters. */
export interface Segmentor {
  /** The spec it was built from. */
  readonly spec: ModelSpec;
  /** The encoder's shape. */
  readonly encoder: MitConfig;
  /** The head's shape. */
  readonly head: HeadConfig;
  /** Every parameter and buffer by mmseg name. */
  readonly params: ParamStore;
  /** Runs the network on normalised NHWC images. */
  forward(image: tf.Tensor4D, mode: ForwardMode): SegmentorOutput;
  /** Runs the encoder only: stage outputs at strides 4/8/16/32 (a frozen feature extractor). */
  encode(image: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[];
  /** Inference: logits at stride 4 of a whole image, in eval mode. */
  predict(image: tf.Tensor4D): tf.Tensor4D;
}

const DECODERS: readonly DecoderKind[] = ["segformer", "daformer"];

/** Parses `ENCODER+DECODER`, failing with the valid names. */
export function parseModelSpec(spec: string): ModelSpec {
  const [encoder, decoder, ...rest] = spec.split("+");
  const valid = `Valid encoders: ${Object.keys(MIT_CONFIGS).join(", ")}; valid decoders: ${
    DECODERS.join(", ")
  }.`;
  if (rest.length > 0 || decoder === undefined) {
    throw new Error(
      `model '${spec}': write ENCODER+DECODER, for example mit_b0+segformer. ${valid}`,
    );
  }
  if (!(encoder in MIT_CONFIGS)) {
    throw new Error(`model '${spec}': unknown encoder '${encoder}'. ${valid}`);
  }
  if (!DECODERS.includes(decoder as DecoderKind)) {
    throw new Error(`model '${spec}': unknown decoder '${decoder}'. ${valid}`);
  }
  return { encoder, decoder: decoder as DecoderKind };
}

/**
 * The published decoder width: DAFormer 256 (§5.2); SegFormer 256 for b0/b1 and 768 for b2–b5
 * (§5.1b). Our small encoders use 128 (SegFormer) and 64 (DAFormer) to stay CPU-sized.
 */
export function defaultChannels(spec: ModelSpec): number {
  const config = MIT_CONFIGS[spec.encoder];
  if (!config.published) return spec.decoder === "daformer" ? 64 : 128;
  if (spec.decoder === "daformer") return 256;
  return spec.encoder === "mit_b0" || spec.encoder === "mit_b1" ? 256 : 768;
}

/** The decode head's shape for a spec and options. */
export function headConfig(spec: ModelSpec, options: SegmentorOptions): HeadConfig {
  return {
    inChannels: MIT_CONFIGS[spec.encoder].dims,
    channels: options.channels ?? defaultChannels(spec),
    ...(options.embedDims !== undefined ? { embedDims: options.embedDims } : {}),
    numClasses: options.numClasses ?? 19,
    dropout: options.dropout ?? 0.1,
    prefix: options.headPrefix,
  };
}

/** Builds a segmentor with freshly initialised parameters. */
export function createSegmentor(
  spec: string | ModelSpec,
  options: SegmentorOptions = {},
): Segmentor {
  const parsed = typeof spec === "string" ? parseModelSpec(spec) : spec;
  const encoder = MIT_CONFIGS[parsed.encoder];
  const head = headConfig(parsed, options);
  const dropPathRate = options.dropPathRate ?? 0.1;
  const rng = options.seed instanceof RandomStream
    ? options.seed
    : new RandomStream(options.seed ?? 0);
  const params = new ParamStore();
  initMit(params, rng.fork("backbone"), encoder);
  if (parsed.decoder === "segformer") initSegformerHead(params, rng.fork("decode_head"), head);
  else initDaformerHead(params, rng.fork("decode_head"), head);
  const decode = parsed.decoder === "segformer" ? segformerHead : daformerHead;
  return {
    spec: parsed,
    encoder,
    head,
    params,
    forward(image: tf.Tensor4D, mode: ForwardMode): SegmentorOutput {
      const features = this.encode(image, mode);
      return { ...decode(params, head, features, mode), features };
    },
    predict(image: tf.Tensor4D): tf.Tensor4D {
      return this.forward(image, { training: false }).logits;
    },
    encode(image: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[] {
      if (image.rank !== 4 || image.shape[3] !== 3) {
        throw new Error(
          `segmentor: expected NHWC images with 3 channels, got shape [${image.shape}]`,
        );
      }
      return mitForward(params, encoder, image, mode, dropPathRate);
    },
  };
}

/** FLOPs (2 × multiply-adds) of one forward pass over `batch` images of `height × width`. */
export function countFlops(
  spec: string | ModelSpec,
  options: SegmentorOptions,
  input: { batch: number; height: number; width: number },
): number {
  const parsed = typeof spec === "string" ? parseModelSpec(spec) : spec;
  const encoder = MIT_CONFIGS[parsed.encoder];
  const sizes = mitStageSizes(input.height, input.width);
  const perImage = mitFlops(encoder, input.height, input.width) +
    headFlops(parsed.decoder, headConfig(parsed, options), sizes);
  return input.batch * perImage;
}
