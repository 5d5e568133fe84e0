import { strict as assert } from "node:assert";
import { generateScene, STYLES } from "../../runtime/data/synthcity/mod.ts";
import { randomStyle, styleFor } from "../../runtime/data/synthcity/domains.ts";
import { RandomStream } from "../../runtime/random.ts";

Deno.test("randomized domain: a new style per image, deterministic per (seed, index)", () => {
  const a = styleFor("randomized", 3, 0);
  const again = styleFor("randomized", 3, 0);
  const b = styleFor("randomized", 3, 1);
  assert.deepEqual(a, again);
  assert.notDeepEqual(a.palette, b.palette);
  assert.deepEqual(a.absent, [], "every class can appear");
  for (const fixed of ["game", "real", "synthia"] as const) {
    assert.equal(styleFor(fixed, 3, 1), styleFor(fixed, 0, 0), "fixed domains keep one style");
    assert.equal(styleFor(fixed, 3, 1, 1).palette.join(), STYLES[fixed].palette.join());
    assert.notDeepEqual(a.palette, STYLES[fixed].palette);
  }
  const x = generateScene({ domain: "randomized", seed: 3, index: 0, width: 128, height: 64 });
  const y = generateScene({ domain: "randomized", seed: 3, index: 0, width: 128, height: 64 });
  assert.deepEqual(x.image, y.image);
  assert.deepEqual(x.label, y.label);
});

Deno.test("randomized domain: colour does not identify a class across images", () => {
  // The road's colour over 200 drawn styles spans the RGB cube rather than one palette entry.
  const roads = Array.from({ length: 200 }, (_, i) => randomStyle(new RandomStream(i)).palette[0]);
  for (let c = 0; c < 3; c++) {
    const values = roads.map((rgb) => rgb[c]);
    assert.ok(Math.min(...values) < 20 && Math.max(...values) > 235, `channel ${c}`);
  }
});

Deno.test("randomized domain: all 19 classes occur over 40 images", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const { label } = generateScene({ domain: "randomized", seed: 7, index: i });
    for (const v of label) if (v < 19) seen.add(v);
  }
  assert.equal(seen.size, 19, `classes seen: ${[...seen].sort((a, b) => a - b)}`);
});
