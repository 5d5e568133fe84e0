/**
 * The written-out gradients of `runtime/losses/temporal_contrast.ts` (to the frame-t anchors and
 * to the frame t−k partners) against float64 central finite differences of the independent
 * reference in `reference.ts`, on small non-square shapes (N = 7 rows, C = 3 dimensions, M = 4
 * memory rows), for every option and several row chunks, as the CLUDA gradient test does.
 */
import { strict as assert } from "node:assert";
import { tf } from "../../runtime/tf.ts";
import { useBackend } from "../../runtime/backend/mod.ts";
import {
  TEMPORAL_CONTRAST_DEFAULTS,
  temporalContrastLoss,
  type TemporalContrastOptions,
} from "../../runtime/losses/temporal_contrast.ts";
import { type Example, pairsOf, randomExample, reference } from "./reference.ts";
import { relativeError } from "../backend/helpers.ts";

await useBackend("cpu");

/** Central-difference step (float64 reference: truncation ~h², rounding ~1e-16/h). */
const STEP = 1e-6;
/**
 * Max-norm error relative to the gradient's scale. The float32 analytic side is good to ~1e-6
 * here (τ = 0.1 puts exponents up to 20 in the softmax); a wrong term (a dropped negative pull,
 * a missing 1/|P|) is off by O(1).
 */
const TOLERANCE = 1e-4;

type Field = "anchors" | "partners";

/** dL/d(field) of the reference by central differences. */
function numeric(x: Example, field: Field, options: TemporalContrastOptions): Float64Array {
  const rows = x[field];
  const c = rows[0].length;
  const grad = new Float64Array(rows.length * c);
  for (let e = 0; e < grad.length; e++) {
    const moved = (d: number): Example => ({
      ...x,
      [field]: rows.map((row, r) => row.map((v, k) => (r * c + k === e ? v + d : v))),
    });
    grad[e] = (reference(moved(STEP), options) - reference(moved(-STEP), options)) / (2 * STEP);
  }
  return grad;
}

async function check(name: string, x: Example, options: TemporalContrastOptions) {
  const inputs = [tf.tensor2d(x.anchors), tf.tensor2d(x.partners)];
  const pairs = pairsOf(x, inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D);
  const grads = tf.grads((a: tf.Tensor, p: tf.Tensor) =>
    temporalContrastLoss(
      { ...pairs, anchors: a as tf.Tensor2D, partners: p as tf.Tensor2D },
      options,
    )
  )(inputs);
  for (const [k, field] of (["anchors", "partners"] as Field[]).entries()) {
    const analytic = await grads[k].data();
    const fd = numeric(x, field, options);
    const error = relativeError(analytic, fd);
    assert.ok(error < TOLERANCE, `${name}: d/d${field} relative error ${error}`);
    assert.ok(fd.some((g) => Math.abs(g) > 1e-3), `${name}: ${field} receives no gradient`);
  }
  tf.dispose([...inputs, ...grads, ...(pairs.memory ? [pairs.memory.features] : [])]);
}

const defaults: TemporalContrastOptions = { ...TEMPORAL_CONTRAST_DEFAULTS };

Deno.test("temporal contrast: d/d(anchors) and d/d(partners) against float64 finite differences", async () => {
  const plain = randomExample(21, 7, 3, 4, false);
  const hard = randomExample(22, 7, 3, 4, true);
  const noMemory: Example = { ...plain, memory: undefined, memoryClasses: undefined };
  const variants: [string, Example, Partial<TemporalContrastOptions>][] = [
    ["memory, confidence", plain, {}],
    ["no memory", noMemory, {}],
    ["hard sets", hard, {}],
    ["otherLocation, agreement, weight", plain, {
      negatives: "otherLocation",
      agreement: true,
      normalise: "weight",
    }],
    ["hard sets, τ 0.5, weight", hard, { temperature: 0.5, normalise: "weight" }],
  ];
  for (const [name, x, change] of variants) {
    for (const rowChunk of [7, 3, 1]) {
      await check(`${name}, chunk ${rowChunk}`, x, { ...defaults, ...change, rowChunk });
    }
  }
});

Deno.test("temporal contrast: the gradient is zero for rows that take no part", async () => {
  // Row 1 is invalid (no correspondence): no anchor, no column, so neither its frame-t nor its
  // frame-(t−k) embedding moves the loss; the unlabelled row 6 is no anchor, but stays a
  // column only if its partner label is usable (it is not: 255), so both rows get 0.
  const x = randomExample(23, 7, 3, 4, false);
  const inputs = [tf.tensor2d(x.anchors), tf.tensor2d(x.partners)];
  const pairs = pairsOf(x, inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D);
  const [dA, dP] = tf.grads((a: tf.Tensor, p: tf.Tensor) =>
    temporalContrastLoss({ ...pairs, anchors: a as tf.Tensor2D, partners: p as tf.Tensor2D }, {
      ...defaults,
      rowChunk: 2,
    })
  )(inputs);
  const [a, p] = [await dA.array() as number[][], await dP.array() as number[][]];
  for (const row of [1, 6]) {
    assert.deepEqual(a[row], [0, 0, 0], `anchor row ${row}`);
    assert.deepEqual(p[row], [0, 0, 0], `partner row ${row}`);
  }
  assert.ok(a[0].some((v) => v !== 0) && p[3].some((v) => v !== 0));
  tf.dispose([...inputs, dA, dP, pairs.memory!.features]);
});
