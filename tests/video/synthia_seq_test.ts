import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { generateSequence } from "../../runtime/data/synthcity/mod.ts";
import { listFiles } from "../../runtime/data/readers/files.ts";
import { encodePng, readPng } from "../../runtime/data/png.ts";
import { IGNORE_LABEL, SYNTHIA_ID_TO_TRAIN_ID } from "../../runtime/data/labels.ts";
import { readFlo } from "../../runtime/data/video/flo.ts";
import { openSynthiaSeq } from "../../runtime/data/video/synthia_seq.ts";
import { SYNTHIA_SEQ_ID_TO_TRAIN_ID } from "../../runtime/data/video/synthia_seq_labels.ts";
import { synthCityPair } from "../../runtime/data/video/synthcity.ts";
import { synthiaSeqFolder, writeSynthiaSeq } from "../../runtime/data/video/write.ts";
import { collectWarnings } from "../readers/helpers.ts";
import { errorOf, within } from "./helpers.ts";

const SIZE = { width: 64, height: 32 };
const WRITE = { domain: "synthia", sequences: 2, frames: 5, seed: 4, ...SIZE } as const;
const CAMERA = join("Stereo_Left", "Omni_F");

/** Frame t's label as SYNTHIA-SEQS can hold it: classes it lacks come back ignored. */
function seqLabel(label: Uint8Array): Uint8Array {
  const kept = new Set(Object.values(SYNTHIA_SEQ_ID_TO_TRAIN_ID));
  return label.map((v) => kept.has(v) ? v : IGNORE_LABEL);
}

/** A 16-bit SYNTHIA label of `ids` (class in R, an instance id in G), 1 pixel high. */
function synthiaLabel(ids: number[]): Uint8Array {
  const data = new Uint16Array(ids.length * 3);
  ids.forEach((id, i) => {
    data[3 * i] = id;
    data[3 * i + 1] = 500 + i;
  });
  return encodePng({ width: ids.length, height: 1, channels: 3, depth: 16, data });
}

Deno.test("SYNTHIA-SEQS labels: the image table on the shared ids, cyclist → rider, lane marking ignored", () => {
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15]) {
    assert.equal(SYNTHIA_SEQ_ID_TO_TRAIN_ID[id], SYNTHIA_ID_TO_TRAIN_ID[id], `id ${id}`);
  }
  assert.equal(SYNTHIA_SEQ_ID_TO_TRAIN_ID[11], 12, "cyclist → rider, as DA-VSN");
  for (const id of [0, 12, 13, 14, 16, 21]) {
    assert.equal(SYNTHIA_SEQ_ID_TO_TRAIN_ID[id], undefined, `id ${id} is ignored`);
  }
});

Deno.test("SYNTHIA-Seq: SynthCity sequences are written in the exact layout, 16-bit labels with the id in channel 0", async () => {
  await within(async (dir) => {
    const written = await writeSynthiaSeq(dir, {
      ...WRITE,
      flow: { root: join(dir, "flow"), offset: 1 },
    });
    assert.deepEqual(written.roots, [
      join(dir, "SYNTHIA-SEQS-01-SYNTHCITY"),
      join(dir, "SYNTHIA-SEQS-02-SYNTHCITY"),
    ]);
    assert.deepEqual(written.flowRoots, [
      join(dir, "flow", "SYNTHIA-SEQS-01-SYNTHCITY"),
      join(dir, "flow", "SYNTHIA-SEQS-02-SYNTHCITY"),
    ]);
    assert.equal(synthiaSeqFolder(3), "SYNTHIA-SEQS-04-SYNTHCITY");
    const rel = (files: string[]) => files.map((f) => relative(dir, f)).sort();
    const images = rel(await listFiles(dir, ".png")).filter((f) => f.includes("/RGB/"));
    assert.equal(images.length, 10);
    assert.equal(images[0], "SYNTHIA-SEQS-01-SYNTHCITY/RGB/Stereo_Left/Omni_F/000000.png");
    assert.deepEqual(
      rel(written.labels).slice(0, 2),
      [
        "SYNTHIA-SEQS-01-SYNTHCITY/GT/LABELS/Stereo_Left/Omni_F/000000.png",
        "SYNTHIA-SEQS-01-SYNTHCITY/GT/LABELS/Stereo_Left/Omni_F/000001.png",
      ],
    );
    assert.equal(written.labels.length, 10, "every frame is labelled");
    const flows = rel(await listFiles(join(dir, "flow"), ".flo"));
    assert.equal(flows.length, 2 * 4, "frames 1..4 of each sequence");
    assert.equal(flows[0], "flow/SYNTHIA-SEQS-01-SYNTHCITY/000001.flo");
    const label = await readPng(written.labels[7]); // sequence 2, frame 2
    assert.equal(label.depth, 16);
    assert.equal(label.channels, 3);
    const frames = generateSequence("synthia", 4, 1, 5, SIZE.width, SIZE.height);
    const inverse = new Map(
      Object.entries(SYNTHIA_SEQ_ID_TO_TRAIN_ID).map(([id, trainId]) => [trainId, Number(id)]),
    );
    for (let i = 0; i < frames[2].label.length; i++) {
      assert.equal(label.data[3 * i], inverse.get(frames[2].label[i]) ?? 0, `pixel ${i}`);
      assert.equal(label.data[3 * i + 1], 0, "instance 0");
    }
  });
});

Deno.test("SYNTHIA-Seq reader: every frame pairs with t−k, labels mapped exactly, exact flow attached", async () => {
  await within(async (dir) => {
    const { roots } = await writeSynthiaSeq(dir, {
      ...WRITE,
      flow: { root: join(dir, "flow"), offset: 2 },
    });
    const flowRoot = join(dir, "flow", synthiaSeqFolder(1));
    const dataset = await openSynthiaSeq(roots[1], { offset: 2, flowRoot });
    assert.equal(dataset.kind, "synthiaSeq");
    assert.equal(dataset.size, 5 - 2, "frames 0 and 1 have no frame t−2");
    assert.equal(dataset.offset, 2);
    assert.ok(dataset.hasFlow);
    const p = await dataset.getPair(1); // frame 3
    assert.equal(p.name, join("RGB", CAMERA, "000003.png"));
    assert.equal(p.previous.name, join("RGB", CAMERA, "000001.png"));
    const frames = generateSequence("synthia", 4, 1, 5, SIZE.width, SIZE.height);
    assert.deepEqual(p.image, frames[3].image);
    assert.deepEqual(p.previous.image, frames[1].image);
    const expected = seqLabel(frames[3].label);
    assert.deepEqual(p.label, expected);
    assert.ok(expected.some((v) => v !== IGNORE_LABEL), "labelled pixels");
    const flow = await readFlo(join(flowRoot, "000003.flo"));
    assert.deepEqual(p.flow, flow.flow);
    const exact = synthCityPair({
      domain: "synthia",
      seed: 4,
      sequence: 1,
      frame: 3,
      offset: 2,
      ...SIZE,
    });
    assert.deepEqual(p.flowValid, exact.flowValid);
    assert.deepEqual((await dataset.get(1)).label, expected);

    // The default offset pairs with the previous frame; no flow folder, no flow.
    const previous = await openSynthiaSeq(roots[0]);
    assert.equal(previous.size, 4);
    assert.equal(previous.hasFlow, false);
    const q = await previous.getPair(0);
    assert.equal(q.name, join("RGB", CAMERA, "000001.png"));
    assert.equal(q.previous.name, join("RGB", CAMERA, "000000.png"));
    assert.equal(q.flow, undefined);
    // k < 0 pairs with the next frame: the last frame has none.
    const next = await openSynthiaSeq(roots[0], { offset: -1 });
    assert.equal(next.size, 4);
    assert.equal((await next.getPair(3)).previous.name, join("RGB", CAMERA, "000004.png"));
    const unlabelled = await openSynthiaSeq(roots[0], { labels: "none", frames: "all" });
    assert.equal(unlabelled.size, 4);
    assert.equal((await unlabelled.get(0)).label, undefined);
  });
});

Deno.test("SYNTHIA-Seq reader: hand-written ids, unknown values, converted copies and 8-bit labels", async () => {
  await within(async (dir) => {
    const images = join(dir, "RGB", CAMERA);
    const labels = join(dir, "GT", "LABELS", CAMERA);
    await Deno.mkdir(images, { recursive: true });
    await Deno.mkdir(labels, { recursive: true });
    const rgb = (v: number) =>
      encodePng({ width: 6, height: 1, channels: 3, depth: 8, data: new Uint8Array(18).fill(v) });
    await Deno.writeFile(join(images, "000007.png"), rgb(7));
    await Deno.writeFile(join(images, "000008.png"), rgb(8));
    await Deno.writeFile(join(labels, "000007.png"), synthiaLabel([3, 3, 3, 3, 3, 3]));
    // road 3, cyclist 11, lane marking 12, traffic light 15, void 0 and 20 (no SYNTHIA-SEQS id).
    await Deno.writeFile(join(labels, "000008.png"), synthiaLabel([3, 11, 12, 15, 0, 20]));
    // UnifiedVideoDA's converter writes trainId copies beside the originals: skipped.
    await Deno.writeFile(join(labels, "000008_labelTrainIds.png"), rgb(1));
    const warnings = collectWarnings();
    try {
      const dataset = await openSynthiaSeq(dir);
      assert.equal(dataset.size, 1);
      const p = await dataset.getPair(0);
      assert.deepEqual([...p.label!], [0, 12, 255, 6, 255, 255]);
      assert.deepEqual([...p.previous.image], new Array(18).fill(7));
      assert.equal(warnings.messages.length, 1);
      assert.match(
        warnings.messages[0],
        /000008\.png: 1 of 6 pixels hold values that are no SYNTHIA-SEQS class id \(0–15\): 20: 1 px/,
      );
      const strict = await openSynthiaSeq(dir, { strictLabels: true });
      await assert.rejects(() => strict.get(0), /--strict-labels refuses such files/);
    } finally {
      warnings.stop();
    }
    await Deno.writeFile(
      join(labels, "000008.png"),
      encodePng({ width: 6, height: 1, channels: 1, depth: 8, data: new Uint8Array(6) }),
    );
    const eightBit = await errorOf((await openSynthiaSeq(dir)).get(0));
    assert.match(
      eightBit,
      /expected a SYNTHIA label, a 16-bit PNG .* GT\/LABELS files of SYNTHIA-SEQS/,
    );
    await Deno.writeFile(join(images, "frame9.png"), rgb(9));
    const odd = await errorOf(openSynthiaSeq(dir));
    assert.match(odd, /frame9\.png: this name does not follow the layout ROOT\/RGB\/Stereo_Left/);
  });
});

Deno.test("SYNTHIA-Seq reader: a missing folder, a gap and missing flow are errors naming the file or folder", async () => {
  await within(async (dir) => {
    const missing = await errorOf(openSynthiaSeq(join(dir, "SYNTHIA-SEQS-04-DAWN")));
    assert.ok(
      missing.startsWith(
        `${join(dir, "SYNTHIA-SEQS-04-DAWN", "RGB", CAMERA)}: folder not found. Expected the ` +
          `layout ROOT/RGB/Stereo_Left/Omni_F/FRAME.png`,
      ),
      missing,
    );
    assert.match(missing, /Check --root and --split\./);
    const field = await errorOf(
      openSynthiaSeq(join(dir, "nowhere"), { field: "data.source" }),
    );
    assert.match(field, /Check data\.source\.root\./);

    const { roots } = await writeSynthiaSeq(dir, {
      ...WRITE,
      sequences: 1,
      flow: { root: join(dir, "flow"), offset: 1 },
    });
    const flowRoot = join(dir, "flow", synthiaSeqFolder(0));
    const noFlowDir = await errorOf(
      openSynthiaSeq(roots[0], { flowRoot: join(dir, "nope"), field: "data.source" }),
    );
    assert.ok(noFlowDir.startsWith(`${join(dir, "nope")}: folder not found`), noFlowDir);
    assert.match(noFlowDir, /Check data\.source\.flowRoot\./);
    await Deno.remove(join(flowRoot, "000003.flo"));
    const noFlow = await errorOf(openSynthiaSeq(roots[0], { flowRoot }));
    assert.ok(noFlow.startsWith(`${join(flowRoot, "000003.flo")}: missing`), noFlow);
    await Deno.remove(join(roots[0], "RGB", CAMERA, "000002.png"));
    const gap = await errorOf(openSynthiaSeq(roots[0]));
    assert.match(
      gap,
      /GT\/LABELS\/Stereo_Left\/Omni_F\/000002\.png: frame 2 of sequence SYNTHIA-SEQS-01-SYNTHCITY has no image/,
    );
    await Deno.remove(join(roots[0], "GT", "LABELS", CAMERA, "000002.png"));
    const unpaired = await errorOf(openSynthiaSeq(roots[0]));
    assert.match(
      unpaired,
      /000003\.png: frame 3 of sequence SYNTHIA-SEQS-01-SYNTHCITY has no frame 2 to pair with at offset 1/,
    );
    await assert.rejects(
      openSynthiaSeq(roots[0], { offset: 0 }),
      /SYNTHIA-Seq: the frame offset k must be a nonzero integer/,
    );
  });
});
