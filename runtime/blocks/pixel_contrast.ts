/**
 * PiPa's pixel-contrast runtime module (`shared/reference/pipa_cluda.md` §1): a `pixelContrast`
 * network holding the projection head `proj_head.*` (trained in the `head` group, ×10, exported
 * with the model as the reference's state dict has it) and, for `hardFrom: "untrainedHead"`, the
 * released code's `cls_head.*` (never trained); and the term, on the student's source pass:
 *
 * 1. pixel features: the encoder's four stages at stride 4, concatenated (on an HRDA model, those
 *    of the detail crop, with the label cut to its box unless `hrdaLabel: "full"`);
 * 2. embeddings: the projection, L2-normalised;
 * 3. labels nearest-downsampled to the feature grid (from the host copy the loader made);
 * 4. anchors per (image, class) with the hard/easy split on the device; the SupCon loss.
 *
 * @module
 */
import type { Block, PixelContrastParams } from "../../dsl/mod.ts";
import { tf } from "../tf.ts";
import { RandomStream } from "../random.ts";
import { ParamStore } from "../nn/params.ts";
import {
  concatenatedStages,
  initProjectionHead,
  initUntrainedClassifier,
  projectionHead,
  untrainedClassifier,
} from "../nn/projection_head.ts";
import {
  anchorGroups,
  cropLabels,
  downsampleLabels,
  gatherRows,
  l2Normalize,
  sampleAnchors,
  supConLoss,
} from "../losses/pixel_contrast.ts";
import type { KernelUse } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";
import { countParams, type SegmentorNetwork } from "./model.ts";
import { type FigureContext, passId, type StepContext } from "./types.ts";
import { ClassSimilarity } from "../report/class_similarity.ts";

/** The projection head's network. */
const NETWORK = "pixelContrast";
/** The untrained classifier's network (`hardFrom: "untrainedHead"`). */
const CLASSIFIER = "pixelClassifier";

/**
 * Kernels beyond the segmentor's: the contrast (differentiated); the anchor selection and the
 * anchors' gather, which run inside custom gradients (forward only; the gather's gradient is
 * `UnsortedSegmentSum`).
 */
export const PIXEL_CONTRAST_KERNELS: KernelUse = {
  differentiated: ["BatchMatMul", "Exp", "Log", "Rsqrt", "Unpack"],
  backward: [
    "ArgMax",
    "Equal",
    "GatherV2",
    "GreaterEqual",
    "Greater",
    "Less",
    "LogicalAnd",
    "Maximum",
    "Pack",
    "Range",
    "Select",
    "TopK",
    "UnsortedSegmentSum",
    "ZerosLike",
  ],
};

type PixelContrastBlock = Block<"pixelContrast", PixelContrastParams>;

/** Source validation images the class-similarity figure reads. */
const FIGURE_IMAGES = 4;

const projectionParams = (context: { network(name: string): { params: ParamStore } }) =>
  context.network(NETWORK).params;

/**
 * The class-similarity heat map (`runtime/report/class_similarity.ts`) of the student's projected
 * embeddings on the first source validation images, eval mode, the whole image through the plain
 * segmentor (on HRDA too: the projection sees full-resolution features, as the detail crop's are).
 */
async function drawClassSimilarity(
  context: FigureContext,
  projection: ParamStore,
  dim: number,
): Promise<string> {
  const student = context.network("student") as SegmentorNetwork;
  const similarity = new ClassSimilarity(student.model.head.numClasses, dim);
  const count = Math.min(FIGURE_IMAGES, context.evalCount("sourceVal"));
  for (let k = 0; k < count; k++) {
    const sample = context.evalSample("sourceVal", k);
    const z = tf.tidy(() => {
      const { features } = student.model.forward(sample.image, { training: false });
      return l2Normalize(projectionHead(projection, concatenatedStages(features), {
        training: false,
      }));
    });
    const [, h, w] = z.shape;
    const labels = downsampleLabels(sample.label, 1, [sample.height, sample.width], [h, w]);
    similarity.add((await z.data()) as Float32Array, labels);
    tf.dispose([z, sample.image]);
  }
  return similarity.svg();
}

/** The labels of the pass's feature grid, `B·h·w`, from the view's host copy. */
function gridLabels(
  context: StepContext,
  grid: readonly [number, number],
  box: readonly [number, number, number, number] | undefined,
  cropToBox: boolean,
): Int32Array {
  const view = context.view("source");
  const [batch, height, width] = view.label!.shape;
  // The loader's host copy; views made on the device (none reaches this term today) are read.
  const host = view.hostLabel ?? Int32Array.from(view.label!.dataSync());
  if (box !== undefined && cropToBox) {
    const cut = cropLabels(host, batch, [height, width], box);
    return downsampleLabels(cut, batch, [box[2], box[3]], grid);
  }
  return downsampleLabels(host, batch, [height, width], grid);
}

registerBlockModule<PixelContrastBlock>({
  kind: "pixelContrast",
  lower(block, builder, place) {
    const untrained = block.hardFrom === "untrainedHead";
    builder.addNetwork({
      name: NETWORK,
      trainable: true,
      checkpointed: true,
      exported: true,
      describe: (params) =>
        `PiPa's projection head proj_head of the encoder's concatenated stages to ` +
        `${block.projectionDim} dimensions, ${countParams(params)} parameters`,
      build(context) {
        const student = context.networks.get("student") as SegmentorNetwork;
        const channels = student.model.encoder.dims.reduce((a, b) => a + b, 0);
        const params = new ParamStore();
        const rng = new RandomStream(context.seed).fork(`init:${NETWORK}`);
        initProjectionHead(params, rng, channels, block.projectionDim);
        return Promise.resolve({ params });
      },
    });
    if (untrained) {
      builder.addNetwork({
        name: CLASSIFIER,
        // No loss reaches it, so it never changes, as in the reference (its BatchNorm's
        // running statistics do, and are checkpointed).
        trainable: false,
        checkpointed: true,
        exported: true,
        describe: (params) =>
          `the released code's cls_head, ${countParams(params)} parameters, never trained ` +
          `(its argmax is the hard/easy split)`,
        build(context) {
          const student = context.networks.get("student") as SegmentorNetwork;
          const channels = student.model.encoder.dims.reduce((a, b) => a + b, 0);
          const params = new ParamStore();
          const rng = new RandomStream(context.seed).fork(`init:${CLASSIFIER}`);
          initUntrainedClassifier(params, rng, channels, student.model.head.numClasses);
          return Promise.resolve({ params });
        },
      });
    }
    const pass = { network: "student", view: "source", training: true };
    builder.addTerm({
      name: place.term!,
      block,
      weight: block.weight,
      passes: [pass],
      views: ["source"],
      reads: [`${passId(pass)}.features`, "source.labels"],
      compute(context) {
        const out = context.pass(pass);
        const detail = out.detail;
        const features = detail?.features ?? out.features!;
        const params = context.network(NETWORK).params;
        const mode = { training: true, rng: context.rng(`${place.term}:dropout`) };
        const pixels = concatenatedStages(features);
        const [batch, h, w] = pixels.shape;
        const labels = gridLabels(context, [h, w], detail?.box, block.hrdaLabel === "cropped");
        const groups = anchorGroups(labels, batch, {
          maxSamples: block.maxSamples,
          maxViews: block.maxViews,
          minPixels: block.minPixels,
          ignoreAsClass: block.ignoreLabel === "class",
        });
        // No class with enough pixels: nothing to contrast (the released code crashes here).
        if (groups === undefined) return tf.mul(tf.sum(pixels), 0) as tf.Scalar;
        // The split's prediction: the head's own, at the features' grid (the detail crop's on
        // HRDA), or the released untrained classifier's.
        const logits = untrained
          ? untrainedClassifier(context.network(CLASSIFIER).params, pixels, mode)
          : (detail ? out.detailLogits as tf.Tensor4D : out.logits!);
        const anchors = sampleAnchors(
          labels,
          logits,
          [batch, h, w],
          groups,
          context.rng(place.term!),
        );
        const z = l2Normalize(projectionHead(params, pixels, mode)).reshape([batch * h * w, -1]);
        const embeddings = gatherRows(z as tf.Tensor2D, anchors.indices);
        return supConLoss(embeddings, anchors, block.temperature, block.baseTemperature);
      },
    });
    builder.addFigure({
      name: `${place.term}_class_similarity`,
      by: place.path,
      caption: `mean cosine similarity of the projected embeddings of the first ` +
        `${FIGURE_IMAGES} source validation images, per pair of classes (diagonal: ` +
        `intra-class compactness)`,
      draw: (context) =>
        drawClassSimilarity(context, projectionParams(context), block.projectionDim),
    });
    builder.addKernels(PIXEL_CONTRAST_KERNELS);
    builder.addPlanSection({
      title: "pixel contrast",
      lines: [
        `${place.path}  SupCon τ ${block.temperature} (×τ/τ_base, τ_base ` +
        `${block.baseTemperature}) on ≤ ${block.maxSamples} source anchors (≤ ` +
        `${block.maxViews} per image and class with > ${block.minPixels} px), hard/easy from ` +
        `${untrained ? "the untrained classifier" : "the head's prediction"}, ignore label ` +
        `${block.ignoreLabel === "drop" ? "dropped" : "counted as a class"}`,
      ],
    });
  },
});
