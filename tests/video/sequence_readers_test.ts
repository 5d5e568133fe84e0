import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { generateSequence } from "../../runtime/data/synthcity/mod.ts";
import { listFiles } from "../../runtime/data/readers/files.ts";
import { encodePng, readPng } from "../../runtime/data/png.ts";
import { IGNORE_LABEL } from "../../runtime/data/labels.ts";
import { readFlo } from "../../runtime/data/video/flo.ts";
import { openCityscapesSeq, openViperSeq } from "../../runtime/data/video/readers.ts";
import { synthCityPair } from "../../runtime/data/video/synthcity.ts";
import { writeCityscapesSeq, writeViperSeq } from "../../runtime/data/video/write.ts";
import { TRAIN_ID_TO_VIPER_ID } from "../../runtime/data/video/viper_labels.ts";
import { errorOf, within } from "./helpers.ts";

const SIZE = { width: 64, height: 32 };
const WRITE = { domain: "real", sequences: 2, frames: 20, seed: 3, ...SIZE } as const;

Deno.test("Cityscapes-Seq: SynthCity sequences are written in the exact layout, labels on frame 19 only", async () => {
  await within(async (dir) => {
    const written = await writeCityscapesSeq(dir, {
      ...WRITE,
      flow: { root: join(dir, "flow"), offset: 2 },
    });
    const rel = (files: string[]) => files.map((f) => relative(dir, f)).sort();
    const images = rel(await listFiles(join(dir, "leftImg8bit_sequence"), ".png"));
    assert.equal(images.length, 40);
    assert.equal(
      images[0],
      "leftImg8bit_sequence/train/synthcity3/synthcity3_000000_000000_leftImg8bit.png",
    );
    assert.equal(
      images[39],
      "leftImg8bit_sequence/train/synthcity3/synthcity3_000001_000019_leftImg8bit.png",
    );
    assert.deepEqual(rel(await listFiles(join(dir, "gtFine"), ".png")), [
      "gtFine/train/synthcity3/synthcity3_000000_000019_gtFine_labelTrainIds.png",
      "gtFine/train/synthcity3/synthcity3_000001_000019_gtFine_labelTrainIds.png",
    ]);
    const flows = rel(await listFiles(join(dir, "flow"), ".flo"));
    assert.equal(flows.length, 2 * 18, "frames 2..19 of each sequence");
    assert.equal(flows[0], "flow/synthcity3/synthcity3_000000_000002_leftImg8bit.flo");
    assert.deepEqual(rel(written.labels), rel(await listFiles(join(dir, "gtFine"), ".png")));
  });
});

Deno.test("Cityscapes-Seq reader: the labelled frame pairs with t−k, its label and its exact flow", async () => {
  await within(async (dir) => {
    await writeCityscapesSeq(dir, { ...WRITE, flow: { root: join(dir, "flow"), offset: 2 } });
    const dataset = await openCityscapesSeq(dir, "train", {
      offset: 2,
      flowRoot: join(dir, "flow"),
    });
    assert.equal(dataset.size, 2);
    assert.equal(dataset.offset, 2);
    assert.ok(dataset.hasFlow);
    const p = await dataset.getPair(1);
    assert.equal(
      p.name,
      "leftImg8bit_sequence/train/synthcity3/synthcity3_000001_000019_leftImg8bit.png",
    );
    assert.equal(
      p.previous.name,
      "leftImg8bit_sequence/train/synthcity3/synthcity3_000001_000017_leftImg8bit.png",
    );
    const frames = generateSequence("real", 3, 1, 20, SIZE.width, SIZE.height);
    assert.deepEqual(p.image, frames[19].image);
    assert.deepEqual(p.label, frames[19].label);
    assert.deepEqual(p.previous.image, frames[17].image);
    const exact = synthCityPair({
      domain: "real",
      seed: 3,
      sequence: 1,
      frame: 19,
      offset: 2,
      ...SIZE,
    });
    assert.deepEqual(p.flowValid, exact.flowValid);
    for (let i = 0; i < exact.flowValid!.length; i++) {
      if (!exact.flowValid![i]) continue;
      assert.equal(p.flow![2 * i], exact.flow![2 * i]);
      assert.equal(p.flow![2 * i + 1], exact.flow![2 * i + 1]);
    }
    assert.deepEqual((await dataset.get(1)).label, frames[19].label);
    const all = await openCityscapesSeq(dir, "train", { offset: 2, frames: "all", labels: "none" });
    assert.equal(all.size, 2 * 18);
    assert.equal(all.hasFlow, false);
    assert.equal(
      (await all.getPair(0)).previous.name.endsWith("_000000_000000_leftImg8bit.png"),
      true,
    );
    assert.equal((await all.get(17)).label, undefined);
  });
});

Deno.test("Cityscapes-Seq reader: hand-written labelIds files are mapped, and frame pairing follows the names", async () => {
  await within(async (dir) => {
    const grey = (value: number) =>
      encodePng({ width: 2, height: 1, channels: 1, depth: 8, data: Uint8Array.of(value, 26) });
    const rgb = (value: number) =>
      encodePng({
        width: 2,
        height: 1,
        channels: 3,
        depth: 8,
        data: new Uint8Array(6).fill(value),
      });
    const images = join(dir, "leftImg8bit_sequence", "val", "aachen");
    const labels = join(dir, "gtFine", "val", "aachen");
    await Deno.mkdir(images, { recursive: true });
    await Deno.mkdir(labels, { recursive: true });
    for (const frame of [16, 17, 18, 19]) {
      await Deno.writeFile(join(images, `aachen_000042_0000${frame}_leftImg8bit.png`), rgb(frame));
    }
    await Deno.writeFile(join(labels, "aachen_000042_000019_gtFine_labelIds.png"), grey(7));
    const dataset = await openCityscapesSeq(dir, "val", { offset: 3 });
    assert.equal(dataset.size, 1);
    const p = await dataset.getPair(0);
    assert.deepEqual([...p.label!], [0, 13], "labelIds 7 (road) and 26 (car) → trainIds 0 and 13");
    assert.deepEqual([...p.image], [19, 19, 19, 19, 19, 19]);
    assert.deepEqual([...p.previous.image], [16, 16, 16, 16, 16, 16]);
    const tooFar = await errorOf(openCityscapesSeq(dir, "val", { offset: 4 }));
    assert.ok(tooFar.startsWith(join(images, "aachen_000042_000019_leftImg8bit.png")), tooFar);
    assert.match(tooFar, /has no frame 15 to pair with at offset 4 .* run from 16 to 19\)/);
    assert.match(tooFar, /choose a smaller offset/);
  });
});

Deno.test("Cityscapes-Seq reader: a missing folder, no frames, unpaired frames and missing flow are clear errors", async () => {
  await within(async (dir) => {
    const missing = await errorOf(openCityscapesSeq(join(dir, "nowhere"), "train"));
    assert.ok(
      missing.startsWith(
        `${join(dir, "nowhere", "leftImg8bit_sequence", "train")}: folder not found`,
      ),
    );
    assert.match(missing, /leftImg8bit_sequence\/SPLIT\/CITY\/CITY_SEQ_FRAME_leftImg8bit\.png/);
    assert.match(missing, /Check --root and --split\./);
    const field = await errorOf(
      openCityscapesSeq(join(dir, "nowhere"), "train", { field: "data.target" }),
    );
    assert.match(field, /Check data\.target\.root and data\.target\.split\./);
    await Deno.mkdir(join(dir, "empty", "leftImg8bit_sequence", "train"), { recursive: true });
    const empty = await errorOf(openCityscapesSeq(join(dir, "empty"), "train"));
    assert.match(empty, /: contains no \*_leftImg8bit\.png frames\. Expected the layout/);

    const root = join(dir, "cs");
    await writeCityscapesSeq(root, { ...WRITE, flow: { root: join(root, "flow"), offset: 1 } });
    const frame = (seq: number, t: number) =>
      join(
        root,
        "leftImg8bit_sequence",
        "train",
        "synthcity3",
        `synthcity3_00000${seq}_0000${String(t).padStart(2, "0")}_leftImg8bit.png`,
      );
    await Deno.remove(join(root, "flow", "synthcity3", "synthcity3_000001_000019_leftImg8bit.flo"));
    const noFlow = await errorOf(
      openCityscapesSeq(root, "train", { flowRoot: join(root, "flow") }),
    );
    assert.ok(
      noFlow.startsWith(
        join(root, "flow", "synthcity3", "synthcity3_000001_000019_leftImg8bit.flo") + ": missing",
      ),
      noFlow,
    );
    assert.match(
      noFlow,
      /Compute the flow of every pair at offset 1 into .*or open the dataset without a flow folder/,
    );
    await Deno.remove(frame(0, 18));
    const gap = await errorOf(openCityscapesSeq(root, "train"));
    assert.ok(gap.startsWith(frame(0, 19)), gap);
    assert.match(gap, /has no frame 18 to pair with at offset 1/);
    await Deno.remove(frame(0, 19));
    const orphan = await errorOf(openCityscapesSeq(root, "train", { offset: 2 }));
    assert.match(
      orphan,
      /synthcity3_000000_000019_gtFine_labelTrainIds\.png: frame 19 of sequence synthcity3_000000 has no image/,
    );
    assert.match(orphan, /Restore the frame's image, or remove this file\./);
    await Deno.writeFile(
      join(root, "leftImg8bit_sequence", "train", "synthcity3", "odd_leftImg8bit.png"),
      new Uint8Array(),
    );
    const odd = await errorOf(openCityscapesSeq(root, "train", { offset: 2 }));
    assert.match(odd, /odd_leftImg8bit\.png: this name does not follow the layout/);
    await assert.rejects(openCityscapesSeq(root, "train", { offset: 0 }), /nonzero integer/);
  });
});

Deno.test("VIPER: written in the exact layout, read back with VIPER ids mapped to trainIds and JPEG frames", async () => {
  await within(async (dir) => {
    await writeViperSeq(dir, { ...WRITE, frames: 4, flow: { root: join(dir, "flow"), offset: 1 } });
    const rel = (files: string[]) => files.map((f) => relative(dir, f)).sort();
    const images = rel(await listFiles(join(dir, "train", "img"), ".jpg"));
    assert.deepEqual(images.slice(0, 2), [
      "train/img/001/001_00000.jpg",
      "train/img/001/001_00001.jpg",
    ]);
    assert.equal(images.length, 8);
    assert.equal(
      rel(await listFiles(join(dir, "train", "cls"), ".png"))[7],
      "train/cls/002/002_00003.png",
    );
    assert.equal(rel(await listFiles(join(dir, "flow"), ".flo"))[0], "flow/001/001_00001.flo");
    const cls = await readPng(join(dir, "train", "cls", "001", "001_00002.png"));
    assert.ok(cls.palette !== undefined && cls.channels === 1, "indexed-colour labels");

    const dataset = await openViperSeq(dir, "train", { flowRoot: join(dir, "flow") });
    assert.equal(dataset.size, 2 * 3);
    const p = await dataset.getPair(4); // sequence 002, frame 2
    assert.equal(p.name, "train/img/002/002_00002.jpg");
    assert.equal(p.previous.name, "train/img/002/002_00001.jpg");
    const frames = generateSequence("real", 3, 1, 4, SIZE.width, SIZE.height);
    // VIPER has no wall, pole or rider: those pixels come back ignored, all others as drawn.
    const expected = frames[2].label.map((v) => TRAIN_ID_TO_VIPER_ID.has(v) ? v : IGNORE_LABEL);
    assert.deepEqual(p.label, expected);
    assert.ok(expected.some((v, i) => v !== frames[2].label[i]), "a class VIPER lacks is drawn");
    let error = 0;
    p.image.forEach((v, i) => (error += Math.abs(v - frames[2].image[i])));
    assert.ok(error / p.image.length < 4, `JPEG error ${error / p.image.length}`);
    const flow = await readFlo(join(dir, "flow", "002", "002_00002.flo"));
    assert.deepEqual(p.flow, flow.flow);
  });
});

Deno.test("VIPER: a negative offset pairs each frame with the next one, as UnifiedVideoDA's source", async () => {
  await within(async (dir) => {
    await writeViperSeq(dir, {
      ...WRITE,
      frames: 4,
      format: "png",
      flow: { root: join(dir, "next"), offset: -1 },
    });
    const dataset = await openViperSeq(dir, "train", { offset: -1, flowRoot: join(dir, "next") });
    assert.equal(dataset.size, 2 * 3, "the last frame of each sequence has no next frame");
    const p = await dataset.getPair(2);
    assert.equal(p.name, "train/img/001/001_00002.png");
    assert.equal(p.previous.name, "train/img/001/001_00003.png");
    const exact = synthCityPair({
      domain: "real",
      seed: 3,
      sequence: 0,
      frame: 2,
      offset: -1,
      ...SIZE,
    });
    assert.deepEqual(p.image, exact.image);
    assert.deepEqual(p.previous.image, exact.previous.image);
    assert.deepEqual(p.flowValid, exact.flowValid);
    assert.ok(p.flowValid!.some((v) => v === 1));
  });
});

Deno.test("VIPER reader: PNG frames, hand-written ids, unpaired labels and bad names", async () => {
  await within(async (dir) => {
    const img = join(dir, "val", "img", "007");
    const cls = join(dir, "val", "cls", "007");
    await Deno.mkdir(img, { recursive: true });
    await Deno.mkdir(cls, { recursive: true });
    const rgb = (v: number) =>
      encodePng({ width: 3, height: 1, channels: 3, depth: 8, data: new Uint8Array(9).fill(v) });
    await Deno.writeFile(join(img, "007_00009.png"), rgb(9));
    await Deno.writeFile(join(img, "007_00010.png"), rgb(10));
    // VIPER ids road 3, tree 7, van 25 → trainIds 0, 8 (vegetation) and 255.
    const palette = Array.from({ length: 256 }, (_, i) => [i, i, i]);
    await Deno.writeFile(
      join(cls, "007_00010.png"),
      encodePng({
        width: 3,
        height: 1,
        channels: 1,
        depth: 8,
        data: Uint8Array.of(3, 7, 25),
        palette,
      }),
    );
    const dataset = await openViperSeq(dir, "val");
    assert.equal(dataset.size, 1, "only frame 10 is labelled");
    const p = await dataset.getPair(0);
    assert.deepEqual([...p.label!], [0, 8, 255]);
    assert.deepEqual([...p.previous.image], new Array(9).fill(9));
    assert.equal(p.flow, undefined);
    assert.equal((await openViperSeq(dir, "val", { frames: "all" })).size, 1);

    await Deno.writeFile(
      join(cls, "007_00011.png"),
      encodePng({ width: 3, height: 1, channels: 1, depth: 8, data: Uint8Array.of(3, 3, 3) }),
    );
    const orphan = await errorOf(openViperSeq(dir, "val"));
    assert.ok(
      orphan.startsWith(`${join(cls, "007_00011.png")}: frame 11 of sequence 007 has no image`),
      orphan,
    );
    await Deno.remove(join(cls, "007_00011.png"));
    await Deno.writeFile(join(img, "007_00010.jpg"), new Uint8Array());
    assert.match(
      await errorOf(openViperSeq(dir, "val")),
      /007_00010\.png: frame 10 of sequence 007 also has the image .*007_00010\.jpg\. Keep one/,
    );
    await Deno.remove(join(img, "007_00010.jpg"));
    await Deno.writeFile(join(img, "frame10.png"), rgb(1));
    assert.match(
      await errorOf(openViperSeq(dir, "val")),
      /frame10\.png: this name does not follow the layout ROOT\/SPLIT\/img\/SEQ\/SEQ_FRAME\.jpg/,
    );
    const missing = await errorOf(openViperSeq(dir, "test"));
    assert.ok(missing.startsWith(`${join(dir, "test", "img")}: folder not found`), missing);
  });
});
