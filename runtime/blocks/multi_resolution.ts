/**
 * The multi-resolution (HRDA) block's runtime module. It adds no network of its own: it wraps
 * the segmentor (`ResolutionWrapper`), so the student, the EMA teacher and the frozen encoder all
 * become HRDA networks — the student's passes train the fused and detail predictions, the
 * teacher's pass slides detail windows over the target crop, evaluation slides test windows over
 * the image, and the feature distance compares context features (`runtime/nn/hrda.ts`). The scale
 * attention is part of the student's parameters (`decode_head.scale_attention.*`), so the teacher
 * averages it, checkpoints keep it and the exported weights load into the reference by name.
 *
 * @module
 */
import type { Block, Experiment, MultiResolutionParams, PipelineParams } from "../../dsl/mod.ts";
import { detailCropOf, testStrideOf, testWindowOf } from "../../dsl/mod.ts";
import {
  HRDA_HEAD_PREFIX,
  HRDA_OUTPUTS,
  type HrdaOutput,
  initMultiResolution,
  type MultiResolutionConfig,
  multiResolutionFlops,
  multiResolutionSegmentor,
} from "../nn/hrda.ts";
import { slidingWindows } from "../nn/multi_resolution.ts";
import type { KernelUse } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";

/** Kernels the wrapper adds to the segmentor's: box cut and placement, attention, fusion. */
export const MULTI_RESOLUTION_KERNELS: KernelUse = {
  differentiated: ["Multiply", "PadV2", "ResizeBilinear", "Sigmoid", "Slice", "Sub"],
  backward: ["Fill", "PadV2", "Slice"],
};

/** The block's settings in pixels of the experiment's training crop. */
function configOf(
  block: Block<"multiResolution", MultiResolutionParams>,
  experiment: Experiment,
): MultiResolutionConfig {
  return multiResolutionConfig(block, (experiment.data.source as unknown as PipelineParams).crop);
}

/** A `multiResolution` block's settings in pixels, for training crops of `crop`. */
export function multiResolutionConfig(
  block: Block<"multiResolution", MultiResolutionParams>,
  crop: readonly [number, number],
): MultiResolutionConfig {
  return {
    contextScale: block.contextScale,
    detailCrop: detailCropOf(block, crop),
    cropDivisible: block.cropDivisible,
    detailLossWeight: block.detailLossWeight,
    contextLossWeight: block.contextLossWeight,
    attention: block.attention,
    fixedAttention: block.fixedAttention,
    maskAttention: block.maskAttention,
    fuseAfterUpsampling: block.fuseAfterUpsampling,
    pseudoLabelWindows: block.pseudoLabelWindows,
    testWindow: testWindowOf(block, crop),
    testStride: testStrideOf(block, crop),
  };
}

function describe(config: MultiResolutionConfig): string {
  const [dh, dw] = config.detailCrop;
  const attention = config.attention === "fixed"
    ? `fixed attention ${config.fixedAttention}`
    : `${config.attention} scale attention${config.maskAttention ? " masked to the box" : ""}`;
  return `HRDA: context crop × ${config.contextScale}, detail crop ${dh}×${dw} ` +
    `(offsets multiples of ${config.cropDivisible}), ${attention}; loss ` +
    `${1 - config.detailLossWeight - config.contextLossWeight} fused + ` +
    `${config.detailLossWeight} detail` +
    (config.contextLossWeight > 0 ? ` + ${config.contextLossWeight} context` : "");
}

registerBlockModule<Block<"multiResolution", MultiResolutionParams>>({
  kind: "multiResolution",
  resolution(block, experiment) {
    const config = configOf(block, experiment);
    return {
      headPrefix: HRDA_HEAD_PREFIX,
      wrap(model, rng) {
        initMultiResolution(model, config, rng);
        const hrda = multiResolutionSegmentor(model, config);
        return {
          forward: hrda.forward,
          encode: hrda.encode,
          outputs: HRDA_OUTPUTS,
          predict(image, output = "fused") {
            if (!(HRDA_OUTPUTS as readonly string[]).includes(output)) {
              throw new Error(
                `an HRDA model predicts ${HRDA_OUTPUTS.join(", ")}, not '${output}'`,
              );
            }
            return hrda.predict(image, output as HrdaOutput);
          },
          maps: (image) => ({ "scale attention": hrda.attention(image) }),
        };
      },
      flops: (base, head, input, pass) => multiResolutionFlops(base, head, config, input, pass),
      describe: describe(config),
    };
  },
  lower(block, builder, place) {
    const config = configOf(block, builder.experiment);
    const [dh, dw] = config.detailCrop;
    const stride = config.pseudoLabelWindows === "overlapping" ? [dh / 2, dw / 2] : [dh, dw];
    const target = builder.experiment.data.target as unknown as { crop: [number, number] };
    const windows = slidingWindows(target.crop, config.detailCrop, stride as [number, number]);
    const [th, tw] = config.testWindow;
    builder.addPlanSection({
      title: "multi-resolution",
      lines: [
        `${place.path}  ${describe(config)}`,
        `teacher     context crop + ${windows.length} detail windows of ${dh}×${dw} at stride ` +
        `${stride[0]}×${stride[1]} over the ${target.crop[0]}×${target.crop[1]} target crop, ` +
        `batched, averaged where they overlap`,
        `evaluation  ${th}×${tw} windows at stride ${config.testStride[0]}×` +
        `${config.testStride[1]}, each as the teacher's crop, averaged at full resolution`,
      ],
    });
    builder.addKernels(MULTI_RESOLUTION_KERNELS);
  },
});
