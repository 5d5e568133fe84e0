import assert from "node:assert/strict";
import { join } from "node:path";
import { openCityscapes, openGta5, openSynthia } from "../../runtime/data/readers/datasets.ts";
import {
  cachePath,
  classStats,
  samplesWithClass,
  totalCounts,
} from "../../runtime/data/class_stats.ts";
import { main as stats } from "../../runtime/cli/data/stats.ts";
import { captureLog, grey, png, rgb, tempDir } from "./helpers.ts";

// 12 label ids: road 7, sidewalk 8, car 26, unlabeled 0, an id with no train class (4), bicycle 33.
const IDS = [7, 7, 7, 8, 8, 26, 26, 26, 26, 0, 4, 33];
// Their trainIds: road 0 ×3, sidewalk 1 ×2, car 13 ×4, ignored ×2, bicycle 18 ×1.
const TRAIN_IDS = [0, 0, 0, 1, 1, 13, 13, 13, 13, 255, 255, 18];

Deno.test("GTA5: indexed labels are read as ids (not colours) and mapped to trainIds", async () => {
  const root = await tempDir();
  try {
    const palette = Array.from({ length: 256 }, (_, i) => [i, 255 - i, 0]);
    await png(join(root, "images/00001.png"), rgb(50));
    await png(join(root, "labels/00001.png"), { ...grey(IDS), palette });
    await png(join(root, "images/00002.png"), rgb(60));
    await png(join(root, "labels/00002.png"), grey(IDS.map(() => 7)));
    const ds = await openGta5(root);
    assert.equal(ds.size, 2);
    const first = await ds.get(0);
    assert.deepEqual(Array.from(first.label!), TRAIN_IDS);
    assert.equal(first.name, "images/00001.png");
    assert.deepEqual(Array.from(first.image.subarray(0, 3)), [50, 50, 50]);
    const { images, computed } = await classStats(ds);
    assert.equal(computed, true);
    const { counts, ignored } = totalCounts(images);
    assert.equal(counts[0], 3 + 12);
    assert.equal(counts[13], 4);
    assert.equal(counts[18], 1);
    assert.equal(ignored, 2);
    assert.deepEqual(
      samplesWithClass(images, 3).get(0),
      [{ index: 1, count: 12 }],
      "strictly more than minPixels",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("Cityscapes: labelTrainIds preferred, labelIds mapped otherwise, images-only for targets", async () => {
  const root = await tempDir();
  try {
    const stem = "aachen_000000_000019";
    await png(join(root, `leftImg8bit/train/aachen/${stem}_leftImg8bit.png`), rgb(10));
    await png(join(root, `gtFine/train/aachen/${stem}_gtFine_labelIds.png`), grey(IDS));
    const byIds = await openCityscapes(root, "train");
    assert.deepEqual(Array.from((await byIds.get(0)).label!), TRAIN_IDS);
    await png(
      join(root, `gtFine/train/aachen/${stem}_gtFine_labelTrainIds.png`),
      grey(TRAIN_IDS.map((v) => (v === 13 ? 11 : v))),
    );
    const byTrainIds = await openCityscapes(root, "train");
    assert.equal((await byTrainIds.get(0)).label![5], 11, "labelTrainIds used when present");
    const forced = await openCityscapes(root, "train", "ids");
    assert.equal((await forced.get(0)).label![5], 13);
    const unlabelled = await openCityscapes(root, "train", "none");
    assert.equal((await unlabelled.get(0)).label, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SYNTHIA: 16-bit labels with the class id in the first channel, 16 classes", async () => {
  const root = await tempDir();
  try {
    // SYNTHIA ids: 3 road, 4 sidewalk, 8 car, 11 bicycle, 0 void, 22 (unmapped); G holds instance ids.
    const ids = [3, 3, 3, 4, 4, 8, 8, 8, 8, 0, 22, 11];
    const data = new Uint16Array(36);
    ids.forEach((id, i) => {
      data[3 * i] = id;
      data[3 * i + 1] = 1000 + i;
    });
    await png(join(root, "RGB/0000000.png"), rgb(5));
    await png(join(root, "GT/LABELS/0000000.png"), {
      width: 4,
      height: 3,
      channels: 3,
      depth: 16,
      data,
    });
    const ds = await openSynthia(root);
    assert.deepEqual(Array.from((await ds.get(0)).label!), TRAIN_IDS);
    const { code, out } = await captureLog(() => stats(["--dataset", "synthia", "--root", root]));
    assert.equal(code, 0);
    const json = JSON.parse(out);
    assert.equal(json.images, 1);
    assert.equal(json.pixels.road, 3);
    assert.equal(json.pixels.sidewalk, 2);
    assert.equal(json.pixels.car, 4);
    assert.equal(json.pixels.bicycle, 1);
    assert.equal(json.pixels.ignore, 2);
    assert.equal(json.pixels.train, 0);
    assert.equal(Object.keys(json.pixels).length, 20);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("class statistics are cached, reused, and recomputed when a label changes or the cache is corrupt", async () => {
  const root = await tempDir();
  try {
    await png(join(root, "images/00001.png"), rgb(1));
    await png(join(root, "labels/00001.png"), grey(IDS));
    const ds = await openGta5(root);
    assert.equal((await classStats(ds)).computed, true);
    assert.ok((await Deno.stat(cachePath(ds))).isFile);
    assert.equal((await classStats(ds)).computed, false, "second call reads the cache");
    await new Promise((r) => setTimeout(r, 20));
    await png(join(root, "labels/00001.png"), grey(IDS.map(() => 26)));
    const changed = await classStats(await openGta5(root));
    assert.equal(changed.computed, true, "a modified label invalidates the cache");
    assert.equal(totalCounts(changed.images).counts[13], 12);
    await Deno.writeTextFile(cachePath(ds), "{ half a cache");
    assert.equal((await classStats(ds)).computed, true, "a corrupt cache is rebuilt");
    const leftovers = [...Deno.readDirSync(join(root, ".uda-lab"))].map((e) => e.name);
    assert.deepEqual(leftovers, ["class_stats-gta5-train.json"], "no temporary files are left");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bad data: each problem is reported with the file it concerns", async () => {
  const root = await tempDir();
  try {
    // Truncated PNG.
    await png(join(root, "a/images/00001.png"), rgb(1));
    await png(join(root, "a/labels/00001.png"), grey(IDS));
    const bytes = await Deno.readFile(join(root, "a/labels/00001.png"));
    await Deno.writeFile(join(root, "a/labels/00001.png"), bytes.subarray(0, 40));
    await assert.rejects(
      async () => await (await openGta5(join(root, "a"))).get(0),
      /a\/labels\/00001\.png: (not a readable PNG|PNG data ends early)/,
    );
    // Image without its label, and a label without its image.
    await png(join(root, "b/images/00001.png"), rgb(1));
    await png(join(root, "b/labels/00002.png"), grey(IDS));
    await assert.rejects(
      () => openGta5(join(root, "b")),
      /b\/images\/00001\.png: this image has no label/,
    );
    await png(join(root, "c/images/00001.png"), rgb(1));
    await png(join(root, "c/labels/00001.png"), grey(IDS));
    await png(join(root, "c/labels/00009.png"), grey(IDS));
    await assert.rejects(
      () => openGta5(join(root, "c")),
      /c\/labels\/00009\.png: this label has no image/,
    );
    // Image and label of different sizes.
    await png(join(root, "d/images/00001.png"), rgb(1, 5, 3));
    await png(join(root, "d/labels/00001.png"), grey(IDS));
    await assert.rejects(
      async () => await (await openGta5(join(root, "d"))).get(0),
      /d\/labels\/00001\.png: the label is 4×3 but its image .* is 5×3/,
    );
    // A trainId file with a value outside 0..18 / 255.
    const stem = "x_000000_000000";
    await png(join(root, `e/leftImg8bit/train/x/${stem}_leftImg8bit.png`), rgb(1));
    await png(join(root, `e/gtFine/train/x/${stem}_gtFine_labelTrainIds.png`), grey(IDS));
    await assert.rejects(
      async () => await (await openCityscapes(join(root, "e"))).get(0),
      /labelTrainIds\.png: pixel 5 has the value 26, which is no Cityscapes trainId/,
    );
    // A colour label where ids are expected.
    await png(join(root, "f/images/00001.png"), rgb(1));
    await png(join(root, "f/labels/00001.png"), rgb(7));
    await assert.rejects(
      async () => await (await openGta5(join(root, "f"))).get(0),
      /f\/labels\/00001\.png: expected a GTA5 label .* found 3 channel/,
    );
    // An empty folder and a missing one.
    await Deno.mkdir(join(root, "g/images"), { recursive: true });
    await Deno.mkdir(join(root, "g/labels"), { recursive: true });
    await assert.rejects(
      () => openGta5(join(root, "g")),
      /g\/images: contains no \.png images\. Expected the layout ROOT\/images/,
    );
    await assert.rejects(
      () => openSynthia(join(root, "nowhere")),
      /nowhere\/RGB: folder not found\. Expected the layout ROOT\/RGB/,
    );
    // The command line: one paragraph, exit 1 for bad data, 2 for bad flags.
    const bad = await captureLog(() => stats(["--dataset", "gta5", "--root", join(root, "b")]));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /this image has no label/);
    assert.equal(
      (await captureLog(() => stats(["--dataset", "imagenet", "--root", root]))).code,
      2,
    );
    assert.equal((await captureLog(() => stats(["--root", root]))).code, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
