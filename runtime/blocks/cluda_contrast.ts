/**
 * CLUDA's runtime module (`shared/reference/pipa_cluda.md` §5): two terms, `<term>Source` on the
 * student's source pass and `<term>Mixed` on its mixed pass (so each joins the cross-entropy
 * of the same pass in one lane), and on HRDA a network `cludaWeighter` holding the learned LR/HR
 * weight head `decode_head.feat_weighter.*` (the scale-attention head's shape with one output,
 * trained only by this loss; its name has `head`, so ×10), exported with the model as the
 * reference's state dict has it.
 *
 * Per pass (§5.2–5.5): the decoder's fused context embedding upsampled ×2 (align corners) to
 * stride 4 of the crop, and the detail crop's on a zero canvas, both resized to the `grid`
 * (align corners); the weight w = sigmoid(head(context features)), ×2 (half-pixel) then to the
 * grid (align corners); labels nearest-downsampled; m nearest from the context grid; q the
 * mixed view's pixel weights resized to the grid (align corners).
 *
 * @module
 */
import type { Block, CludaContrastParams } from "../../dsl/mod.ts";
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import { ParamStore } from "../nn/params.ts";
import { initScaleAttention, scaleAttention } from "../nn/scale_attention.ts";
import type { HeadConfig } from "../nn/heads.ts";
import { type Box, placeOnCanvas, scaleBox } from "../nn/multi_resolution.ts";
import { downsampleLabels, gatherRows, l2Normalize } from "../losses/pixel_contrast.ts";
import {
  cludaContrastLoss,
  type ContrastPixels,
  releasedRowOrder,
} from "../losses/cluda_contrast.ts";
import type { KernelUse } from "../compile/kernels.ts";
import type { ModelOutputs } from "../nn/segmentor.ts";
import { registerBlockModule } from "./registry.ts";
import { countParams, type SegmentorNetwork } from "./model.ts";
import { passId, type StepContext } from "./types.ts";

type CludaContrastBlock = Block<"cludaContrast", CludaContrastParams>;

/** The learned LR/HR weight's network. */
const WEIGHTER = "cludaWeighter";
/** Its parameters' prefix, as in the reference's `HRDAHead.feat_weighter`. */
export const FEAT_WEIGHTER_PREFIX = "decode_head.feat_weighter";
/** The label the released code and mmseg ignore. */
const IGNORE = 255;

/**
 * Kernels beyond the segmentor's and HRDA's. The loss's own products, exponentials and logs run
 * inside its custom gradient (written out, `runtime/losses/cluda_contrast.ts`), so they need only
 * forward implementations; the features' path to it (resize, normalise, weight head) is taped.
 */
export const CLUDA_CONTRAST_KERNELS: KernelUse = {
  differentiated: ["Rsqrt", "Sigmoid", "Slice", "ResizeBilinear"],
  backward: [
    "AddN",
    "BatchMatMul",
    "Exp",
    "Log",
    "GatherV2",
    "UnsortedSegmentSum",
    "ResizeBilinearGrad",
    "ZerosLike",
  ],
};

/** The weight head's shape: the decoder's, with one output. */
function weighterConfig(head: HeadConfig): HeadConfig {
  return { ...head, numClasses: 1, prefix: FEAT_WEIGHTER_PREFIX };
}

/** `[B, h, w, C]` resized to the `grid²` cells with align corners (`F.interpolate`). */
function toGrid(x: tf.Tensor4D, grid: number): tf.Tensor4D {
  return tf.image.resizeBilinear(x, [grid, grid], true);
}

/** Flat `[B·grid², C]` unit features of `x`. */
function unitRows(x: tf.Tensor4D, grid: number): tf.Tensor2D {
  return l2Normalize(tf.reshape(toGrid(x, grid), [-1, x.shape[3]]) as tf.Tensor2D);
}

/**
 * m of each grid cell (`B·grid²`, image-major): the context grid's crop mask (`[hc, wc]` cells,
 * the box `/ (4 / s_c)`) sampled nearest at the grid, and for `labelNonZero` also label ≠ 0.
 */
export function cropIndicator(
  batch: number,
  grid: number,
  contextGrid: readonly [number, number],
  boxCells: Box,
  labels: Int32Array,
  mode: CludaContrastParams["cropIndicator"],
): Float32Array {
  const [top, left, h, w] = boxCells;
  const inside = new Float32Array(batch * grid * grid);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < grid; y++) {
      const r = Math.floor((y * contextGrid[0]) / grid);
      for (let x = 0; x < grid; x++) {
        const c = Math.floor((x * contextGrid[1]) / grid);
        const i = (b * grid + y) * grid + x;
        const inBox = r >= top && r < top + h && c >= left && c < left + w;
        inside[i] = inBox && (mode === "crop" || labels[i] !== 0) ? 1 : 0;
      }
    }
  }
  return inside;
}

/** The pass's labels at the grid (host, `B·grid²`), from the view's host copy or its tensor. */
function gridLabels(context: StepContext, view: string, grid: number): Int32Array {
  const { label, hostLabel } = context.view(view);
  const [batch, height, width] = label!.shape;
  const host = hostLabel ?? Int32Array.from(label!.dataSync());
  return downsampleLabels(host, batch, [height, width], [grid, grid]);
}

/** Keeps the pixels `keep` of every per-pixel input (rows gathered on the device, with gradient). */
function selectPixels(pixels: ContrastPixels, keep: Int32Array): ContrastPixels {
  const at = tf.tensor1d(keep, "int32");
  const rows = (x: tf.Tensor2D) => gatherRows(x, at);
  const values = (x: tf.Tensor1D) =>
    rows(x.reshape([-1, 1]) as tf.Tensor2D).reshape([-1]) as tf.Tensor1D;
  return {
    lr: rows(pixels.lr),
    ...(pixels.hr === undefined ? {} : { hr: rows(pixels.hr) }),
    labels: Int32Array.from(keep, (i) => pixels.labels[i]),
    ...(pixels.weight === undefined ? {} : { weight: values(pixels.weight) }),
    ...(pixels.inside === undefined
      ? {}
      : { inside: Float32Array.from(keep, (i) => pixels.inside![i]) }),
    ...(pixels.confidence === undefined ? {} : { confidence: values(pixels.confidence) }),
  };
}

/** The contrast's inputs from one pass (§5.2–5.5). */
function passPixels(
  block: CludaContrastBlock,
  context: StepContext,
  out: ModelOutputs,
  view: string,
  weighted: boolean,
  weighter: (features: tf.Tensor4D[]) => tf.Tensor4D,
): ContrastPixels {
  const { grid } = block;
  const embedding = out.embedding;
  if (embedding === undefined) throw new Error("cludaContrast: the student reports no embedding");
  const [batch, hc, wc] = embedding.shape;
  const labels = gridLabels(context, view, grid);
  const confidence = weighted && context.view(view).weight !== undefined
    ? tf.reshape(toGrid(tf.expandDims(context.view(view).weight!, -1) as tf.Tensor4D, grid), [
      -1,
    ]) as tf.Tensor1D
    : undefined;
  let pixels: ContrastPixels;
  if (block.resolution === "single") {
    pixels = { lr: unitRows(embedding, grid), labels, ...(confidence ? { confidence } : {}) };
  } else {
    const detail = out.detail;
    const detailEmbedding = out.detailEmbedding as tf.Tensor4D | undefined;
    if (detail === undefined || detailEmbedding === undefined) {
      throw new Error('cludaContrast: resolution "multi" needs HRDA\'s detail pass');
    }
    // Stride 4 of the crop (the context grid ×2 at HRDA's context scale 0.5).
    const [, height, width] = context.view(view).image.shape;
    const full = [height / 4, width / 4] as const;
    const lr = tf.image.resizeBilinear(embedding, [...full], true);
    const hr = placeOnCanvas(detailEmbedding, full, scaleBox(detail.box, 4));
    const w = tf.image.resizeBilinear(weighter(out.features!), [...full], false, true);
    const boxCells = scaleBox(detail.box, height / hc);
    pixels = {
      lr: unitRows(lr, grid),
      hr: unitRows(hr, grid),
      labels,
      weight: tf.reshape(toGrid(w, grid), [-1]) as tf.Tensor1D,
      inside: cropIndicator(batch, grid, [hc, wc], boxCells, labels, block.cropIndicator),
      ...(confidence ? { confidence } : {}),
    };
  }
  if (block.rowOrder === "released") {
    const order = tf.tensor1d(releasedRowOrder(batch, grid * grid), "int32");
    pixels = {
      ...pixels,
      lr: gatherRows(pixels.lr, order),
      ...(pixels.hr === undefined ? {} : { hr: gatherRows(pixels.hr, order) }),
    };
  }
  if (block.ignoreLabel === "drop" && labels.includes(IGNORE)) {
    const keep = Int32Array.from([...labels.keys()].filter((i) => labels[i] !== IGNORE));
    pixels = selectPixels(pixels, keep);
  }
  return pixels;
}

registerBlockModule<CludaContrastBlock>({
  kind: "cludaContrast",
  lower(block, builder, place) {
    const term = place.term!;
    const multi = block.resolution === "multi";
    if (multi) {
      builder.addNetwork({
        name: WEIGHTER,
        trainable: true,
        checkpointed: true,
        exported: true,
        describe: (params) =>
          `CLUDA's LR/HR weight head feat_weighter (one sigmoid output on the context ` +
          `features), ${countParams(params)} parameters`,
        build(context) {
          const student = context.networks.get("student") as SegmentorNetwork;
          const params = new ParamStore();
          const rng = new RandomStream(context.seed).fork(`init:${WEIGHTER}`);
          initScaleAttention(params, rng, weighterConfig(student.model.head));
          return Promise.resolve({ params });
        },
      });
    }
    const sides = [
      { name: `${term}Source`, view: "source", weight: block.weight, weighted: false },
      { name: `${term}Mixed`, view: "mixed", weight: block.mixedWeight, weighted: true },
    ] as const;
    for (const side of sides) {
      const pass = { network: "student", view: side.view, training: true };
      builder.addTerm({
        name: side.name,
        block,
        weight: side.weight,
        passes: [pass],
        views: [side.view],
        reads: [
          `${passId(pass)}.embedding`,
          ...(multi ? [`${passId(pass)}.detailEmbedding`, `${passId(pass)}.features`] : []),
          `${side.view}.labels`,
        ],
        compute(context) {
          const out = context.pass(pass);
          const weighter = (features: tf.Tensor4D[]) => {
            const student = context.network("student") as SegmentorNetwork;
            return scaleAttention(
              context.network(WEIGHTER).params,
              weighterConfig(student.model.head),
              features,
              { training: true, rng: context.rng(`${side.name}:dropout`) },
            );
          };
          const pixels = passPixels(block, context, out, side.view, side.weighted, weighter);
          return cludaContrastLoss(pixels, {
            rowChunk: block.rowChunk,
            stuffThingMask: block.stuffThingMask,
          });
        },
      });
    }
    if (multi) {
      // §5.6: the mixed image's detail crop where the context prediction is least certain.
      builder.addPassSetting({
        by: place.path,
        network: "student",
        view: "mixed",
        fromIteration: block.entropyCropFrom,
        mode: { detailBox: "maxEntropy" },
      });
    }
    builder.addKernels(CLUDA_CONTRAST_KERNELS);
    const released = [
      block.cropIndicator === "labelNonZero" ? "m from label ≠ 0" : "",
      block.ignoreLabel === "class" ? "255 as a class" : "",
      block.stuffThingMask ? "stuff/thing mask" : "",
      block.rowOrder === "released" ? "released row order" : "",
    ].filter((s) => s !== "");
    builder.addPlanSection({
      title: "CLUDA contrast",
      lines: [
        `${place.path}  ${
          multi ? "multi-resolution (LR and HR, learned weight)" : "single-resolution"
        } ` +
        `SupCon τ 1 over all ${block.grid}² grid cells of each image, source × ${block.weight}` +
        ` and mixed × ${block.mixedWeight} (Γ = q_i q_j); rows in chunks of ${block.rowChunk}` +
        (multi
          ? `; mixed detail crop by max entropy from iteration ${block.entropyCropFrom}`
          : "") +
        (released.length > 0 ? `; released: ${released.join(", ")}` : ""),
      ],
    });
  },
});
