import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cityscapesSeq,
  diffExperiments,
  type Experiment,
  extend,
  off,
  synthiaSeq,
  viperSeq,
} from "../../dsl/mod.ts";
import { compile } from "../../runtime/compile/program.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import { SampleLoader } from "../../runtime/data/prefetch/loader.ts";
import { loadEvalSet } from "../../runtime/eval/evaluate.ts";
import {
  writeCityscapesSeq,
  writeSynthiaSeq,
  writeViperSeq,
} from "../../runtime/data/video/write.ts";
import tinyDaformer from "../fixtures/tiny_daformer.ts";
import viperSourceOnly from "../../experiments/viper2csseq/source_only.ts";
import viperDaformer from "../../experiments/viper2csseq/daformer.ts";
import viperPipapp from "../../experiments/viper2csseq/pipapp.ts";
import synthiaSourceOnly from "../../experiments/synthiaseq2csseq/source_only.ts";
import synthiaDaformer from "../../experiments/synthiaseq2csseq/daformer.ts";
import synthiaPipapp from "../../experiments/synthiaseq2csseq/pipapp.ts";
import { errorOf, videoTempDir } from "./helpers.ts";

/** Written frames are 64×32: read at their native size, cropped to 32². */
const SIZE = { width: 64, height: 32 } as const;
const PIPELINE = { scale: [0, 0], crop: [32, 32] } as const;

/** The three video datasets written from SynthCity sequences, with flow, under `dir`. */
async function writeAll(dir: string) {
  const cs = join(dir, "cityscapes");
  const common = { sequences: 1, seed: 2, ...SIZE };
  await writeCityscapesSeq(cs, {
    ...common,
    domain: "real",
    frames: 20,
    flow: { root: join(dir, "cs_flow", "train"), offset: 1 },
  });
  await writeCityscapesSeq(cs, { ...common, domain: "real", frames: 20, split: "val", seed: 3 });
  const viper = join(dir, "viper");
  await writeViperSeq(viper, {
    ...common,
    sequences: 2,
    domain: "game",
    frames: 4,
    format: "png",
    flow: { root: join(dir, "viper_flow"), offset: -1 },
  });
  const synthia = await writeSynthiaSeq(join(dir, "synthia"), {
    ...common,
    domain: "synthia",
    frames: 4,
    flow: { root: join(dir, "synthia_flow"), offset: 1 },
  });
  return { cs, viper, synthia: synthia.roots[0], synthiaFlow: synthia.flowRoots[0] };
}

/** Loads sample 0 of role `role` with its pair, through the compiled program's data plan. */
async function loadPair(experiment: Experiment, role: "source" | "target") {
  const program = compile(experiment);
  const plan = program.data.train.find((d) => d.role === role)!;
  const loader = await SampleLoader.open({
    source: plan.source,
    pipeline: { ...plan.pipeline, pairs: true },
    seed: 1,
    workers: 0,
  });
  try {
    return { size: loader.size, sample: await loader.get(0) };
  } finally {
    loader.close();
  }
}

Deno.test("the video dataset blocks fill the published protocols' defaults", () => {
  const cs = cityscapesSeq();
  assert.deepEqual([cs.root, cs.split, cs.scale, cs.catMaxRatio], [
    "data/cityscapes",
    "train",
    [1024, 512],
    1,
  ]);
  assert.deepEqual([cs.offset, cs.flowRoot, cs.frames], [1, "", "labelled"]);
  const viper = viperSeq();
  assert.deepEqual([viper.root, viper.split, viper.scale, viper.catMaxRatio], [
    "data/viper",
    "train",
    [1280, 720],
    0.75,
  ]);
  const synthia = synthiaSeq();
  assert.deepEqual([synthia.root, synthia.scale, synthia.offset], [
    "data/SYNTHIA-SEQS-04-DAWN",
    [1280, 760],
    1,
  ]);
});

Deno.test("cityscapesSeq, viperSeq and synthiaSeq: an experiment loads their frame pairs and flow through its data plan", async () => {
  await useBackend("cpu");
  const dir = await videoTempDir();
  try {
    const roots = await writeAll(dir);
    const video = extend(tinyDaformer, {
      data: {
        source: viperSeq({
          root: roots.viper,
          offset: -1,
          flowRoot: join(dir, "viper_flow"),
          ...PIPELINE,
        }),
        target: cityscapesSeq({
          root: roots.cs,
          flowRoot: join(dir, "cs_flow", "train"),
          ...PIPELINE,
        }),
        targetVal: cityscapesSeq({ root: roots.cs, split: "val", scale: [0, 0] }),
        sourceVal: off,
      },
    });
    const source = await loadPair(video, "source");
    assert.equal(source.size, 2 * 3, "each VIPER sequence's last frame has no next frame");
    assert.match(source.sample.name, /^train\/img\/00[12]\/00[12]_0000[0-2]\.png$/);
    assert.equal(source.sample.previous!.length, 32 * 32 * 3);
    assert.equal(source.sample.flow!.length, 32 * 32 * 2);
    assert.equal(source.sample.label!.length, 32 * 32);
    const target = await loadPair(video, "target");
    assert.equal(target.size, 1, "one snippet, labelled on frame 19");
    assert.match(target.sample.name, /_000000_000019_leftImg8bit\.png$/);
    assert.equal(target.sample.previous!.length, 32 * 32 * 3);
    assert.equal(target.sample.flowValid!.length, 32 * 32);
    const program = compile(video);
    const val = await loadEvalSet(program.evaluation.sets.find((s) => s.role === "targetVal")!);
    assert.equal(val.images.length, 1);

    const synthia = extend(video, {
      data: {
        source: synthiaSeq({
          root: roots.synthia,
          flowRoot: roots.synthiaFlow,
          ...PIPELINE,
        }),
      },
    });
    const fromSynthia = await loadPair(synthia, "source");
    assert.equal(fromSynthia.size, 3, "frames 1..3 have a frame t−1");
    assert.equal(fromSynthia.sample.previous!.length, 32 * 32 * 3);
    assert.equal(fromSynthia.sample.flow!.length, 32 * 32 * 2);

    // A wrong folder names the experiment's fields, not the data command's flags.
    const missing = extend(video, { data: { target: { root: join(dir, "nowhere") } } });
    assert.match(
      await errorOf(loadPair(missing, "target")),
      /leftImg8bit_sequence\/train: folder not found\. .*Check data\.target\.root and data\.target\.split\./,
    );
    const noFlow = extend(video, { data: { target: { flowRoot: join(dir, "nope") } } });
    assert.match(
      await errorOf(loadPair(noFlow, "target")),
      /nope: folder not found\. .*Check data\.target\.flowRoot\./,
    );
    const noSynthia = extend(synthia, { data: { source: { root: join(dir, "nowhere") } } });
    assert.match(
      await errorOf(loadPair(noSynthia, "source")),
      /RGB\/Stereo_Left\/Omni_F: folder not found\. .*Check data\.source\.root\./,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the video dataset blocks' checks name their fields", () => {
  assert.throws(
    () => extend(tinyDaformer, { data: { source: viperSeq({ offset: 0, crop: [64, 64] }) } }),
    /data\.source\.offset: the offset k pairs frame t with frame t−k, so it must be nonzero/,
  );
  assert.throws(
    () =>
      extend(tinyDaformer, {
        data: { targetVal: cityscapesSeq({ frames: "all", crop: [64, 64] }) },
      }),
    /data\.targetVal\.frames: "all" includes the 29 unlabelled frames/,
  );
  const all = extend(tinyDaformer, {
    data: { target: cityscapesSeq({ frames: "all", crop: [64, 64] }) },
  });
  assert.equal((all.data.target as { frames: string }).frames, "all");
});

Deno.test("the paper-scale video replicas compile, with their protocols, offsets and flow", () => {
  const replicas = {
    viperSourceOnly,
    viperDaformer,
    viperPipapp,
    synthiaSourceOnly,
    synthiaDaformer,
    synthiaPipapp,
  };
  for (const [name, experiment] of Object.entries(replicas)) {
    const program = compile(experiment);
    assert.ok(program.data.train.some((d) => d.role === "source"), name);
    const target = experiment.data.target as { kind: string; offset: number };
    assert.deepEqual([target.kind, target.offset], ["cityscapesSeq", 1], name);
  }
  for (const x of [viperSourceOnly, viperDaformer, viperPipapp]) {
    assert.equal(x.evaluation.protocol, "15");
    const source = x.data.source as { kind: string; offset: number };
    assert.deepEqual([source.kind, source.offset], ["viperSeq", -1]);
  }
  for (const x of [synthiaSourceOnly, synthiaDaformer, synthiaPipapp]) {
    assert.equal(x.evaluation.protocol, "11");
    const source = x.data.source as { kind: string; offset: number };
    assert.deepEqual([source.kind, source.offset], ["synthiaSeq", 1]);
  }
  for (const x of [viperPipapp, synthiaPipapp]) {
    assert.equal(
      (x.data.target as { flowRoot: string }).flowRoot,
      "data/cityscapes_seq_flow/train",
    );
    assert.ok("temporal" in x.losses);
  }
  // The source-only replicas carry DAFormer's paper-scale recipe: DAFormer adds only its method.
  for (const [a, b] of [[viperSourceOnly, viperDaformer], [synthiaSourceOnly, synthiaDaformer]]) {
    const paths = diffExperiments(a, b).map((c) => c.path);
    assert.deepEqual(paths, ["data.sampling", "losses.fd", "losses.mix", "mixing", "teacher"]);
  }
});
