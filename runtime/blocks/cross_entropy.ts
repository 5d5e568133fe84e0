/**
 * The cross-entropy term's runtime module: the student's logits on the view the block names
 * (`source`, or the pseudo-labelled `target` / `mixed` views self-training provides) against
 * that view's labels and weights, as mmseg computes it (`runtime/losses/cross_entropy.ts`); for
 * a model whose pass reports several weighted predictions (HRDA's fused and detail ones), their
 * weighted sum.
 *
 * @module
 */
import type { Block, CrossEntropyParams } from "../../dsl/mod.ts";
import { weightedCrossEntropy } from "../losses/cross_entropy.ts";
import { supervisedParts } from "../nn/segmentor.ts";
import { CROSS_ENTROPY_KERNELS } from "../compile/kernels.ts";
import { registerBlockModule } from "./registry.ts";
import { passId } from "./types.ts";

registerBlockModule<Block<"crossEntropy", CrossEntropyParams>>({
  kind: "crossEntropy",
  lower(block, builder, place) {
    const pass = { network: "student", view: block.on, training: true };
    builder.addTerm({
      name: place.term!,
      block,
      weight: block.weight,
      passes: [pass],
      views: [block.on],
      reads: [`${passId(pass)}.logits`, `${block.on}.labels`],
      compute(context) {
        const { label, weight } = context.view(block.on);
        // A multi-resolution model trains more than its logits (HRDA's detail crop).
        return weightedCrossEntropy(supervisedParts(context.pass(pass)), label!, {
          ignoreIndex: block.ignoreIndex,
          weight,
        });
      },
    });
    builder.addKernels(CROSS_ENTROPY_KERNELS);
  },
});
