/**
 * The video benchmarks' class protocols (`shared/reference/pipa_cluda.md` §4): "11" for
 * SYNTHIA-Seq→Cityscapes-Seq and "15" for VIPER→Cityscapes-Seq, as class subsets, as means over
 * a hand-made confusion matrix, and as values the experiment language accepts.
 */
import { strict as assert } from "node:assert";
import { CLASS_NAMES, PROTOCOL_CLASSES } from "../../runtime/data/labels.ts";
import { ConfusionMatrix } from "../../runtime/eval/confusion.ts";
import { ExperimentError, experimentFromPlain, extend } from "../../dsl/mod.ts";
import { PROTOCOLS } from "../../dsl/blocks/evaluation.ts";
import sourceOnly from "../../experiments/source_only.ts";

const namesOf = (protocol: keyof typeof PROTOCOL_CLASSES) =>
  PROTOCOL_CLASSES[protocol].map((c) => CLASS_NAMES[c]);

Deno.test("the 11- and 15-class protocols hold the benchmarks' classes", () => {
  assert.deepEqual(namesOf("11"), [
    "road",
    "sidewalk",
    "building",
    "pole",
    "traffic light",
    "traffic sign",
    "vegetation",
    "sky",
    "person",
    "rider",
    "car",
  ]);
  assert.deepEqual(namesOf("15"), [
    "road",
    "sidewalk",
    "building",
    "fence",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "car",
    "truck",
    "bus",
    "motorcycle",
    "bicycle",
  ]);
  // The image protocols are unchanged by the addition.
  assert.deepEqual(PROTOCOL_CLASSES["16"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]);
  assert.deepEqual(PROTOCOL_CLASSES["13"], [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]);
  assert.equal(PROTOCOL_CLASSES["19"].length, 19);
});

Deno.test("mIoU under 11 and 15 averages only their classes of a hand-made matrix", () => {
  // One pixel per class, each predicted right except fence (4) → pole (5), terrain (9) →
  // vegetation (8). IoU: fence 0, terrain 0, pole 1/(1+2−1) = 1/2, vegetation 1/2, others 1.
  const label = Array.from({ length: 19 }, (_, c) => c);
  const pred = label.map((c) => c === 4 ? 5 : c === 9 ? 8 : c);
  const m = new ConfusionMatrix(19).update(pred, label);
  // 11: pole 1/2, vegetation 1/2, nine classes at 1 (fence and terrain are not in it).
  assert.ok(Math.abs(m.metrics("11").mIoU - 10 / 11) < 1e-12);
  // 15: fence 0, terrain 0, vegetation 1/2, twelve classes at 1 (pole is not in it).
  assert.ok(Math.abs(m.metrics("15").mIoU - 12.5 / 15) < 1e-12);
  assert.ok(Math.abs(m.metrics("19").mIoU - 16 / 19) < 1e-12);
  const eleven = m.metrics("11");
  assert.equal(eleven.protocol, "11");
  assert.deepEqual(Object.keys(eleven.iou), namesOf("11"));
  assert.equal(eleven.iou["pole"], 0.5);
  assert.deepEqual(Object.keys(m.metrics("15").iou), namesOf("15"));
  assert.equal(m.metrics("15").iou["fence"], 0);
  // aAcc and pixel counts do not depend on the protocol.
  assert.equal(eleven.aAcc, 17 / 19);
  assert.equal(eleven.pixels, 19);
});

Deno.test("the experiment language accepts the video protocols and still rejects others", () => {
  assert.ok(PROTOCOLS.includes("11") && PROTOCOLS.includes("15"));
  assert.equal(extend(sourceOnly, { evaluation: { protocol: "11" } }).evaluation.protocol, "11");
  assert.equal(extend(sourceOnly, { evaluation: { protocol: "15" } }).evaluation.protocol, "15");
  const plain = JSON.parse(JSON.stringify(sourceOnly));
  plain.evaluation.protocol = "12";
  assert.throws(
    () => experimentFromPlain(plain),
    (error: unknown) =>
      error instanceof ExperimentError &&
      error.issues.some((i) => i.path === "evaluation.protocol"),
  );
});
