/**
 * The dataset family's runtime module: what `openDataset` needs for each dataset block, its
 * training pipeline (keep-ratio resize, crop with the category-ratio check, flip) and its `plan`
 * phrase. SynthCity and its sequences are generated in memory; GTA5, SYNTHIA and Cityscapes, and
 * the video datasets Cityscapes-Seq, VIPER and SYNTHIA-Seq, are read from their published on-disk
 * layouts under `root`.
 *
 * @module
 */
import type {
  Block,
  FolderDatasetParams,
  PipelineParams,
  SequenceDatasetParams,
  SynthCityParams,
  SynthCitySequenceParams,
} from "../../dsl/mod.ts";
import type { PipelineSpec } from "../data/transforms/pipeline.ts";
import { registerBlockModule } from "./registry.ts";

/** The training pipeline of a dataset block's pipeline fields. */
export function pipelineOf(block: PipelineParams): PipelineSpec {
  const [a, b] = block.scale;
  return {
    resize: a === 0 && b === 0
      ? { kind: "none" }
      : { kind: "keepRatio", maxLong: Math.max(a, b), maxShort: Math.min(a, b) },
    crop: { height: block.crop[0], width: block.crop[1] },
    catMaxRatio: block.catMaxRatio,
    flip: block.flip,
  };
}

registerBlockModule<Block<"synthCity", SynthCityParams>>({
  kind: "synthCity",
  dataset: (block) => ({
    request: {
      dataset: "synthcity",
      split: "",
      domain: block.domain,
      count: block.count,
      seed: block.seed,
      version: block.version,
    },
    pipeline: pipelineOf(block),
    describe:
      `synthCity ${block.domain} (${block.count} images, seed ${block.seed}, scene v${block.version})`,
    crop: block.crop,
  }),
});

registerBlockModule<Block<"synthCitySequence", SynthCitySequenceParams>>({
  kind: "synthCitySequence",
  dataset: (block) => ({
    request: {
      dataset: "synthcitySequence",
      split: "",
      domain: block.domain,
      count: block.sequences * (block.frames - Math.abs(block.offset)),
      seed: block.seed,
      version: block.version,
      sequence: { sequences: block.sequences, frames: block.frames, offset: block.offset },
    },
    pipeline: pipelineOf(block),
    describe: `synthCity sequences ${block.domain} (${block.sequences} × ${block.frames} frames, ` +
      `pairs at offset ${block.offset}, seed ${block.seed}, scene v${block.version})`,
    crop: block.crop,
  }),
});

/** The request of a dataset read from its folder `root` (split `split`). */
function folderRequest(dataset: string, block: FolderDatasetParams, path: string) {
  return {
    dataset,
    root: block.root,
    split: block.split,
    domain: "",
    count: 0,
    seed: 0,
    // Messages about a missing or bad folder name the experiment field, not a flag.
    field: path,
  };
}

/** The module of a dataset read from its on-disk layout (`reader` names the reader). */
function folderDataset(kind: "gta5" | "synthia" | "cityscapes"): void {
  registerBlockModule<Block<typeof kind, FolderDatasetParams>>({
    kind,
    dataset: (block, path) => ({
      request: folderRequest(kind, block, path),
      pipeline: pipelineOf(block),
      describe: `${kind} ${block.root} (${block.split})`,
      crop: block.crop,
    }),
  });
}

folderDataset("gta5");
folderDataset("synthia");
folderDataset("cityscapes");

/**
 * The module of a video dataset read from its on-disk layout: as {@linkcode folderDataset}, plus
 * the pair offset, the frames and the flow folder, which the reader needs to pair frames.
 */
function sequenceDataset(kind: "cityscapesSeq" | "viperSeq" | "synthiaSeq"): void {
  registerBlockModule<Block<typeof kind, SequenceDatasetParams>>({
    kind,
    dataset: (block, path) => ({
      request: {
        ...folderRequest(kind, block, path),
        sequenceReader: {
          offset: block.offset,
          frames: block.frames,
          // "" is the DSL's unset text: no flow folder.
          ...(block.flowRoot === "" ? {} : { flowRoot: block.flowRoot }),
        },
      },
      pipeline: pipelineOf(block),
      describe: `${kind} ${block.root} (${block.split}, ${block.frames} frames, pairs at offset ` +
        `${block.offset}, ${block.flowRoot === "" ? "no flow" : `flow ${block.flowRoot}`})`,
      crop: block.crop,
    }),
  });
}

sequenceDataset("cityscapesSeq");
sequenceDataset("viperSeq");
sequenceDataset("synthiaSeq");
