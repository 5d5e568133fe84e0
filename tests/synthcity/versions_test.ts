import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { generateScene } from "../../runtime/data/synthcity/mod.ts";
import { classGeometry, regionAreas } from "../../runtime/data/synthcity/geometry_stats.ts";
import { geometryTables, readSection } from "../../runtime/cli/data/geometry.ts";
import { CLASS_NAMES } from "../../runtime/data/labels.ts";
import {
  canonicalJson,
  experimentFromPlain,
  experimentHash,
  extend,
  synthCity,
} from "../../dsl/mod.ts";
import sourceOnly from "../../experiments/source_only.ts";

const cls = (name: string) => CLASS_NAMES.indexOf(name);

Deno.test("scene version 1 renders exactly the images of the first generator", () => {
  // sha256 of these 12 images and labels as rendered by the generator at commit 92c7ff6, before
  // scene versions existed: results of version-1 runs stay reproducible.
  const hash = createHash("sha256");
  for (const domain of ["game", "real", "synthia", "randomized"] as const) {
    for (let index = 0; index < 3; index++) {
      const f = generateScene({ domain, seed: 0, index, width: 128, height: 64, version: 1 });
      hash.update(f.image);
      hash.update(f.label);
    }
  }
  assert.equal(
    hash.digest("hex"),
    "9f512add5568c249c2aba5fec14233eb6f1d5d1bb679bfdf0e79bad393f38309",
  );
});

Deno.test("an unknown scene version is an error that lists the versions", () => {
  assert.throws(
    () => generateScene({ domain: "real", seed: 0, index: 0, version: 7 }),
    /unknown scene version 7; choose one of 1, 2/,
  );
});

Deno.test("regionAreas: 4-connected regions of a hand-drawn label map", () => {
  // 0 0 1      road region of 3 (the diagonal 0 is not 4-connected to them),
  // 0 1 0      sidewalk regions of 2 and 1, one ignored pixel,
  // 255 1 0    and a second road region of 2.
  const label = new Uint8Array([0, 0, 1, 0, 1, 0, 255, 1, 0]);
  const areas = regionAreas(label, 3, 3);
  assert.deepEqual(areas[0].sort(), [2, 3]);
  assert.deepEqual(areas[1].sort(), [1, 2]);
  assert.equal(areas.slice(2).flat().length, 0);
});

Deno.test("scene version 2 makes the small classes larger and more frequent in `real`", () => {
  const options = { domain: "real", count: 30, seed: 1, width: 256, height: 128 } as const;
  const v1 = classGeometry({ ...options, version: 1 });
  const v2 = classGeometry({ ...options, version: 2 });
  for (const name of ["pole", "traffic light", "traffic sign", "person", "rider"]) {
    const c = cls(name);
    assert.ok(
      v2[c].medianArea >= 2 * v1[c].medianArea,
      `${name}: ${v1[c].medianArea} → ${v2[c].medianArea}`,
    );
    assert.ok(v2[c].pixelShare > v1[c].pixelShare, `${name} share`);
  }
  for (const name of CLASS_NAMES) {
    assert.ok(v2[cls(name)].pixelShare >= 0.0005, `${name} is at least 0.05% of real's pixels`);
  }
});

/** Table cells of a markdown section, whatever the column alignment `deno fmt` gave them. */
function cells(section: string): string[][] {
  return section.split("\n").filter((l) => l.startsWith("|") && !/^\|[\s:|-]+\|$/.test(l))
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
}

Deno.test("docs/synthcity.md's class tables are the generator's (data geometry --update)", async () => {
  const section = readSection(await Deno.readTextFile("docs/synthcity.md"));
  assert.ok(section !== undefined, "docs/synthcity.md has its geometry markers");
  const count = Number(/from (\d+) images/.exec(section)![1]);
  assert.deepEqual(
    cells(section),
    cells(geometryTables(count)),
    "stale tables: run `deno task data geometry --update docs/synthcity.md`",
  );
});

Deno.test("the scene version is part of an experiment's hash, and its range is checked", () => {
  const v1 = extend(sourceOnly, { data: { target: { version: 1 } } });
  assert.notEqual(experimentHash(v1), experimentHash(sourceOnly));
  assert.throws(
    () => extend(sourceOnly, { data: { target: { version: 3 } } }),
    /data\.target\.version/,
  );
  assert.equal(synthCity({}).version, 2, "version 2 is the default");
});

Deno.test("an experiment stored before scene versions existed reads as version 1", () => {
  const plain = JSON.parse(canonicalJson(sourceOnly));
  for (const set of ["source", "target", "targetVal", "sourceVal"]) delete plain.data[set].version;
  const versionOf = (value: unknown) =>
    (experimentFromPlain(value).data.target as unknown as { version: number }).version;
  assert.equal(versionOf(plain), 1);
  assert.equal(versionOf(JSON.parse(canonicalJson(sourceOnly))), 2, "stored with its version");
});
