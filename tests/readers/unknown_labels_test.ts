import assert from "node:assert/strict";
import { join } from "node:path";
import { openCityscapes, openGta5, openSynthia } from "../../runtime/data/readers/datasets.ts";
import { openDataset } from "../../runtime/data/open.ts";
import {
  setStrictLabels,
  strictLabels,
  takeStrictLabelsFlag,
} from "../../runtime/data/label_policy.ts";
import { SampleLoader } from "../../runtime/data/prefetch/loader.ts";
import type { PipelineSpec } from "../../runtime/data/transforms/pipeline.ts";
import { loadEvalSet } from "../../runtime/eval/evaluate.ts";
import type { EvalSetPlan } from "../../runtime/blocks/types.ts";
import { denoCommand } from "../../runtime/cli/deno_command.ts";
import { collectWarnings, grey, png, rgb, synthiaLabel, tempDir } from "./helpers.ts";

// Valid Cityscapes ids, including ids without a train class (0 unlabeled, 4 static): no warning.
const IDS = [7, 7, 7, 8, 8, 26, 26, 26, 26, 0, 4, 33];
const TRAIN_IDS = [0, 0, 0, 1, 1, 13, 13, 13, 13, 255, 255, 18];
// The same with two pixels of 99, which is no Cityscapes id: they become 255 like id 4 does.
const WITH_99 = [7, 99, 7, 8, 8, 26, 26, 26, 26, 0, 4, 99];
const WITH_99_TRAIN_IDS = [0, 255, 0, 1, 1, 13, 13, 13, 13, 255, 255, 255];

const STEM = "aachen_000000_000019";
const BAD_STEM = "aachen_000001_000019";

/** A Cityscapes root with a clean labelIds file (entry 0) and one holding 99 (entry 1). */
async function cityscapesRoot(root: string): Promise<string> {
  await png(join(root, `leftImg8bit/train/aachen/${STEM}_leftImg8bit.png`), rgb(10));
  await png(join(root, `gtFine/train/aachen/${STEM}_gtFine_labelIds.png`), grey(IDS));
  await png(join(root, `leftImg8bit/train/aachen/${BAD_STEM}_leftImg8bit.png`), rgb(20));
  const bad = join(root, `gtFine/train/aachen/${BAD_STEM}_gtFine_labelIds.png`);
  await png(bad, grey(WITH_99));
  return bad;
}

/** A GTA5 root of one image whose indexed label holds `ids`. */
async function gtaRoot(root: string, ids: number[]): Promise<string> {
  const palette = Array.from({ length: 256 }, (_, i) => [i, 255 - i, 0]);
  await png(join(root, "images/00001.png"), rgb(50));
  await png(join(root, "labels/00001.png"), { ...grey(ids), palette });
  return join(root, "labels/00001.png");
}

Deno.test("Cityscapes labelIds: a value that is no id becomes 255, warned once per file, refused when strict", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    const bad = await cityscapesRoot(root);
    const ds = await openCityscapes(root, "train");
    assert.deepEqual(Array.from((await ds.get(0)).label!), TRAIN_IDS, "valid file unchanged");
    assert.equal(warnings.messages.length, 0, "a valid file gives no warning");
    assert.deepEqual(Array.from((await ds.get(1)).label!), WITH_99_TRAIN_IDS);
    assert.equal(warnings.messages.length, 1);
    assert.equal(
      warnings.messages[0],
      `${bad}: 2 of 12 pixels hold values that are no Cityscapes label id (0–33): 99: 2 px. ` +
        `They became 255 (ignored by the losses and the metrics). A labelIds file holds ` +
        `cityscapesscripts ids; regenerate this one from its gtFine polygons with ` +
        `cityscapesscripts' json2labelImg. Pass --strict-labels to stop at such files instead.`,
    );
    // Every epoch reads the file again, and a reopened dataset too: still one warning.
    await ds.get(1);
    await ds.getLabel(1);
    await (await openCityscapes(root, "train", "auto")).get(1);
    assert.equal(warnings.messages.length, 1, "once per file per process");

    const strict = await openCityscapes(root, "train", "auto", { strictLabels: true });
    assert.deepEqual(Array.from((await strict.get(0)).label!), TRAIN_IDS);
    const refused = new RegExp(
      `${BAD_STEM}_gtFine_labelIds\\.png: 2 of 12 pixels hold values that are no Cityscapes ` +
        `label id \\(0–33\\): 99: 2 px\\. --strict-labels refuses such files \\(without it ` +
        `these pixels would be ignored as 255\\)\\. A labelIds file`,
    );
    await assert.rejects(() => strict.get(1), refused);
    await assert.rejects(() => strict.getLabel(1), refused, "refused at every read");
    await assert.rejects(
      () => strict.get(1),
      (e: Error) => !e.message.includes("\n"),
      "one paragraph",
    );
    assert.equal(warnings.messages.length, 1, "strict mode errors instead of warning");
  } finally {
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("GTA5: palette indices that are no Cityscapes id become 255, warned once, refused when strict", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    const clean = await gtaRoot(join(root, "clean"), IDS);
    assert.deepEqual(Array.from((await (await openGta5(join(root, "clean"))).get(0)).label!), [
      ...TRAIN_IDS,
    ]);
    assert.equal(warnings.messages.length, 0, `no warning for ${clean}`);
    // 33 (bicycle) is the last Cityscapes id; 34 the first value that is none.
    const ids = [7, 7, 7, 8, 8, 26, 26, 200, 26, 0, 34, 33];
    const bad = await gtaRoot(join(root, "bad"), ids);
    const ds = await openGta5(join(root, "bad"));
    const expected = [0, 0, 0, 1, 1, 13, 13, 255, 13, 255, 255, 18];
    assert.deepEqual(Array.from((await ds.get(0)).label!), expected);
    await ds.get(0);
    assert.equal(warnings.messages.length, 1);
    assert.ok(warnings.messages[0].startsWith(`${bad}: 2 of 12 pixels hold values that are no `));
    assert.match(
      warnings.messages[0],
      /Cityscapes label id \(0–33\): 34: 1 px, 200: 1 px\. They became 255 .*palette indices/,
    );
    const strict = await openGta5(join(root, "bad"), { strictLabels: true });
    await assert.rejects(
      () => strict.get(0),
      /bad\/labels\/00001\.png: 2 of 12 pixels .* 34: 1 px, 200: 1 px\. --strict-labels refuses/,
    );
  } finally {
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SYNTHIA: class ids past 22 (16-bit too) become 255, warned once, refused when strict", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    // 22 (lanemarking) and 0 (void) are SYNTHIA ids without a train class: no warning.
    await png(join(root, "clean/RGB/0000000.png"), rgb(5));
    await png(
      join(root, "clean/GT/LABELS/0000000.png"),
      synthiaLabel([3, 3, 3, 4, 4, 8, 8, 8, 8, 0, 22, 11]),
    );
    const clean = await openSynthia(join(root, "clean"));
    assert.deepEqual(Array.from((await clean.get(0)).label!), TRAIN_IDS);
    assert.equal(warnings.messages.length, 0);
    const bad = join(root, "bad/GT/LABELS/0000000.png");
    await png(join(root, "bad/RGB/0000000.png"), rgb(5));
    await png(bad, synthiaLabel([3, 3, 3, 4, 4, 8, 8, 8, 8, 23, 300, 11]));
    const ds = await openSynthia(join(root, "bad"));
    assert.deepEqual(Array.from((await ds.get(0)).label!), TRAIN_IDS);
    await ds.getLabel(0);
    assert.equal(warnings.messages.length, 1);
    assert.ok(warnings.messages[0].startsWith(`${bad}: 2 of 12 pixels hold values that are no `));
    assert.match(warnings.messages[0], /SYNTHIA class id \(0–22\): 23: 1 px, 300: 1 px\./);
    await assert.rejects(
      async () => await (await openSynthia(join(root, "bad"), { strictLabels: true })).get(0),
      /LABELS\/0000000\.png: 2 of 12 pixels .* 23: 1 px, 300: 1 px\. --strict-labels refuses/,
    );
  } finally {
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("many unknown values are listed up to eight, the rest summarised", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    const ids = [7, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 49];
    await gtaRoot(root, ids);
    await (await openGta5(root)).get(0);
    assert.match(
      warnings.messages[0],
      /11 of 12 pixels .*: 40: 1 px, 41: 1 px, .*47: 1 px, and 2 more values \(3 px\)\./,
    );
  } finally {
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("strict mode: the request's setting, else the process default set by --strict-labels", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    await gtaRoot(root, WITH_99);
    const request = { dataset: "gta5", root, split: "train", domain: "", count: 0, seed: 0 };
    assert.equal(strictLabels(), false, "off by default");
    assert.deepEqual(
      takeStrictLabelsFlag(["x.ts", "--seed", "1"]),
      ["x.ts", "--seed", "1"],
    );
    assert.equal(strictLabels(), false, "no flag: off");
    assert.deepEqual(
      takeStrictLabelsFlag(["x.ts", "--strict-labels", "--seed", "1"]),
      ["x.ts", "--seed", "1"],
      "the flag is taken out for the command's own parser",
    );
    assert.equal(strictLabels(), true);
    await assert.rejects(async () => await (await openDataset(request)).get(0), /--strict-labels/);
    const lenient = await openDataset({ ...request, strictLabels: false });
    assert.deepEqual(Array.from((await lenient.get(0)).label!), WITH_99_TRAIN_IDS);
    assert.equal(warnings.messages.length, 1, "an explicit request overrides the default");
    takeStrictLabelsFlag(["x.ts"]);
    assert.equal(strictLabels(), false, "each command decides afresh");
  } finally {
    setStrictLabels(false);
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

const SPEC: PipelineSpec = {
  resize: { kind: "none" },
  crop: { width: 4, height: 3 },
  catMaxRatio: 1,
  flip: 0,
};

function gtaSource(root: string) {
  return {
    module: new URL("../../runtime/data/open.ts", import.meta.url).href,
    exportName: "openDataset",
    options: { dataset: "gta5", root, split: "train", domain: "", count: 0, seed: 0 },
  };
}

Deno.test("data workers: their warnings reach the main thread, once per file for the process", async () => {
  const root = await tempDir();
  const warnings = collectWarnings();
  try {
    const bad = await gtaRoot(root, WITH_99);
    const loader = await SampleLoader.open({
      source: gtaSource(root),
      pipeline: SPEC,
      seed: 1,
      workers: 2,
    });
    try {
      // Six samples of a one-image dataset over two workers: each reads the file three times.
      const samples = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => loader.get(i)));
      assert.deepEqual(Array.from(samples[3].label!), WITH_99_TRAIN_IDS);
    } finally {
      loader.close();
    }
    assert.equal(warnings.messages.length, 1, warnings.messages.join("\n"));
    assert.ok(warnings.messages[0].startsWith(`${bad}: 2 of 12 pixels`));
    // The main thread reading it afterwards (as class statistics may) knows it was reported.
    await (await openGta5(root)).getLabel(0);
    assert.equal(warnings.messages.length, 1);
  } finally {
    warnings.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("through a command: a worker's warning reaches stderr once; --strict-labels stops it", async () => {
  const root = await tempDir();
  try {
    const bad = await gtaRoot(root, WITH_99);
    const command = async (...extra: string[]) => {
      const out = await new Deno.Command(denoCommand(), {
        args: ["run", "--allow-read=.", "tests/readers/loader_script.ts", "gta5", root, ...extra],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    };
    const lenient = await command();
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.equal(lenient.stdout, "read 6 samples\n");
    const lines = lenient.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, lenient.stderr);
    assert.ok(lines[0].startsWith(`warning: ${bad}: 2 of 12 pixels`), lines[0]);
    assert.match(lines[0], /99: 2 px\. They became 255/);
    const strict = await command("--strict-labels");
    assert.equal(strict.code, 1);
    assert.equal(strict.stdout, "");
    assert.match(strict.stderr, /^error: sample \d: .*00001\.png: 2 of 12 pixels .*refuses/);
    assert.equal(strict.stderr.trim().split("\n").length, 1, "one paragraph, no warning");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing dataset names the experiment field when an experiment opened it", async () => {
  const root = await tempDir();
  try {
    const nowhere = join(root, "nowhere");
    const request = {
      dataset: "cityscapes",
      root: nowhere,
      split: "val",
      domain: "",
      count: 0,
      seed: 0,
    };
    await assert.rejects(
      () => openDataset(request),
      /nowhere\/leftImg8bit\/val: folder not found\. .* Check --root and --split\.$/,
      "the data command's wording by default",
    );
    await assert.rejects(
      () => openDataset({ ...request, field: "data.targetVal" }),
      /folder not found\. .* Check data\.targetVal\.root and data\.targetVal\.split\.$/,
    );
    await assert.rejects(
      () => openDataset({ ...request, dataset: "gta5", field: "data.source" }),
      /nowhere\/images: folder not found\. .* Check data\.source\.root\.$/,
    );
    await assert.rejects(
      () => openDataset({ ...request, root: undefined, field: "data.source" }),
      /^UsageError: data\.source\.root is required for cityscapes\.$/,
    );
    await Deno.mkdir(join(root, "empty/RGB"), { recursive: true });
    await Deno.mkdir(join(root, "empty/GT/LABELS"), { recursive: true });
    const empty = { ...request, dataset: "synthia", root: join(root, "empty") };
    await assert.rejects(() => openDataset(empty), /contains no \.png images\. .*\)\.$/);
    await assert.rejects(
      () => openDataset({ ...empty, field: "data.source" }),
      /contains no \.png images\. .* Check data\.source\.root\.$/,
    );
    // Validation sets name their field even when the request does not carry it.
    const plan = { role: "targetVal", block: {}, request, scale: [0, 0] } as unknown as EvalSetPlan;
    await assert.rejects(
      () => loadEvalSet(plan),
      /folder not found\. .* Check data\.targetVal\.root and data\.targetVal\.split\.$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
