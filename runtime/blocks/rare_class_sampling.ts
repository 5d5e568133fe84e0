/**
 * Rare-class sampling's runtime module (DAFormer §3.3; `shared/reference/daformer_hrda_mic.md`
 * §3): when a run starts, the source's per-image class statistics (cached) give P(c) and each
 * class's candidate images; the source loader then draws a class, an image and crops by that
 * plan. The target is drawn uniformly at random, as the reference's `get_rare_class_sample`
 * does (`np.random.choice`), instead of by epoch permutations.
 *
 * @module
 */
import type { Block, RareClassSamplingParams } from "../../dsl/mod.ts";
import type { DatasetRequest } from "../data/open.ts";
import { CLASS_NAMES } from "../data/labels.ts";
import { rareClassPlan } from "../strategies/rare_class.ts";
import { sourceClassStats } from "../train/class_stats_cache.ts";
import { registerBlockModule } from "./registry.ts";

registerBlockModule<Block<"rareClassSampling", RareClassSamplingParams>>({
  kind: "rareClassSampling",
  lower(block, builder, place) {
    builder.prepareData("source", async (pipeline, context) => {
      const request = builder.dataset(builder.experiment.data.source, "data.source").request;
      const stats = await sourceClassStats(request as DatasetRequest);
      const rareClass = rareClassPlan(stats.images, block);
      const top = rareClass.probabilities.map((p, i) => [p, i] as const)
        .sort((a, b) => b[0] - a[0]).slice(0, 3)
        .map(([p, i]) => `${CLASS_NAMES[rareClass.classes[i]]} ${(100 * p).toFixed(1)}%`);
      context.write(
        `rare-class sampling: ${rareClass.classes.length} classes over ` +
          `${stats.images.length} images (statistics ${stats.cached ? "cached" : "computed"}); ` +
          `most drawn: ${top.join(", ")}\n`,
      );
      return { ...pipeline, rareClass };
    });
    builder.adjustPipeline("target", (pipeline) => ({ ...pipeline, order: "random" }));
    builder.addPlanSection({
      title: "sampling",
      lines: [
        `${place.path}: source by rare-class sampling (T ${block.temperature}, images with > ${
          block.minPixels * block.pixelScale
        } px of the class, crops with > ${
          block.minPixels * block.minCropRatio * block.pixelScale
        } px); target uniformly at random`,
      ],
    });
  },
});
