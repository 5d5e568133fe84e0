/**
 * The mean teacher's runtime module (DAFormer §3.4; `shared/reference/daformer_hrda_mic.md`
 * §2.1 steps 1 and 5): a `teacher` network of the student's architecture, checkpointed, never
 * trained; a hook that updates it from the student at the start of each step
 * (α_t = min(1 − 1/(t+1), α)); and the `target` view re-provided with the teacher's
 * pseudo-labels and their confidence weights, which every term on the target reads.
 *
 * @module
 */
import type { Block, EmaTeacherParams } from "../../dsl/mod.ts";
import { updateEmaTeacher } from "../strategies/ema_teacher.ts";
import { pseudoLabels } from "../strategies/pseudo_label.ts";
import { SELF_TRAINING_KERNELS } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";
import {
  architectureFlops,
  countParams,
  passOf,
  segmentorArchitecture,
  type SegmentorNetwork,
} from "./model.ts";

/** The per-step metric: the mean pseudo-label confidence weight q. */
const CONFIDENCE = "pseudo-confidence";

registerBlockModule<Block<"emaTeacher", EmaTeacherParams>>({
  kind: "emaTeacher",
  lower(block, builder, place) {
    const architecture = segmentorArchitecture(builder.experiment);
    builder.addNetwork({
      name: "teacher",
      trainable: false,
      checkpointed: true,
      exported: false,
      describe: (params) =>
        `the student's architecture, ${countParams(params)} parameters, no gradients ` +
        `(an exponential moving average of the student)`,
      build: (context) =>
        Promise.resolve(
          (context.networks.get("student") as SegmentorNetwork).replicate("teacher", context.seed),
        ),
      flops: (input) => architectureFlops(architecture, input, passOf(input)),
    });
    builder.addHook({
      by: place.path,
      beforeStep(context) {
        const teacher = context.network("teacher").params;
        const student = context.network("student").params;
        updateEmaTeacher(teacher, student, context.iteration, block.alpha);
      },
    });
    // Dropout and drop-path off, BatchNorm on the target batch's statistics (§2.1 step 5).
    const pass = { network: "teacher", view: "target", training: false, batchStatistics: true };
    builder.addView({
      name: "target",
      reads: ["target"],
      by: place.path,
      passes: [pass],
      describe: `the target crop with the teacher's pseudo-labels (teacher@target, eval mode, ` +
        `BatchNorm on batch statistics)`,
      build(context) {
        const target = context.view("target");
        const [, height, width] = target.image.shape;
        const logits = context.pass(pass).logits!;
        const pseudo = pseudoLabels(logits, [height, width], {
          threshold: block.threshold,
          confidence: block.confidence,
          margins: block.margins as [number, number, number, number],
        });
        context.own(pseudo.label, pseudo.weight, pseudo.confidence);
        context.metric(CONFIDENCE, pseudo.confidence);
        return { image: target.image, label: pseudo.label, weight: pseudo.weight };
      },
    });
    builder.addMetric({ key: CONFIDENCE, logAs: "pseudoConfidence" });
    builder.addKernels(SELF_TRAINING_KERNELS);
    const [top, bottom, left, right] = block.margins;
    builder.addPlanSection({
      title: "self-training",
      lines: [
        `teacher    EMA of the student, α_t = min(1 − 1/(t+1), ${block.alpha}), updated at ` +
        `the start of each step; pseudo-labels with dropout/drop-path off, BatchNorm on batch ` +
        `statistics; weight q = share of pixels with p ≥ ${block.threshold} per ` +
        `${block.confidence}; margins top ${top}, bottom ${bottom}, left ${left}, right ` +
        `${right} of the crop weigh 0`,
      ],
    });
  },
});
