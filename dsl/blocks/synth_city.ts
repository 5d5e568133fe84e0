/**
 * The embedded procedural two-domain benchmark (`docs/synthcity.md`), with the checks that need
 * its native 512×256 size: a training crop must fit the resized image, and an evaluated image
 * must be a multiple of the encoder stride.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, oneOf } from "../schema.ts";
import type { Issue } from "../issues.ts";
import { dataRole } from "../sections.ts";
import { ENCODER_STRIDE, PIPELINE, type PipelineParams } from "./dataset_fields.ts";

/** SynthCity rendering domains. */
export const SYNTHCITY_DOMAINS = ["game", "real", "synthia", "randomized"] as const;

/** Parameters of {@linkcode synthCity}. */
export interface SynthCityParams extends PipelineParams {
  /** Rendering domain: `game` (GTA-like source), `real` (Cityscapes-like target), `synthia`, `randomized` (a new style per image: the pretraining task). */
  domain: (typeof SYNTHCITY_DOMAINS)[number];
  /** Number of distinct images (indices wrap around). */
  count: number;
  /** Scene seed; use different seeds for training and validation sets. */
  seed: number;
  /**
   * Scene version: 2 (default) is the benchmark geometry where every class is learnable at 256×128
   * (Cityscapes' camera, objects within 53 m, real-size street furniture, `docs/benchmark.md`);
   * 1 is the first generator, kept so its results can be reproduced.
   */
  version: number;
}

/** A {@linkcode synthCity} block. */
export type SynthCityBlock = Block<"synthCity", SynthCityParams>;

declare module "../families.ts" {
  interface DatasetBlocks {
    /** The embedded procedural benchmark. */
    synthCity: SynthCityBlock;
  }
}

/** SynthCity renders every image at 512×256 (width × height). */
const NATIVE: readonly [number, number] = [512, 256];

/** The keep-ratio size `[width, height]` mmseg's `Resize(img_scale, keep_ratio=True)` gives. */
function keepRatio(width: number, height: number, scale: readonly [number, number]): number[] {
  if (scale[0] === 0 && scale[1] === 0) return [width, height];
  const [long, short] = [Math.max(...scale), Math.min(...scale)];
  const factor = Math.min(long / Math.max(width, height), short / Math.min(width, height));
  return [Math.round(width * factor), Math.round(height * factor)];
}

/**
 * The checks of a SynthCity image or frame at its native 512×256: a training crop must fit the
 * resized image; an evaluated image must be a multiple of the encoder stride.
 */
export function checkSynthCitySizes(block: PipelineParams, path: string): Issue[] {
  const [w, h] = keepRatio(...NATIVE, block.scale);
  const role = dataRole(path);
  if (role === "train" && (block.crop[0] > h || block.crop[1] > w)) {
    return [{
      path: `${path}.crop`,
      message: `crop [${block.crop}] ([height, width]) is larger than the ${w}×${h} image that ` +
        `scale [${block.scale}] gives`,
    }];
  }
  if (role === "eval" && (w % ENCODER_STRIDE !== 0 || h % ENCODER_STRIDE !== 0)) {
    return [{
      path: `${path}.scale`,
      message: `evaluation images of ${w}×${h} are not multiples of the encoder stride ` +
        `${ENCODER_STRIDE}; choose a scale such as [256, 128] or [512, 256]`,
    }];
  }
  return [];
}

/** The embedded procedural two-domain benchmark (see `docs/synthcity.md`). */
export const synthCity = defineBlock<"synthCity", SynthCityParams>({
  kind: "synthCity",
  family: "dataset",
  summary: "embedded procedural benchmark (512×256 images)",
  schema: {
    domain: oneOf(SYNTHCITY_DOMAINS, "game"),
    count: int(500, 1),
    seed: int(0),
    version: int(2, 1, 2),
    ...PIPELINE,
  },
  // Runs stored before scene versions existed used the first generator.
  storedDefaults: { version: 1 },
  check: (block, { path }) => checkSynthCitySizes(block, path),
});
