/**
 * The feature distance's runtime module (DAFormer §3.5; `shared/reference/daformer_hrda_mic.md`
 * §4): a `frozen` copy of the encoder with pretrained weights (never trained, not
 * checkpointed: it is reloaded from its weights), and the term: the student's last encoder
 * stage on the source crop (the pass the source cross-entropy already runs) against the frozen
 * encoder's, on cells whose pooled source label is a thing class.
 *
 * @module
 */
import type { Block, FeatureDistanceParams } from "../../dsl/mod.ts";
import { featureDistance, featureDistanceMask } from "../losses/feature_distance.ts";
import { FEATURE_DISTANCE_KERNELS } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";
import {
  architectureFlops,
  countParams,
  loadPretrainedEncoder,
  segmentorArchitecture,
  type SegmentorNetwork,
} from "./model.ts";
import { passId } from "./types.ts";

registerBlockModule<Block<"featureDistance", FeatureDistanceParams>>({
  kind: "featureDistance",
  lower(block, builder, place) {
    const architecture = segmentorArchitecture(builder.experiment);
    const encoderWeights = block.encoder === "" ? architecture.pretrained : block.encoder;
    const field = block.encoder === "" ? "model.encoder.pretrained" : `${place.path}.encoder`;
    builder.addNetwork({
      name: "frozen",
      trainable: false,
      checkpointed: false,
      exported: false,
      describe: (params) =>
        `the student's encoder, ${countParams(params, "backbone.")} parameters, no ` +
        `gradients; weights: ${encoderWeights}`,
      async build(context) {
        const student = context.networks.get("student") as SegmentorNetwork;
        const copy = student.replicate("frozen", context.seed);
        if (context.loadWeights) {
          try {
            await loadPretrainedEncoder(copy.params, encoderWeights, field, context);
          } catch (error) {
            copy.params.dispose();
            throw error;
          }
        }
        // Only the encoder runs, on what the student's encoder sees (HRDA: the context crop,
        // §4), so its stage outputs match the student's features the distance reads.
        return {
          params: copy.params,
          forward: (image, mode) => ({ features: copy.encode(image, mode) }),
        };
      },
      // Counted with a head: an upper bound of the encoder-only pass.
      flops: (input) => architectureFlops(architecture, input, "encode"),
    });
    const studentPass = { network: "student", view: "source", training: true };
    const frozenPass = { network: "frozen", view: "source", training: false };
    builder.addTerm({
      name: place.term!,
      block,
      weight: block.weight,
      passes: [studentPass, frozenPass],
      views: ["source"],
      reads: [
        `${passId(studentPass)}.features[3]`,
        `${passId(frozenPass)}.features[3]`,
        "source.labels (mask)",
      ],
      compute(context) {
        const features = context.pass(studentPass).features![3];
        const frozen = context.pass(frozenPass).features![3];
        const mask = featureDistanceMask(
          context.view("source").label!,
          [features.shape[1], features.shape[2]],
          { classes: block.classes, majority: block.majority },
        );
        return featureDistance(features, frozen, mask);
      },
    });
    builder.addKernels(FEATURE_DISTANCE_KERNELS);
  },
});
