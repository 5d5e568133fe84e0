import { strict as assert } from "node:assert";
import { ClassSimilarity } from "../../runtime/report/class_similarity.ts";

Deno.test("class similarity: mean pairwise cosines by class, 255 ignored, unseen classes null", () => {
  const s = new ClassSimilarity(3, 2);
  // Class 0: (1, 0) and (0, 1), mean (½, ½); class 2: (1, 0); a 255 pixel that must not count.
  s.add(Float32Array.from([1, 0, 0, 1, 1, 0, 0, -1]), [0, 0, 2, 255]);
  assert.deepEqual(s.counts(), [2, 0, 1]);
  const m = s.matrix();
  // (0, 0): the mean of ⟨e_i, e_j⟩ over the four ordered pairs of class 0 = (1 + 0 + 0 + 1)/4.
  assert.equal(m[0][0], 0.5);
  // (0, 2): (⟨(1,0),(1,0)⟩ + ⟨(0,1),(1,0)⟩)/2 = ½, symmetric.
  assert.equal(m[0][2], 0.5);
  assert.equal(m[2][0], 0.5);
  assert.equal(m[2][2], 1);
  assert.deepEqual([m[1][0], m[1][1], m[0][1]], [null, null, null]);
  const svg = s.svg();
  // The classes seen (road, building), a 2 × 2 grid labelled to two decimals.
  assert.equal((svg.match(/<rect /g) ?? []).length, 4);
  assert.ok(svg.includes(">road</text>") && svg.includes(">building</text>"), svg);
  assert.ok(!svg.includes(">sidewalk</text>"), "an unseen class has no line");
  assert.equal((svg.match(/>0\.50</g) ?? []).length, 3);
  assert.throws(() => s.add(new Float32Array(3), [0, 1]), /3 values for 2 × 2/);
});
