/**
 * The model family's runtime module: the MiT encoder, the SegFormer and DAFormer heads, and the
 * encoder–decoder segmentor that becomes the trained `student` network. Other modules that
 * need a network of the same architecture (an EMA teacher, a frozen encoder) replicate the
 * student through {@linkcode SegmentorNetwork.replicate} instead of reading the model block.
 *
 * @module
 */
import type {
  DaformerHeadParams,
  Experiment,
  MitParams,
  SegformerHeadParams,
  SegmentorParams,
} from "../../dsl/mod.ts";
import type { AnyBlock, Block } from "../../dsl/mod.ts";
import { RandomStream } from "../random.ts";
import type { tf } from "../tf.ts";
import type { ForwardMode } from "../nn/layers.ts";
import {
  countFlops,
  createSegmentor,
  headConfig,
  type ModelSpec,
  type Segmentor,
  type SegmentorOptions,
} from "../nn/segmentor.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { formatLoadReport, loadTorchWeights } from "../io/torch_weights.ts";
import { SEGMENTOR_KERNELS } from "../compile/kernels.ts";
import type { ParamStore } from "../nn/params.ts";
import { blockModule, registerBlockModule } from "./registry.ts";
import type {
  BuildContext,
  FlopsInput,
  ModelPart,
  Network,
  ProgramBuilder,
  ResolutionWrapper,
  WrappedPass,
  WrappedSegmentor,
} from "./types.ts";

/** A built segmentor as a program network, able to make fresh copies of its architecture. */
export interface SegmentorNetwork extends Network {
  /** The segmentor. */
  readonly model: Segmentor;
  /** Its spec and options. */
  readonly architecture: SegmentorArchitecture;
  /** A new network of the same architecture, initialised from `init:<name>` of `seed`. */
  replicate(name: string, seed: number): SegmentorNetwork;
  /** The encoder features its forward pass reports (HRDA: of the context crop). */
  encode(image: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D[];
}

/** What a segmentor is built from. */
export interface SegmentorArchitecture {
  /** Encoder and decoder. */
  spec: ModelSpec;
  /** Widths, classes, regularisation. */
  options: SegmentorOptions;
  /** Encoder weights to load before training ("" = none). */
  pretrained: string;
  /** The experiment's resolution block's wrapper (HRDA), if it has one. */
  resolution?: ResolutionWrapper;
}

/** The architecture of an experiment's model block (through its parts' modules). */
export function segmentorArchitecture(experiment: Experiment): SegmentorArchitecture {
  const model = experiment.model as unknown as Block<"segmentor", SegmentorParams>;
  const part = (block: AnyBlock, path: string): ModelPart => {
    const module = blockModule(block.kind, path);
    if (module.modelPart === undefined) {
      throw new Error(`${path}: '${block.kind}' is not an encoder or decoder block`);
    }
    return module.modelPart(block);
  };
  const encoder = part(model.encoder, "model.encoder");
  const decoder = part(model.decoder, "model.decoder");
  const resolution = resolutionWrapper(experiment);
  return {
    spec: { encoder: encoder.encoder!, decoder: decoder.decoder! },
    options: {
      numClasses: model.numClasses,
      ...decoder.options,
      ...encoder.options,
      ...(resolution === undefined ? {} : { headPrefix: resolution.headPrefix }),
    },
    pretrained: encoder.pretrained ?? "",
    resolution,
  };
}

function resolutionWrapper(experiment: Experiment): ResolutionWrapper | undefined {
  const block = experiment.resolution as AnyBlock | undefined;
  if (block === undefined) return undefined;
  const module = blockModule(block.kind, "resolution");
  if (module.resolution === undefined) {
    throw new Error(`resolution: '${block.kind}' does not say how it wraps the segmentor`);
  }
  return module.resolution(block, experiment);
}

/**
 * FLOPs of one pass of the architecture over `batch` images of `height × width` (`encode`: the
 * encoder, counted with a head as an upper bound).
 */
export function architectureFlops(
  architecture: SegmentorArchitecture,
  input: { batch: number; height: number; width: number },
  pass: WrappedPass,
): number {
  const { spec, options, resolution } = architecture;
  const base = (batch: number, height: number, width: number) =>
    countFlops(spec, options, { batch, height, width });
  if (resolution === undefined) return base(input.batch, input.height, input.width);
  return resolution.flops(base, headConfig(spec, options), input, pass);
}

/** The pass a program's FLOP count asks for: training or evaluation mode. */
export function passOf(input: FlopsInput): WrappedPass {
  return input.training ? "train" : "eval";
}

/** Wraps a segmentor as a program network. */
export function segmentorNetwork(
  architecture: SegmentorArchitecture,
  name: string,
  seed: number,
): SegmentorNetwork {
  const init = new RandomStream(seed).fork(`init:${name}`);
  const model = createSegmentor(architecture.spec, { ...architecture.options, seed: init });
  const wrapped: WrappedSegmentor = architecture.resolution?.wrap(model, init) ?? model;
  return {
    model,
    architecture,
    params: model.params,
    forward: (image, mode) => wrapped.forward(image, mode),
    predict: (image, output) => wrapped.predict(image, output),
    outputs: wrapped.outputs,
    maps: wrapped.maps,
    encode: (image, mode) => wrapped.encode(image, mode),
    replicate: (other, s) => segmentorNetwork(architecture, other, s),
  };
}

/**
 * Loads MiT encoder weights (PyTorch layout) into `params`, failing with a paragraph that names
 * the experiment field (`field`) and what would be right.
 */
export async function loadPretrainedEncoder(
  params: ParamStore,
  reference: string,
  field: string,
  context: BuildContext,
): Promise<void> {
  const path = await context.resolve(reference);
  let file;
  try {
    file = await readSafetensors(path);
  } catch (error) {
    throw new Error(
      `${field}: cannot read '${path}' ` +
        `(${(error as Error).message}). Give the path of a safetensors file of MiT weights ` +
        `in PyTorch layout (docs/weights.md), or "" to start from random weights.`,
    );
  }
  const report = loadTorchWeights(params, file, path, { backboneOnly: true });
  if (report.loaded.length === 0) throw new Error(formatLoadReport(report, path));
}

function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${n}`;
}

/** Parameter count of the names starting with `prefix`, formatted for `plan`. */
export function countParams(params: ParamStore, prefix = ""): string {
  return count(
    params.trainable().filter((p) => p.name.startsWith(prefix)).reduce(
      (a, p) => a + p.variable.size,
      0,
    ),
  );
}

registerBlockModule<Block<"mit", MitParams>>({
  kind: "mit",
  modelPart: (block) => ({
    encoder: `mit_${block.variant}`,
    options: { dropPathRate: block.dropPathRate },
    pretrained: block.pretrained,
  }),
});

registerBlockModule<Block<"daformerHead", DaformerHeadParams>>({
  kind: "daformerHead",
  modelPart: (block) => ({
    decoder: "daformer",
    options: {
      channels: block.channels,
      dropout: block.dropout,
      ...(block.embedDims > 0 ? { embedDims: block.embedDims } : {}),
    },
  }),
});

registerBlockModule<Block<"segformerHead", SegformerHeadParams>>({
  kind: "segformerHead",
  modelPart: (block) => ({
    decoder: "segformer",
    options: { channels: block.channels, dropout: block.dropout },
  }),
});

registerBlockModule<Block<"segmentor", SegmentorParams>>({
  kind: "segmentor",
  lower(_block, builder: ProgramBuilder) {
    const architecture = segmentorArchitecture(builder.experiment);
    const { spec, options, pretrained } = architecture;
    builder.addNetwork({
      name: "student",
      trainable: true,
      checkpointed: true,
      exported: true,
      describe: (params) =>
        `${spec.encoder} + ${spec.decoder} head (${options.channels} channels, ` +
        `${options.numClasses} classes): ${countParams(params)} parameters (encoder ` +
        `${countParams(params, "backbone.")}, decoder ${countParams(params, "decode_head.")}); ` +
        `initial encoder weights: ${pretrained === "" ? "random" : pretrained}`,
      async build(context) {
        const network = segmentorNetwork(architecture, "student", context.seed);
        if (pretrained !== "" && context.loadWeights) {
          try {
            await loadPretrainedEncoder(
              network.params,
              pretrained,
              "model.encoder.pretrained",
              context,
            );
          } catch (error) {
            network.params.dispose();
            throw error;
          }
        }
        return network;
      },
      flops: (input) => architectureFlops(architecture, input, passOf(input)),
    });
    builder.addKernels(SEGMENTOR_KERNELS);
  },
});
