/**
 * ClassMix's runtime module (DACS; DAFormer §3.4; `shared/reference/daformer_hrda_mic.md`
 * §2.2–2.3): the `mixed` view, built each step outside the gradient from the labelled source
 * crop and the pseudo-labelled target crop — half of each source image's classes pasted onto
 * the target, labels and weights mixed alike — then colour jitter and blur.
 *
 * @module
 */
import type { Block, ClassMixParams } from "../../dsl/mod.ts";
import { classMixMasksAsync, mixBatch } from "../strategies/class_mix.ts";
import { strongAugmentAsync } from "../strategies/strong_augment.ts";
import { registerBlockModule } from "./registry.ts";

registerBlockModule<Block<"classMix", ClassMixParams>>({
  kind: "classMix",
  lower(block, builder, place) {
    builder.addView({
      name: "mixed",
      reads: ["source", "target"],
      by: place.path,
      describe: `ClassMix, half of the classes of each source ${block.classPool}; colour ` +
        `jitter p ${block.jitterProbability} (strength ${block.jitterStrength}), blur p ` +
        `${block.blurProbability} (σ ∈ [${block.blurSigma}])`,
      labels: ["source"],
      async build(context) {
        const source = context.view("source");
        const target = context.view("target");
        if (source.label === undefined || target.label === undefined || !target.weight) {
          throw new Error(
            `${place.path}: ClassMix needs the source labels and the target's pseudo-labels`,
          );
        }
        const { masks } = await classMixMasksAsync(
          source.label,
          context.rng("classMix"),
          block.classPool,
        );
        const mixed = mixBatch(masks, { image: source.image, label: source.label }, {
          image: target.image,
          label: target.label,
          weight: target.weight,
        });
        const image = await strongAugmentAsync(mixed.image, {
          jitterProbability: block.jitterProbability,
          jitterStrength: block.jitterStrength,
          blurProbability: block.blurProbability,
          blurSigma: block.blurSigma as [number, number],
        }, context.rng("augment"));
        context.own(masks, mixed.image, mixed.label, mixed.weight, image);
        return { image, label: mixed.label, weight: mixed.weight };
      },
    });
  },
});
