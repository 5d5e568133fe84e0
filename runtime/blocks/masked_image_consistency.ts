/**
 * MIC's runtime module (`shared/reference/daformer_hrda_mic.md` §7): the `masked` view, built
 * each step outside the gradient — the target crop (with the EMA teacher's pseudo-labels and
 * weights, the very tensors DACS trains on: no second teacher pass), its own colour jitter and
 * blur in `separatetrgaug`, then a block mask — and the term, the student's cross-entropy on it.
 * The student's pass on the view is a training pass like any other, so on an HRDA model it is the
 * whole HRDA loss with a detail box of its own.
 *
 * @module
 */
import type { Block, MaskedImageConsistencyParams } from "../../dsl/mod.ts";
import { MASKED_VIEW } from "../../dsl/mod.ts";
import { tf } from "../tf.ts";
import { weightedCrossEntropy } from "../losses/cross_entropy.ts";
import { supervisedParts } from "../nn/segmentor.ts";
import { strongAugmentAsync } from "../strategies/strong_augment.ts";
import { maskImage } from "../strategies/block_mask.ts";
import { CROSS_ENTROPY_KERNELS } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";
import { type FigureContext, passId, type Picture } from "./types.ts";
import { predictLogits } from "../eval/evaluate.ts";
import { colourise, sideBySide } from "../eval/colourise.ts";
import { denormalizeToUnit } from "../data/transforms/photometric.ts";

type MicBlock = Block<"maskedImageConsistency", MaskedImageConsistencyParams>;

registerBlockModule<MicBlock>({
  kind: "maskedImageConsistency",
  lower(block, builder, place) {
    const source = block.mode === "separatesrc";
    const read = source ? "source" : "target";
    const augment = block.mode === "separatetrgaug";
    // One view per term, should an experiment have two (two block sizes, say).
    const view = place.term === MASKED_VIEW ? MASKED_VIEW : `${MASKED_VIEW}_${place.term}`;
    builder.addView({
      name: view,
      reads: [read],
      by: place.path,
      describe:
        `the ${read} crop${source ? " with its labels" : " with the teacher's pseudo-labels"}` +
        (augment
          ? `, colour jitter p ${block.jitterProbability} (strength ${block.jitterStrength}), ` +
            `blur p ${block.blurProbability} (σ ∈ [${block.blurSigma}]),`
          : "") +
        ` ${block.blockSize}-px blocks masked with probability ${block.maskRatio}`,
      labels: source ? ["source"] : undefined,
      async build(context) {
        const input = context.view(read);
        if (input.label === undefined) {
          throw new Error(`${place.path}: the ${read} crop has no (pseudo-)labels to train on`);
        }
        let image = input.image;
        if (augment) {
          image = await strongAugmentAsync(image, {
            jitterProbability: block.jitterProbability,
            jitterStrength: block.jitterStrength,
            blurProbability: block.blurProbability,
            blurSigma: block.blurSigma as [number, number],
          }, context.rng(`${place.term}:augment`));
          context.own(image);
        }
        const masked = maskImage(image, block.blockSize, block.maskRatio, context.rng(place.term!));
        context.own(masked.image, masked.mask);
        return { image: masked.image, label: input.label, weight: input.weight };
      },
    });
    const pass = { network: "student", view, training: true };
    // The released code's λ multiplies the fused loss only (`masked.decode.loss_seg`).
    const scaleFusedOnly = block.lambdaScope === "fused";
    builder.addTerm({
      name: place.term!,
      block,
      weight: scaleFusedOnly ? 1 : block.weight,
      passes: [pass],
      views: [view],
      reads: [`${passId(pass)}.logits`, `${view}.labels`],
      compute(context) {
        const { label, weight } = context.view(view);
        let parts = supervisedParts(context.pass(pass));
        if (scaleFusedOnly) {
          parts = parts.map((p, i) => i === 0 ? { ...p, weight: p.weight * block.weight } : p);
        }
        return tf.tidy(() => weightedCrossEntropy(parts, label!, { weight }));
      },
    });
    builder.addKernels(CROSS_ENTROPY_KERNELS);
    if (!source) {
      builder.addFigure({
        name: view,
        by: place.path,
        caption: "the masked target image | the teacher's prediction of the unmasked image | " +
          "the student's prediction of the masked one",
        draw: (context) => drawMaskedFigure(context, block.blockSize, block.maskRatio, view),
      });
    }
  },
});

/**
 * MIC's figure for one target validation image: the image with a block mask (the same draw at
 * every evaluation), the teacher's prediction of the whole image (eval mode: it changes no
 * statistics) and the student's prediction of the masked one.
 */
async function drawMaskedFigure(
  context: FigureContext,
  blockSize: number,
  ratio: number,
  label: string,
): Promise<Picture> {
  const image = context.evalImage("targetVal");
  const [, height, width] = image.shape;
  const argmaxAtInput = (logits: tf.Tensor4D) =>
    tf.argMax(tf.image.resizeBilinear(logits, [height, width], false, true), -1);
  const [masked, teacher, student] = tf.tidy(() => {
    const { image: maskedImage } = maskImage(image, blockSize, ratio, context.rng(label));
    return [
      maskedImage,
      argmaxAtInput(predictLogits(context.network("teacher"), image)),
      argmaxAtInput(predictLogits(context.network("student"), maskedImage)),
    ];
  });
  const rgb = denormalizeToUnit(new Float32Array(await masked.data()));
  const pixels = Uint8Array.from(rgb, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
  const panels = [pixels, colourise(await teacher.data()), colourise(await student.data())];
  tf.dispose([image, masked, teacher, student]);
  const gap = 4;
  return {
    width: 3 * width + 2 * gap,
    height,
    data: sideBySide(panels, width, height, gap),
  };
}
