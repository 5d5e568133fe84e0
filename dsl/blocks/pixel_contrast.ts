/**
 * PiPa's pixel-wise contrast (Chen et al., 2022): supervised contrast of source pixels, pulling
 * same-class embeddings together and pushing other classes apart, on a projection of the encoder's
 * four stages. Defaults are the released PiPa values (`shared/reference/pipa_cluda.md` §1); where
 * the released code differs from the paper's intent a field chooses, defaulting to the intent.
 *
 * @module
 */
import { type Block, defineBlock } from "../block.ts";
import { int, num, oneOf } from "../schema.ts";

/**
 * Where the hard/easy split of the anchors comes from: `prediction`, the segmentation head's own
 * argmax (ContrastiveSeg's, the paper's intent), or `untrainedHead`, the released code's extra
 * classifier that no loss trains (issues chen742/PiPa#3, #14), so a random split.
 */
export const HARD_FROM = ["prediction", "untrainedHead"] as const;

/**
 * The ignore label: `drop` excludes it (the intent), `class` counts 255 as a class of its own, as
 * the released loss does (its `ignore_label` is −1 while mmseg pads with 255).
 */
export const IGNORE_MODES = ["drop", "class"] as const;

/**
 * On an HRDA model the features are the detail crop's: `cropped` cuts the label to the same box
 * (the intent), `full` downsamples the whole crop's label to the detail features' grid, misaligned,
 * as the released code does (§1.4).
 */
export const HRDA_LABELS = ["cropped", "full"] as const;

/** Parameters of {@linkcode pixelContrast}. */
export interface PixelContrastParams {
  /** α, the term's weight (0.1, `loss_weight` in the released head). */
  weight: number;
  /** τ of the similarities (0.1). */
  temperature: number;
  /** τ_base; the loss is scaled by τ/τ_base (0.07, SupCon's). */
  baseTemperature: number;
  /** Anchors per batch at most (1024, `max_samples`). */
  maxSamples: number;
  /** Anchors per (image, class) at most (100, `max_views`). */
  maxViews: number;
  /** A class is sampled in an image when it has more than this many feature-grid pixels (100). */
  minPixels: number;
  /** Width of the L2-normalised projection (256). */
  projectionDim: number;
  /** See {@linkcode HARD_FROM}. */
  hardFrom: (typeof HARD_FROM)[number];
  /** See {@linkcode IGNORE_MODES}. */
  ignoreLabel: (typeof IGNORE_MODES)[number];
  /** See {@linkcode HRDA_LABELS}. */
  hrdaLabel: (typeof HRDA_LABELS)[number];
}

/** A {@linkcode pixelContrast} block. */
export type PixelContrastBlock = Block<"pixelContrast", PixelContrastParams>;

declare module "../families.ts" {
  interface LossBlocks {
    /** PiPa's pixel-wise contrast. */
    pixelContrast: PixelContrastBlock;
  }
}

/**
 * PiPa's pixel-wise contrast on the labelled source crop: the encoder's four stages upsampled to
 * stride 4 and concatenated, projected (1×1 conv, BN, ReLU, 1×1 conv) and L2-normalised; anchors
 * sampled per (image, class) with a hard/easy split; the SupCon loss over them.
 */
export const pixelContrast = defineBlock<"pixelContrast", PixelContrastParams>({
  kind: "pixelContrast",
  family: "loss",
  summary: "PiPa pixel-wise supervised contrast on the source crop",
  schema: {
    weight: num(0.1, { min: 0 }),
    temperature: num(0.1, { min: 0, exclusiveMin: true }),
    baseTemperature: num(0.07, { min: 0, exclusiveMin: true }),
    maxSamples: int(1024, 1),
    maxViews: int(100, 1),
    minPixels: int(100, 0),
    projectionDim: int(256, 1),
    hardFrom: oneOf(HARD_FROM, "prediction"),
    ignoreLabel: oneOf(IGNORE_MODES, "drop"),
    hrdaLabel: oneOf(HRDA_LABELS, "cropped"),
  },
  views: () => ["source"],
});
