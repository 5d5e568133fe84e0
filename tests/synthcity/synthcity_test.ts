import assert from "node:assert/strict";
import { join } from "node:path";
import {
  classFrequencies,
  generateScene,
  generateSequence,
  openSynthCity,
} from "../../runtime/data/synthcity/mod.ts";
import { writeSynthCity } from "../../runtime/data/synthcity/write.ts";
import { openCityscapes, openGta5, openSynthia } from "../../runtime/data/readers/datasets.ts";
import { readPng } from "../../runtime/data/png.ts";
import { CLASS_NAMES, IGNORE_LABEL } from "../../runtime/data/labels.ts";
import { main as synthcityCli } from "../../runtime/cli/data/synthcity.ts";
import { main as previewCli } from "../../runtime/cli/data/preview.ts";
import { captureLog, tempDir } from "../readers/helpers.ts";

const SMALL = { width: 256, height: 128 };
const cls = (name: string) => CLASS_NAMES.indexOf(name);

Deno.test("scenes are a pure function of (domain, seed, index)", () => {
  const a = generateScene({ domain: "real", seed: 3, index: 7, ...SMALL });
  const b = generateScene({ domain: "real", seed: 3, index: 7, ...SMALL });
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(a.label, b.label);
  assert.notDeepEqual(
    generateScene({ domain: "real", seed: 3, index: 8, ...SMALL }).label,
    a.label,
  );
  assert.notDeepEqual(
    generateScene({ domain: "real", seed: 4, index: 7, ...SMALL }).label,
    a.label,
  );
  assert.equal(generateScene({ domain: "game", seed: 0, index: 0 }).width, 512, "native 512×256");
  for (const v of a.label) assert.ok(v < 19 || v === IGNORE_LABEL);
});

// 60 images per domain at 256×128: enough to meet rare classes, fast enough for the suite.
const FREQUENCIES = {
  game: classFrequencies("game", 60, 0, SMALL.width, SMALL.height),
  real: classFrequencies("real", 60, 0, SMALL.width, SMALL.height),
  synthia: classFrequencies("synthia", 60, 0, SMALL.width, SMALL.height),
};

Deno.test("every class appears in game and real; SYNTHIA has exactly its 16 classes", () => {
  for (const domain of ["game", "real"] as const) {
    FREQUENCIES[domain].forEach((f, c) =>
      assert.ok(f > 0, `${domain} never shows ${CLASS_NAMES[c]}`)
    );
  }
  for (const absent of ["terrain", "truck", "train"]) {
    assert.equal(FREQUENCIES.synthia[cls(absent)], 0, absent);
  }
  assert.equal(FREQUENCIES.synthia.filter((f) => f > 0).length, 16);
});

Deno.test("class frequencies are long-tailed like GTA5's and differ between domains", () => {
  const game = FREQUENCIES.game;
  for (const rare of ["train", "motorcycle", "rider", "bicycle"]) {
    assert.ok(game[cls(rare)] < 0.005, `${rare}: ${game[cls(rare)]}`);
    assert.ok(game[cls(rare)] < game[cls("car")] / 10, `${rare} is far rarer than car`);
  }
  assert.ok(game[cls("road")] > 0.2 && game[cls("building")] > 0.1 && game[cls("sky")] > 0.05);
  // Same kind of scene (road the largest class in both) but different proportions.
  const real = FREQUENCIES.real;
  assert.ok(real[cls("road")] > 0.2);
  assert.ok(real[cls("person")] > 1.5 * game[cls("person")], "more pedestrians in the real domain");
});

function meanColour(domain: "game" | "real", classId: number): number[] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let index = 0; index < 10; index++) {
    const { image, label } = generateScene({ domain, seed: 0, index, ...SMALL });
    label.forEach((v, i) => {
      if (v !== classId) return;
      for (let c = 0; c < 3; c++) sum[c] += image[3 * i + c];
      n++;
    });
  }
  return sum.map((s) => s / n);
}

Deno.test("the domains differ in appearance: per-class colours and image noise", () => {
  for (const name of ["road", "building", "sky", "vegetation", "car"]) {
    const g = meanColour("game", cls(name));
    const r = meanColour("real", cls(name));
    const distance = Math.hypot(g[0] - r[0], g[1] - r[1], g[2] - r[2]);
    assert.ok(distance > 15, `${name}: game ${g.map(Math.round)} vs real ${r.map(Math.round)}`);
  }
  // Sensor noise: neighbouring sky pixels vary in the real domain, not in the game.
  const roughness = (domain: "game" | "real") => {
    const { image, label, width } = generateScene({ domain, seed: 0, index: 1, ...SMALL });
    let total = 0;
    let n = 0;
    for (let i = 0; i < label.length - 1; i++) {
      if (label[i] === cls("road") && label[i + 1] === cls("road") && (i + 1) % width !== 0) {
        total += Math.abs(image[3 * i] - image[3 * i + 3]);
        n++;
      }
    }
    return total / n;
  };
  assert.ok(
    roughness("real") > 2 * roughness("game") + 0.5,
    `real ${roughness("real")} game ${roughness("game")}`,
  );
});

Deno.test("sequences: ego-motion changes consecutive frames a little, not entirely", () => {
  const frames = generateSequence("real", 0, 2, 4, SMALL.width, SMALL.height);
  for (let t = 1; t < frames.length; t++) {
    let same = 0;
    frames[t].label.forEach((v, i) => (same += v === frames[t - 1].label[i] ? 1 : 0));
    const overlap = same / frames[t].label.length;
    assert.ok(overlap > 0.7 && overlap < 1, `frame ${t}: overlap ${overlap}`);
  }
  assert.deepEqual(
    frames[0].label,
    generateScene({ domain: "real", seed: 0, index: 2, ...SMALL }).label,
  );
});

Deno.test("data synthcity writes the real layouts, and the readers read back the generated labels", async () => {
  const out = await tempDir();
  try {
    await writeSynthCity(join(out, "gta"), "game", 2, 0);
    await writeSynthCity(join(out, "cs"), "real", 2, 0, "val");
    await writeSynthCity(join(out, "syn"), "synthia", 2, 0);
    const labelPng = await readPng(join(out, "gta/labels/00001.png"));
    assert.ok(labelPng.palette !== undefined, "GTA5 labels are indexed-colour PNGs");
    const csLabel = await readPng(
      join(out, "cs/gtFine/val/synthcity0/synthcity0_000000_000001_gtFine_labelIds.png"),
    );
    assert.equal(csLabel.channels, 1);
    const synLabel = await readPng(join(out, "syn/GT/LABELS/0000001.png"));
    assert.equal(synLabel.depth, 16);
    const readers = [
      [await openGta5(join(out, "gta")), "game"],
      [await openCityscapes(join(out, "cs"), "val", "ids"), "real"],
      [await openCityscapes(join(out, "cs"), "val", "trainIds"), "real"],
      [await openSynthia(join(out, "syn")), "synthia"],
    ] as const;
    for (const [dataset, domain] of readers) {
      assert.equal(dataset.size, 2);
      for (let i = 0; i < 2; i++) {
        const read = await dataset.get(i);
        const made = generateScene({ domain, seed: 0, index: i });
        assert.deepEqual(read.label, made.label, `${dataset.kind} ${i}`);
        assert.deepEqual(read.image, made.image);
      }
    }
    const memory = openSynthCity({ domain: "game", count: 2 });
    assert.deepEqual((await memory.get(1)).label, (await readers[0][0].get(1)).label);

    const cli = await captureLog(() =>
      synthcityCli(["--out", join(out, "cli"), "--domain", "real", "--count", "1"])
    );
    assert.equal(cli.code, 0);
    assert.match(cli.out, /wrote 1 real images .* images\/s/);
    const badDomain = await captureLog(() =>
      synthcityCli(["--out", out, "--domain", "photo", "--count", "1"])
    );
    assert.equal(badDomain.code, 2);
    assert.match(badDomain.err, /--domain must be one of game, real, synthia/);
    assert.equal(
      (await captureLog(() => synthcityCli(["--domain", "game", "--count", "0"]))).code,
      2,
    );
    const preview = await captureLog(() =>
      previewCli(["--out", join(out, "sheet.png"), "--count", "2", "--domains", "game,real"])
    );
    assert.equal(preview.code, 0);
    const sheet = await readPng(join(out, "sheet.png"));
    assert.deepEqual([sheet.width, sheet.height], [2 * 256 + 4, 4 * 128]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
